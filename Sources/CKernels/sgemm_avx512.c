// Single-precision GEMM for AVX-512 CPUs, BLIS-style: op(B) is packed into 32-column panels,
// op(A) into 12-row panels, and a 12x32 register-blocked micro-kernel (24 zmm accumulators)
// runs over a 256-deep slice at a time. Debian's OpenBLAS is pinned to its AVX2 (Haswell)
// kernels on these machines (OPENBLAS_CORETYPE), which leaves half of an AVX-512 core idle.
//
// Threading stays in Swift (AVX512Gemm.swift): it packs B once per product, then hands row blocks
// (or panel ranges) of C to workers, each of which calls ck_sgemm_packed on its part.
//
// Tuned with clang, which SwiftPM compiles C with; gcc schedules this code differently, so time
// changes with clang. One case: a kernel reading row-major A in place (no A packing) was faster
// under gcc and a third slower under clang (it hoisted and spilled the broadcasts), so A is
// always packed, on register transposes.
#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include "gemm_tile.h"

int ck_sgemm_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const char *off = getenv("STABLESAM_GEMM");
        int forced_off = off && strcmp(off, "openblas") == 0;
        cached = !forced_off && __builtin_cpu_supports("avx512f");
    }
    return cached;
}

size_t ck_sgemm_packed_b_floats(long k, long n) {
    long panels = (n + NR - 1) / NR;
    return (size_t)panels * NR * (size_t)(k > 0 ? k : 1);
}

// dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols: 16x16 register blocks, scalar edges.
static void transpose_scalar(const float *src, long lds, long rows, long cols, float *dst, long ldd) {
    for (long r0 = 0; r0 < rows; r0 += 16)
        for (long c0 = 0; c0 < cols; c0 += 16)
            for (long r = r0; r < min_l(r0 + 16, rows); r++)
                for (long c = c0; c < min_l(c0 + 16, cols); c++) dst[c * ldd + r] = src[r * lds + c];
}

TARGET static void transpose_avx512(const float *src, long lds, long rows, long cols, float *dst, long ldd) {
    long r16 = rows / 16 * 16, c16 = cols / 16 * 16;
    for (long r0 = 0; r0 < r16; r0 += 16)
        for (long c0 = 0; c0 < c16; c0 += 16) transpose16(src + r0 * lds + c0, lds, 16, dst + c0 * ldd + r0, ldd, 16);
    if (c16 < cols) transpose_scalar(src + c16, lds, rows, cols - c16, dst + c16 * ldd, ldd);
    if (r16 < rows) transpose_scalar(src + r16 * lds, lds, rows - r16, c16, dst + r16, ldd);
}

void ck_transpose(const float *src, long lds, long rows, long cols, float *dst, long ldd) {
    if (ck_sgemm_available()) transpose_avx512(src, lds, rows, cols, dst, ldd);
    else transpose_scalar(src, lds, rows, cols, dst, ldd);
}

