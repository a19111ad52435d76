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
#define CK_OWN_SOFTMAX
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

#if defined(__x86_64__)
// e^u for u <= 0 (softmax's shifted logits), Cephes' polynomial as in ck_gelu16xV; below -100 the
// result is far under anything a probability can resolve (scalef makes it 0 or a denormal).
CK_TARGET static inline __m512 exp16(__m512 u) {
    u = _mm512_max_ps(u, _mm512_set1_ps(-100.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(u, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), u);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 q = _mm512_set1_ps(1.9875691500e-4f);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.3981999507e-3f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(8.3334519073e-3f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(4.1665795894e-2f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.6666665459e-1f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(5.0000001201e-1f));
    q = _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(q, n);
}

// Softmax rows with masked tails instead of scalar libm calls (attention windows are 49 or 196
// wide). A short row is one long dependency chain (max, reduce, exp, sum, reduce, divide), so four
// rows go through each step side by side and the core overlaps them.
#define SOFTMAX_ROWS 4
CK_TARGET void ck_softmax_rows_avx512(float *p, long rows, long cols) {
    long full = cols / 16 * 16;
    __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1);
    for (long r0 = 0; r0 < rows; r0 += SOFTMAX_ROWS) {
        int g = rows - r0 < SOFTMAX_ROWS ? (int)(rows - r0) : SOFTMAX_ROWS;
        float *row[SOFTMAX_ROWS];
        __m512 vm[SOFTMAX_ROWS], shift[SOFTMAX_ROWS], sum[SOFTMAX_ROWS], inv[SOFTMAX_ROWS];
        for (int j = 0; j < g; j++) {
            row[j] = p + (r0 + j) * cols;
            vm[j] = _mm512_set1_ps(-INFINITY);
            sum[j] = _mm512_setzero_ps();
        }
        for (long i = 0; i < full; i += 16)
            for (int j = 0; j < g; j++) vm[j] = _mm512_max_ps(vm[j], _mm512_loadu_ps(row[j] + i));
        if (tail)
            for (int j = 0; j < g; j++)
                vm[j] = _mm512_mask_max_ps(vm[j], tail, vm[j], _mm512_maskz_loadu_ps(tail, row[j] + full));
        for (int j = 0; j < g; j++) shift[j] = _mm512_set1_ps(_mm512_reduce_max_ps(vm[j]));
        for (long i = 0; i < full; i += 16)
            for (int j = 0; j < g; j++) {
                __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row[j] + i), shift[j]));
                _mm512_storeu_ps(row[j] + i, e);
                sum[j] = _mm512_add_ps(sum[j], e);
            }
        if (tail)
            for (int j = 0; j < g; j++) {
                __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row[j] + full), shift[j]));
                _mm512_mask_storeu_ps(row[j] + full, tail, e);
                sum[j] = _mm512_mask_add_ps(sum[j], tail, sum[j], e);
            }
        for (int j = 0; j < g; j++) inv[j] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum[j]));
        for (long i = 0; i < full; i += 16)
            for (int j = 0; j < g; j++) _mm512_storeu_ps(row[j] + i, _mm512_mul_ps(_mm512_loadu_ps(row[j] + i), inv[j]));
        if (tail)
            for (int j = 0; j < g; j++)
                _mm512_mask_storeu_ps(row[j] + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row[j] + full), inv[j]));
    }
}
#undef SOFTMAX_ROWS
#endif
