#pragma once
// Element-wise kernels in C: Swift's SIMD types lower lane by lane here (stack round trips per
// lane), so softmax and GELU were slower than the GEMMs around them. Each entry point is compiled
// three times (AVX-512, AVX2+FMA, baseline x86-64) and picked at run time from CPUID, so one
// binary runs everywhere.
// All work on one contiguous range; callers split rows across threads.

/// The best build this CPU runs: 0 portable, 1 AVX2+FMA, 2 AVX-512.
int ck_isa(void);

/// The same kernels at a chosen build (clamped to what the CPU has), so tests check every build.
void ck_softmax_rows_at(int isa, float *p, long rows, long cols);
void ck_gelu_at(int isa, float *p, long n);
void ck_layernorm_rows_at(int isa, const float *x, float *y, const float *weight, const float *bias,
                          long rows, long cols, float eps);

/// In-place softmax of `rows` rows of `cols` floats (max-subtracted, as PyTorch).
void ck_softmax_rows(float *p, long rows, long cols);

/// In-place exact-form GELU, 0.5·x·(1 + erf(x/√2)), erf to within 5e-7.
void ck_gelu(float *p, long n);

/// y = LayerNorm(x) over the last dimension (biased variance, as PyTorch).
void ck_layernorm_rows(const float *x, float *y, const float *weight, const float *bias,
                       long rows, long cols, float eps);

/// One channel of a depthwise convolution (PyTorch Conv2d with groups == channels, zero padding):
/// src h x w, kernel kh x kw, dst oh x ow = bias + taps, then GELU if `gelu`.
void ck_depthwise_plane(const float *src, long h, long w, const float *k, long kh, long kw, long stride, long pad,
                        float bias, float *dst, long oh, long ow, int gelu);
void ck_depthwise_plane_at(int isa, const float *src, long h, long w, const float *k, long kh, long kw, long stride,
                           long pad, float bias, float *dst, long oh, long ow, int gelu);

/// The gradients of one channel of a stride-1 depthwise convolution (`ck_depthwise_plane`'s
/// backward): x h x w, output gradient g oh x ow, kernel kh x kw. dx (h x w, may be NULL) and
/// dk (kh x kw, may be NULL) are accumulated into (+=): dx[iy, ix] += k[ky, kx]·g[oy, ox] and
/// dk[ky, kx] += Σ x[iy, ix]·g[oy, ox] over the outputs whose tap (ky, kx) reads inside the
/// plane, taps in (ky, kx) order, outputs in row-major order within a tap.
void ck_depthwise_backward_plane(const float *x, const float *g, long h, long w, const float *k, long kh, long kw,
                                 long pad, long oh, long ow, float *dx, float *dk);

/// Exact GELU's backward in place: g[i] *= Φ(x[i]) + x[i]·φ(x[i]), with Φ(x) = y/x from the
/// forward's output y = GELU(x) (ck_gelu's erf, within 5e-7; 1/2 at x = 0) and φ by libm expf.
void ck_gelu_backward(const float *x, const float *y, float *g, long n);

/// LayerNorm's backward over `rows` rows of `c` channels; row r's channel j is at
/// (r / plane)·c·plane + r % plane + j·plane (plane 1: the last axis; H·W: SAM's LayerNorm2d).
/// In double: x̂ = (x − μ)·rstd, dx̂ = g·w, dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) (written
/// when dx is not NULL); dw += Σ g·x̂ and db += Σ g over the rows. scratch: 2·c doubles.
void ck_layernorm_backward(const float *x, const float *g, const float *w, long rows, long c, long plane, float eps,
                           float *dx, double *dw, double *db, double *scratch);

/// The backward of bilinear sampling with zero padding (Stable-SAM's DSP at p + d) for one image:
/// x and the output gradient g are c planes of h x w, loc the h·w sampling positions (x, y) in
/// pixels. dx (c x h x w, may be NULL) accumulates Σ w_tap·g at each tap; ddx, ddy (h·w, both
/// NULL or both set) get dOut/dx and dOut/dy of each position. Positions in order, taps
/// (x0, y0), (x0+1, y0), (x0, y0+1), (x0+1, y0+1), channels in order.
void ck_bilinear_sample_backward(const float *x, const float *g, const float *loc, long c, long h, long w,
                                 float *dx, float *ddx, float *ddy);