// Layout: for each KC slice s (depth ks), for each panel j: ks rows of NR floats.
// Slice s starts at s*KC*panels*NR; panel j of it at + j*ks*NR. Columns past n are zero.
TARGET void ck_sgemm_pack_b(int transB, long k, long n, const float *b, long ldb, float *packed,
                     long panel_begin, long panel_end) {
    long panels = (n + NR - 1) / NR;
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0);
        float *slice = packed + s0 * panels * NR;
        for (long j = panel_begin; j < panel_end; j++) {
            float *dst = slice + j * ks * NR;
            long c0 = j * NR, cols = min_l(NR, n - c0);
            if (!transB) {
                // op(B)[kk][c] = b[kk*ldb + c]: rows are contiguous; two masked vector moves per
                // row (a memcpy call per 128 bytes cost more than the copy), zeros past n.
                __mmask16 m0 = half_mask(cols), m1 = half_mask(cols - 16);
                for (long kk = 0; kk < ks; kk++) {
                    const float *src = b + (s0 + kk) * ldb + c0;
                    float *d = dst + kk * NR;
                    _mm512_storeu_ps(d, _mm512_maskz_loadu_ps(m0, src));
                    _mm512_storeu_ps(d + 16, _mm512_maskz_loadu_ps(m1, src + 16));
                }
            } else {
                // op(B)[kk][c] = b[c*ldb + kk]: a transpose, 16x16 blocks in registers where whole.
                if (cols < NR) memset(dst, 0, (size_t)ks * NR * sizeof(float));
                long whole = ks / 16 * 16;
                for (long h = 0; h + 16 <= cols; h += 16)
                    for (long kk = 0; kk < whole; kk += 16)
                        transpose16(b + (c0 + h) * ldb + s0 + kk, ldb, 16, dst + kk * NR + h, NR, 16);
                for (long c = 0; c < cols; c++) {
                    const float *src = b + (c0 + c) * ldb + s0;
                    long from = c < cols / 16 * 16 ? whole : 0;   // what the blocks did not cover
                    for (long kk = from; kk < ks; kk++) dst[kk * NR + c] = src[kk];
                }
            }
        }
    }
}

// Packs rows [i0, i0+rows) of op(A) for depth slice [s0, s0+ks): MR-row panels, kk-major,
// rows past the end zero.
TARGET static void pack_a(int transA, const float *a, long lda, long i0, long rows, long s0, long ks, float *dst) {
    for (long p = 0; p < rows; p += MR) {
        long r = min_l(MR, rows - p);
        float *d = dst + p * ks;
        if (!transA) {
            // A transpose: 16 depths x the panel's rows at a time in registers (rows past r as 0).
            long whole = ks / 16 * 16;
            for (long kk = 0; kk < whole; kk += 16)
                transpose16(a + (i0 + p) * lda + s0 + kk, lda, r, d + kk * MR, MR, MR);
            for (long rr = 0; rr < r; rr++) {
                const float *src = a + (i0 + p + rr) * lda + s0;
                for (long kk = whole; kk < ks; kk++) d[kk * MR + rr] = src[kk];
            }
            for (long kk = whole; kk < ks; kk++)
                for (long rr = r; rr < MR; rr++) d[kk * MR + rr] = 0;
            continue;
        } else {
            for (long kk = 0; kk < ks; kk++) {
                const float *src = a + (s0 + kk) * lda + i0 + p;
                memcpy(d + kk * MR, src, (size_t)r * sizeof(float));
            }
        }
        if (r < MR)
            for (long kk = 0; kk < ks; kk++)
                for (long rr = r; rr < MR; rr++) d[kk * MR + rr] = 0;
    }
}

void ck_gelu_avx512(float *p, long n);

// acc = A panel (ks x MR) · B panel (ks x NR); then C = alpha*acc + beta*C (+ biases) on the first
// slice, C += alpha*acc on the others, and GELU in place after the last, while the tile is in L1.
TARGET static void kernel_12x32(long ks, const float *restrict a, const float *restrict b,
                                float *restrict c, long ldc, const tile_store *st) {
    long rows = st->rows;
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 cAa = _mm512_setzero_ps(), cAb = _mm512_setzero_ps(), cBa = _mm512_setzero_ps(), cBb = _mm512_setzero_ps();
    // C's rows are a row stride apart: fetch them while the products run, not at the end.
    for (long r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
    }
// One row of the tile: broadcast A's element, two FMAs into that row's two accumulators.
#define ROW(i, ca, cb)                                                                  \
    x = _mm512_set1_ps(ap[i]);                                                          \
    ca = _mm512_fmadd_ps(x, b0, ca);                                                    \
    cb = _mm512_fmadd_ps(x, b1, cb);
#define STEP(off)                                                                       \
    {                                                                                   \
        __m512 b0 = _mm512_loadu_ps(b + (off) * NR), b1 = _mm512_loadu_ps(b + (off) * NR + 16); \
        const float *ap = a + (off) * MR;                                               \
        __m512 x;                                                                       \
        ROW(0, c0a, c0b) ROW(1, c1a, c1b) ROW(2, c2a, c2b) ROW(3, c3a, c3b)             \
        ROW(4, c4a, c4b) ROW(5, c5a, c5b) ROW(6, c6a, c6b) ROW(7, c7a, c7b)             \
        ROW(8, c8a, c8b) ROW(9, c9a, c9b) ROW(10, cAa, cAb) ROW(11, cBa, cBb)           \
    }
    long kk = 0;
    for (; kk + 4 <= ks; kk += 4) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR + 16), _MM_HINT_T0);
        STEP(0) STEP(1) STEP(2) STEP(3)
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; kk < ks; kk++) {
        STEP(0)
        a += MR;
        b += NR;
    }
