// The AVX-512F build of kernels_impl.h (16 lanes); dispatch.c calls it only where CPUID says so.
#if defined(__x86_64__)
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CK_VECTOR_BYTES 64
#define CK_NAME(x) x##_avx512
#define CK_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#include <immintrin.h>
#define CK_OWN_GELU
#include "kernels_impl.h"

#include "gelu_avx512.h"

CK_TARGET void ck_gelu_avx512(float *p, long n) {
    long i = 0;
    for (; i + 16 * CK_GELU_V <= n; i += 16 * CK_GELU_V) {
        __m512 x[CK_GELU_V];
        CK_GELU_EACH x[j] = _mm512_loadu_ps(p + i + 16 * j);
        ck_gelu16xV(x);
        CK_GELU_EACH _mm512_storeu_ps(p + i + 16 * j, x[j]);
    }
    // The rest, up to CK_GELU_V - 1 whole vectors and a partial one, as one masked group.
    if (i < n) {
        __m512 x[CK_GELU_V];
        __mmask16 masks[CK_GELU_V];
        CK_GELU_EACH {
            long left = n - i - 16 * j;
            masks[j] = left >= 16 ? 0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            x[j] = _mm512_maskz_loadu_ps(masks[j], p + i + 16 * j);
        }
        ck_gelu16xV(x);
        CK_GELU_EACH _mm512_mask_storeu_ps(p + i + 16 * j, masks[j], x[j]);
    }
}
#endif
