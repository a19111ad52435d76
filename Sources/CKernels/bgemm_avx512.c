// bf16 GEMM for CPUs with AVX512_BF16: the fp32 kernel's blocking (12x32 tiles, 256-deep slices,
// the same tile store), with both operands rounded to bf16 (round to nearest even) while packing
// and `vdpbf16ps` doing two products per fp32 lane: 32 multiply-adds per instruction instead of
// the FMA's 16. Accumulation, alpha/beta, biases and GELU stay fp32.
//
// Packed layouts, in 32-bit words each holding two bf16 of consecutive depths (k, k+1), the low
// half first, as vdpbf16ps pairs them:
//   B: for each KC slice, for each 32-column panel: ceil(ks/2) rows of 32 words (one per column);
//      slice s0 starts at word s0/2 * panels * NR, panel j of it at + j * ceil(ks/2) * NR.
//   A: for each MR-row panel: ceil(ks/2) rows of MR words (one per row of C).
// An odd depth is padded with a zero bf16, and columns and rows past the edges with zero words.
#include "ckernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include "gemm_tile.h"

#define BF16_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512bf16")))

int ck_bgemm_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        // STABLESAM_BF16=off behaves as a CPU without it (for the error path and comparisons).
        const char *off = getenv("STABLESAM_BF16");
        cached = ck_sgemm_available() && __builtin_cpu_supports("avx512bf16") && !(off && strcmp(off, "off") == 0);
    }
    return cached;
}

// Round to nearest even, as vcvtne2ps2bf16 does; NaN stays a (quiet) NaN.
static inline uint16_t bf16_of(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline uint32_t pair(float lo, float hi) { return (uint32_t)bf16_of(lo) | (uint32_t)bf16_of(hi) << 16; }

static long pairs_of(long ks) { return (ks + 1) / 2; }

size_t ck_bgemm_packed_b_words(long k, long n) {
    long panels = (n + NR - 1) / NR;
    long whole = k / KC, rest = k % KC;
    size_t rows = (size_t)whole * (KC / 2) + (size_t)pairs_of(rest);
    return (size_t)panels * NR * (rows > 0 ? rows : 1);
}

// Two rows of row-major op(B) (depths k, k+1), 16 columns, as 16 words of (k, k+1) pairs: both
// rows rounded in one conversion (row k in the low 16 bf16, row k+1 in the high), then the
// 16-bit lanes interleaved.
BF16_TARGET static inline void pair_rows16(const float *row0, const float *row1, uint32_t *dst) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row1), _mm512_loadu_ps(row0));
    _mm512_storeu_si512((void *)dst, _mm512_permutexvar_epi16(interleave, (__m512i)v));
}

BF16_TARGET void ck_bgemm_pack_b(int transB, long k, long n, const float *b, long ldb, uint32_t *packed,
                     long panel_begin, long panel_end) {
    long panels = (n + NR - 1) / NR;
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0), kp = pairs_of(ks);
        uint32_t *slice = packed + s0 / 2 * panels * NR;
        for (long j = panel_begin; j < panel_end; j++) {
            uint32_t *dst = slice + j * kp * NR;
            long c0 = j * NR, cols = min_l(NR, n - c0);
            // Row-major op(B) (activations: a convolution's columns) with a whole panel: vectors.
            long vectorPairs = !transB && cols == NR ? ks / 2 : 0;
            for (long q = 0; q < vectorPairs; q++) {
                const float *r0 = b + (s0 + 2 * q) * ldb + c0;
                pair_rows16(r0, r0 + ldb, dst + q * NR);
                pair_rows16(r0 + 16, r0 + ldb + 16, dst + q * NR + 16);
            }
            for (long q = vectorPairs; q < kp; q++) {
                long k0 = s0 + 2 * q;
                int second = 2 * q + 1 < ks;
                for (long c = 0; c < NR; c++) {
                    if (c >= cols) { dst[q * NR + c] = 0; continue; }
                    float lo = transB ? b[(c0 + c) * ldb + k0] : b[k0 * ldb + c0 + c];
                    float hi = !second ? 0.0f : transB ? b[(c0 + c) * ldb + k0 + 1] : b[(k0 + 1) * ldb + c0 + c];
                    dst[q * NR + c] = pair(lo, hi);
                }
            }
        }
    }
}

