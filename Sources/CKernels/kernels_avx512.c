// The AVX-512F build of kernels_impl.h (16 lanes); dispatch.c calls it only where CPUID says so.
#if defined(__x86_64__)
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CK_VECTOR_BYTES 64
#define CK_NAME(x) x##_avx512
#define CK_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#include "kernels_impl.h"
#endif