#undef STEP
#undef ROW
    __m512 acc[MR][2] = {{c0a, c0b}, {c1a, c1b}, {c2a, c2b}, {c3a, c3b}, {c4a, c4b}, {c5a, c5b},
                         {c6a, c6b}, {c7a, c7b}, {c8a, c8b}, {c9a, c9b}, {cAa, cAb}, {cBa, cBb}};
    store_tile(acc, c, ldc, st);
}

size_t ck_sgemm_packed_a_floats(long m, long k) {
    long rowPanels = (m + MR - 1) / MR;
    return (size_t)rowPanels * MR * (size_t)(k > 0 ? k : 1);
}

// Layout: for each KC slice s (depth ks), the rows' MR-row panels of ks x MR, as pack_a writes them.
void ck_sgemm_pack_a(int transA, long m, long k, const float *a, long lda, float *packed) {
    long rowPanels = (m + MR - 1) / MR;
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0);
        pack_a(transA, a, lda, 0, m, s0, ks, packed + s0 * rowPanels * MR);
    }
}

// k == 0: C = beta·C plus the epilogue, for columns [col0, col1).
static void scale_only(long m, long col0, long col1, float beta, float *c, long ldc, const ck_epilogue *ep) {
    for (long i = 0; i < m; i++) {
        for (long j = col0; j < col1; j++) {
            float v = beta == 0 ? 0 : beta * c[i * ldc + j];
            if (ep && ep->row_bias) v += ep->row_bias[i];
            if (ep && ep->col_bias) v += ep->col_bias[j];
            c[i * ldc + j] = v;
        }
        if (ep && ep->gelu) ck_gelu_avx512(c + i * ldc + col0, col1 - col0);
    }
}

TARGET void ck_sgemm_prepacked(long m, long n, long k, float alpha, const float *packedA, const float *packedB,
                               float beta, float *c, long ldc, const ck_epilogue *ep) {
    if (m <= 0 || n <= 0) return;
    long panels = (n + NR - 1) / NR, rowPanels = (m + MR - 1) / MR;
    if (k <= 0) { scale_only(m, 0, n, beta, c, ldc, ep); return; }
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0);
        const float *sliceA = packedA + s0 * rowPanels * MR, *sliceB = packedB + s0 * panels * NR;
        for (long j = 0; j < panels; j++) {
            for (long p = 0; p < rowPanels; p++) {
                tile_store st = tile(alpha, beta, s0, ks, k, p * MR, min_l(MR, m - p * MR), j * NR,
                                     min_l(NR, n - j * NR), ep);
                kernel_12x32(ks, sliceA + p * ks * MR, sliceB + j * ks * NR, c + p * MR * ldc + j * NR, ldc, &st);
            }
        }
    }
}

static _Thread_local float *a_buffer;