// Rows [i0, i0+rows) of op(A) for depth slice [s0, s0+ks), as bf16 pairs in MR-row panels.
// Row-major A converts 32 floats at a time (vcvtne2ps2bf16 keeps them in order, so each word
// is already a (k, k+1) pair), then the register transpose puts the panel's rows side by side.
BF16_TARGET static void pack_a(int transA, const float *a, long lda, long i0, long rows, long s0, long ks,
                               uint32_t *dst) {
    long kp = pairs_of(ks);
    uint32_t row_pairs[MR * (KC / 2)];
    for (long p = 0; p < rows; p += MR) {
        long r = min_l(MR, rows - p);
        for (long rr = 0; rr < MR; rr++) {
            uint32_t *t = row_pairs + rr * kp;
            if (rr >= r) { memset(t, 0, (size_t)kp * 4); continue; }
            long kk = 0;
            if (!transA) {
                const float *src = a + (i0 + p + rr) * lda + s0;
                for (; kk + 32 <= ks; kk += 32) {
                    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + kk + 16), _mm512_loadu_ps(src + kk));
                    _mm512_storeu_si512((void *)(t + kk / 2), (__m512i)v);
                }
                for (; kk < ks; kk += 2) t[kk / 2] = pair(src[kk], kk + 1 < ks ? src[kk + 1] : 0.0f);
            } else {
                const float *src = a + s0 * lda + i0 + p + rr;
                for (; kk < ks; kk += 2) t[kk / 2] = pair(src[kk * lda], kk + 1 < ks ? src[(kk + 1) * lda] : 0.0f);
            }
        }
        uint32_t *d = dst + p * kp;
        long whole = kp / 16 * 16;
        for (long q = 0; q < whole; q += 16)
            transpose16((const float *)(row_pairs + q), kp, MR, (float *)(d + q * MR), MR, MR);
        for (long q = whole; q < kp; q++)
            for (long rr = 0; rr < MR; rr++) d[q * MR + rr] = row_pairs[rr * kp + q];
    }
}

BF16_TARGET static void kernel_bf16_12x32(long kp, const uint32_t *restrict a, const uint32_t *restrict b,
                                          float *restrict c, long ldc, const tile_store *st) {
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 cAa = _mm512_setzero_ps(), cAb = _mm512_setzero_ps(), cBa = _mm512_setzero_ps(), cBb = _mm512_setzero_ps();
    for (long r = 0; r < st->rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
    }
// One row of the tile: broadcast A's (k, k+1) pair, two dot products into the row's accumulators.
#define ROW(i, ca, cb)                                                                  \
    x = (__m512bh)_mm512_set1_epi32((int)ap[i]);                                        \
    ca = _mm512_dpbf16_ps(ca, x, b0);                                                   \
    cb = _mm512_dpbf16_ps(cb, x, b1);
#define STEP(off)                                                                       \
    {                                                                                   \
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + (off) * NR));     \
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + (off) * NR + 16)); \
        const uint32_t *ap = a + (off) * MR;                                            \
        __m512bh x;                                                                     \
        ROW(0, c0a, c0b) ROW(1, c1a, c1b) ROW(2, c2a, c2b) ROW(3, c3a, c3b)             \
        ROW(4, c4a, c4b) ROW(5, c5a, c5b) ROW(6, c6a, c6b) ROW(7, c7a, c7b)             \
        ROW(8, c8a, c8b) ROW(9, c9a, c9b) ROW(10, cAa, cAb) ROW(11, cBa, cBb)           \
    }
    long q = 0;
    for (; q + 4 <= kp; q += 4) {
        _mm_prefetch((const char *)(b + 8 * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * NR + 16), _MM_HINT_T0);
        STEP(0) STEP(1) STEP(2) STEP(3)
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; q < kp; q++) {
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

static _Thread_local uint32_t *a_words;

BF16_TARGET void ck_bgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                                 const uint32_t *packed, long panel_begin, long panel_end, float beta,
                                 float *c, long ldc, const ck_epilogue *ep) {
    if (m <= 0 || panel_end <= panel_begin || k <= 0) return;
    long panels = (n + NR - 1) / NR;
    if (!a_words) a_words = aligned_alloc(64, (size_t)MC * (KC / 2) * sizeof(uint32_t));
    for (long s0 = 0; s0 < k; s0 += KC) {
        long ks = min_l(KC, k - s0), kp = pairs_of(ks);
        const uint32_t *slice = packed + s0 / 2 * panels * NR;
        for (long i0 = 0; i0 < m; i0 += MC) {
            long mb = min_l(MC, m - i0);
            pack_a(transA, a, lda, i0, mb, s0, ks, a_words);
            for (long j = panel_begin; j < panel_end; j++) {
                const uint32_t *bp = slice + j * kp * NR;
                for (long p = 0; p < mb; p += MR) {
                    tile_store st = tile(alpha, beta, s0, ks, k, i0 + p, min_l(MR, mb - p), j * NR,
                                         min_l(NR, n - j * NR), ep);
                    kernel_bf16_12x32(kp, a_words + p * kp, bp, c + (i0 + p) * ldc + j * NR, ldc, &st);
                }
            }
        }
    }
}

#else
int ck_bgemm_available(void) { return 0; }
size_t ck_bgemm_packed_b_words(long k, long n) { (void)k; (void)n; return 0; }
void ck_bgemm_pack_b(int transB, long k, long n, const float *b, long ldb, uint32_t *packed,
                     long panel_begin, long panel_end) {
    (void)transB; (void)k; (void)n; (void)b; (void)ldb; (void)packed; (void)panel_begin; (void)panel_end;
}
void ck_bgemm_packed(int transA, long m, long n, long k, float alpha, const float *a, long lda,
                     const uint32_t *packed, long panel_begin, long panel_end, float beta, float *c, long ldc,
                     const ck_epilogue *ep) {
    (void)transA; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packed; (void)panel_begin;
    (void)panel_end; (void)beta; (void)c; (void)ldc; (void)ep;
}
#endif
