// The AVX2+FMA build of kernels_impl.h (8 lanes); dispatch.c calls it only where CPUID says so.
#if defined(__x86_64__)
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CK_VECTOR_BYTES 32
#define CK_NAME(x) x##_avx2
#define CK_TARGET __attribute__((target("avx2,fma")))
#include "kernels_impl.h"
#endif
