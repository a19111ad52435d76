// The portable build of kernels_impl.h (4 lanes: SSE2 on x86-64, NEON on arm64).
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CK_VECTOR_BYTES 16
#define CK_NAME(x) x##_generic
#define CK_TARGET
#include "kernels_impl.h"