TARGET void ck_sgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                            const float *packed, long panel_begin, long panel_end, float beta,
                            float *c, long ldc, const ck_epilogue *ep) {
    if (m <= 0 || panel_end <= panel_begin) return;
    long panels = (n + NR - 1) / NR;
    if (k <= 0) { scale_only(m, panel_begin * NR, min_l(panel_end * NR, n), beta, c, ldc, ep); return; }
    if (!a_buffer) a_buffer = aligned_alloc(64, (size_t)MC * KC * sizeof(float));
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0);
        const float *slice = packed + s0 * panels * NR;
        for (long i0 = 0; i0 < m; i0 += MC) {
            long mb = min_l(MC, m - i0);
            pack_a(transA, a, lda, i0, mb, s0, ks, a_buffer);
            for (long j = panel_begin; j < panel_end; j++) {
                const float *bp = slice + j * ks * NR;
                for (long p = 0; p < mb; p += MR) {
                    tile_store st = tile(alpha, beta, s0, ks, k, i0 + p, min_l(MR, mb - p), j * NR,
                                         min_l(NR, n - j * NR), ep);
                    kernel_12x32(ks, a_buffer + p * ks, bp, c + (i0 + p) * ldc + j * NR, ldc, &st);
                }
            }
        }
    }
}

// Small products on the calling thread: op(B) packed into a buffer kept per thread (up to 4 MB;
// larger ones are allocated for the call), so the thousands of window-attention products of an
// encoder pass cost no allocation and no hand-off.
#define SMALL_BUFFER_FLOATS (1L << 20)
static _Thread_local float *small_b;

void ck_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc, const ck_epilogue *ep) {
    if (m <= 0 || n <= 0) return;
    size_t need = ck_sgemm_packed_b_floats(k, n);
    float *packed;
    if (need <= SMALL_BUFFER_FLOATS) {
        if (!small_b) small_b = aligned_alloc(64, SMALL_BUFFER_FLOATS * sizeof(float));
        packed = small_b;
    } else {
        packed = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
    }
    long panels = (n + NR - 1) / NR;
    ck_sgemm_pack_b(transB, k, n, b, ldb, packed, 0, panels);
    ck_sgemm_packed(transA, m, n, k, alpha, a, lda, packed, 0, panels, beta, c, ldc, ep);
    if (packed != small_b) free(packed);
}

#else
int ck_sgemm_available(void) { return 0; }
void ck_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
              const float *b, long ldb, float beta, float *c, long ldc, const ck_epilogue *ep) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb;
    (void)beta; (void)c; (void)ldc; (void)ep;
}
void ck_transpose(const float *src, long lds, long rows, long cols, float *dst, long ldd) {
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}
size_t ck_sgemm_packed_a_floats(long m, long k) { (void)m; (void)k; return 0; }
void ck_sgemm_pack_a(int transA, long m, long k, const float *a, long lda, float *packed) {
    (void)transA; (void)m; (void)k; (void)a; (void)lda; (void)packed;
}
void ck_sgemm_prepacked(long m, long n, long k, float alpha, const float *packedA, const float *packedB,
                        float beta, float *c, long ldc, const ck_epilogue *ep) {
    (void)m; (void)n; (void)k; (void)alpha; (void)packedA; (void)packedB; (void)beta; (void)c; (void)ldc; (void)ep;
}
size_t ck_sgemm_packed_b_floats(long k, long n) { (void)k; (void)n; return 0; }
void ck_sgemm_pack_b(int transB, long k, long n, const float *b, long ldb, float *packed,
                     long panel_begin, long panel_end) {
    (void)transB; (void)k; (void)n; (void)b; (void)ldb; (void)packed; (void)panel_begin; (void)panel_end;
}
void ck_sgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                     const float *packed, long panel_begin, long panel_end, float beta, float *c, long ldc,
                     const ck_epilogue *ep) {
    (void)ep; (void)transA; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packed;
    (void)panel_begin; (void)panel_end; (void)beta; (void)c; (void)ldc;
}
#endif
