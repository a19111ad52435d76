// Picks the AVX-512, AVX2 or the portable build of each kernel once per process, from CPUID.
#include "ckernels.h"

#define DECLARE(suffix) \
    void ck_softmax_rows_##suffix(float *p, long rows, long cols); \
    void ck_gelu_##suffix(float *p, long n); \
    void ck_layernorm_rows_##suffix(const float *x, float *y, const float *weight, const float *bias, \
                                    long rows, long cols, float eps); \
    void ck_depthwise_plane_##suffix(const float *src, long h, long w, const float *k, long kh, long kw, \
                                     long stride, long pad, float bias, float *dst, long oh, long ow, int gelu); \
    void ck_combine_##suffix(int op, float *dst, long n, const float *src, long m);
DECLARE(generic)
#if defined(__x86_64__)
DECLARE(avx2)
DECLARE(avx512)
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

static int use_avx512(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") && use_avx2();
    }
    return cached;
#else
    return 0;
#endif
}

int ck_isa(void) { return use_avx512() ? 2 : use_avx2() ? 1 : 0; }

#if defined(__x86_64__)
#define DISPATCH(isa, name, ...)                                                                  \
    do {                                                                                          \
        int level = (isa) < ck_isa() ? (isa) : ck_isa();                                          \
        if (level == 2) name##_avx512(__VA_ARGS__);                                               \
        else if (level == 1) name##_avx2(__VA_ARGS__);                                            \
        else name##_generic(__VA_ARGS__);                                                         \
    } while (0)
#else
#define DISPATCH(isa, name, ...) name##_generic(__VA_ARGS__)
#endif

void ck_softmax_rows_at(int isa, float *p, long rows, long cols) { DISPATCH(isa, ck_softmax_rows, p, rows, cols); }
void ck_gelu_at(int isa, float *p, long n) { DISPATCH(isa, ck_gelu, p, n); }
void ck_layernorm_rows_at(int isa, const float *x, float *y, const float *weight, const float *bias,
                          long rows, long cols, float eps) {
    DISPATCH(isa, ck_layernorm_rows, x, y, weight, bias, rows, cols, eps);
}

void ck_softmax_rows(float *p, long rows, long cols) { ck_softmax_rows_at(2, p, rows, cols); }
void ck_gelu(float *p, long n) { ck_gelu_at(2, p, n); }
void ck_layernorm_rows(const float *x, float *y, const float *weight, const float *bias,
                       long rows, long cols, float eps) {
    ck_layernorm_rows_at(2, x, y, weight, bias, rows, cols, eps);
}

void ck_depthwise_plane_at(int isa, const float *src, long h, long w, const float *k, long kh, long kw, long stride,
                           long pad, float bias, float *dst, long oh, long ow, int gelu) {
    DISPATCH(isa, ck_depthwise_plane, src, h, w, k, kh, kw, stride, pad, bias, dst, oh, ow, gelu);
}
void ck_depthwise_plane(const float *src, long h, long w, const float *k, long kh, long kw, long stride, long pad,
                        float bias, float *dst, long oh, long ow, int gelu) {
    ck_depthwise_plane_at(2, src, h, w, k, kh, kw, stride, pad, bias, dst, oh, ow, gelu);
}

void ck_combine(int op, float *dst, long n, const float *src, long m) { DISPATCH(2, ck_combine, op, dst, n, src, m); }