/// dst[i] op= src[i mod m] for i < n, n a multiple of m; op 0 add, 1 subtract, 2 multiply.
void ck_combine(int op, float *dst, long n, const float *src, long m);

// ---- SGEMM (sgemm_avx512.c) ----
// Row-major C = alpha·op(A)·op(B) + beta·C in two steps, so that a product split across threads
// packs op(B) once: ck_sgemm_pack_b (panel ranges may be packed in parallel), then
// ck_sgemm_packed on disjoint row blocks or panel ranges of C. beta == 0 never reads C.
// Only on CPUs with AVX-512F (ck_sgemm_available); elsewhere callers use OpenBLAS.
// STABLESAM_GEMM=openblas turns it off (for comparisons).
#include <stddef.h>
#define CK_SGEMM_MR 12
#define CK_SGEMM_NR 32
#define CK_SGEMM_KC 256

int ck_sgemm_available(void);

/// Applied to C as it is written: row_bias[i] (per output channel of a convolution) and
/// col_bias[j] (per output feature of a linear layer) are added once, then GELU if asked.
/// NULL for none.
typedef struct {
    const float *row_bias;
    const float *col_bias;
    int gelu;
} ck_epilogue;

/// Floats needed to hold op(B) (k x n) packed.
size_t ck_sgemm_packed_b_floats(long k, long n);

/// Packs NR-column panels [panel_begin, panel_end) of op(B): B is k x n, or n x k when transB.
void ck_sgemm_pack_b(int transB, long k, long n, const float *b, long ldb, float *packed,
                     long panel_begin, long panel_end);

/// Rows 0..<m of C, columns of panels [panel_begin, panel_end); `c` points at C's row 0, column 0.
/// op(A) is m x k: A is m x k, or k x m when transA.
void ck_sgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                     const float *packed, long panel_begin, long panel_end, float beta,
                     float *c, long ldc, const ck_epilogue *epilogue);

/// The whole product on the calling thread (op(B) packed into a per-thread buffer).
void ck_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc, const ck_epilogue *epilogue);

/// Floats needed to hold op(A) (m x k) packed, and the packing (for products with few rows, where
/// every column chunk reuses the same packed A).
size_t ck_sgemm_packed_a_floats(long m, long k);
void ck_sgemm_pack_a(int transA, long m, long k, const float *a, long lda, float *packed);

/// C (m x n) from op(A) and op(B) both already packed (op(B) as an n-column matrix of its own).
void ck_sgemm_prepacked(long m, long n, long k, float alpha, const float *packedA, const float *packedB,
                        float beta, float *c, long ldc, const ck_epilogue *epilogue);

/// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols (register-blocked where AVX-512 is present).
void ck_transpose(const float *src, long lds, long rows, long cols, float *dst, long ldd);

// --- bf16 products (bgemm_avx512.c) --------------------------------------------------------
// The same blocking and epilogue as the fp32 kernel, with op(A) and op(B) rounded to bf16 while
// packing (round to nearest even) and accumulated in fp32 by vdpbf16ps. Only on CPUs with
// AVX512_BF16 (ck_bgemm_available); the caller keeps fp32 elsewhere.
#include <stdint.h>
int ck_bgemm_available(void);

/// 32-bit words (two bf16 each) needed to hold op(B) (k x n) packed.
size_t ck_bgemm_packed_b_words(long k, long n);

/// Packs NR-column panels [panel_begin, panel_end) of op(B) as bf16 pairs of consecutive depths.
void ck_bgemm_pack_b(int transB, long k, long n, const float *b, long ldb, uint32_t *packed,
                     long panel_begin, long panel_end);

/// As ck_sgemm_packed, with op(A) converted to bf16 as it is packed; k > 0.
void ck_bgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                     const uint32_t *packed, long panel_begin, long panel_end, float beta,
                     float *c, long ldc, const ck_epilogue *epilogue);
