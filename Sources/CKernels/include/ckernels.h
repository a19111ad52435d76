#pragma once
// Element-wise kernels in C: Swift's SIMD types lower lane by lane here (stack round trips per
// lane), so softmax and GELU were slower than the GEMMs around them. Each entry point is compiled
// twice (AVX2+FMA and baseline x86-64) and picked at load time, so one binary runs everywhere.
// All work on one contiguous range; callers split rows across threads.

/// In-place softmax of `rows` rows of `cols` floats (max-subtracted, as PyTorch).
void ck_softmax_rows(float *p, long rows, long cols);

/// In-place exact-form GELU, 0.5·x·(1 + erf(x/√2)), erf to within 5e-7.
void ck_gelu(float *p, long n);

/// y = LayerNorm(x) over the last dimension (biased variance, as PyTorch).
void ck_layernorm_rows(const float *x, float *y, const float *weight, const float *bias,
                       long rows, long cols, float eps);
