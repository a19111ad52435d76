// Picks the AVX2 or the portable build of each kernel once per process, from CPUID.
#include "ckernels.h"

#define DECLARE(suffix) \
    void ck_softmax_rows_##suffix(float *p, long rows, long cols); \
    void ck_gelu_##suffix(float *p, long n); \
    void ck_layernorm_rows_##suffix(const float *x, float *y, const float *weight, const float *bias, \
                                    long rows, long cols, float eps);
DECLARE(generic)
#if defined(__x86_64__)
DECLARE(avx2)
#endif

static int use_avx2(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
#define DISPATCH(name, ...) (use_avx2() ? name##_avx2(__VA_ARGS__) : name##_generic(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_generic(__VA_ARGS__)
#endif

void ck_softmax_rows(float *p, long rows, long cols) { DISPATCH(ck_softmax_rows, p, rows, cols); }
void ck_gelu(float *p, long n) { DISPATCH(ck_gelu, p, n); }
void ck_layernorm_rows(const float *x, float *y, const float *weight, const float *bias,
                       long rows, long cols, float eps) {
    DISPATCH(ck_layernorm_rows, x, y, weight, bias, rows, cols, eps);
}
