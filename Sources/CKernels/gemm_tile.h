// Pieces shared by the fp32 and bf16 GEMMs (sgemm_avx512.c, bgemm_avx512.c): the same 12x32
// blocking, the same register transpose for packing and the same tile store (alpha, beta, biases,
// GELU), so the two kernels differ only in how the 24 accumulators are filled.
#ifndef CK_GEMM_TILE_H
#define CK_GEMM_TILE_H
#include "ckernels.h"
#include <immintrin.h>
#include "gelu_avx512.h"

#define MR CK_SGEMM_MR
#define NR CK_SGEMM_NR
#define KC CK_SGEMM_KC
#define MC (MR * 16)

#define TARGET __attribute__((target("avx512f,avx512dq")))

static inline long min_l(long a, long b) { return a < b ? a : b; }

// Lanes of one 16-float half of a 32-column panel that hold the first `cols` columns (cols may be
// negative or past 16): the masks for a panel's two vectors are half_mask(c) and half_mask(c - 16).
static inline __mmask16 half_mask(long cols) {
    return cols >= 16 ? 0xFFFF : cols <= 0 ? 0 : (__mmask16)((1u << cols) - 1);
}

// dst[i][j] = src[j][i] for i < 16, j < rows (rows <= 16; rows <= j < width written as 0), rows
// ldsrc / lddst floats apart: unpack pairs, then 4-lane groups, then 128-bit quarters twice.
TARGET static inline void transpose16(const float *src, long ldsrc, long rows, float *dst, long lddst, long width) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + i * ldsrc) : _mm512_setzero_ps();
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
    __mmask16 m = (__mmask16)((1u << width) - 1);
    for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(dst + i * lddst, m, r[i]);
}

// Where one MR x NR tile of C goes and what happens on the way.
typedef struct {
    float alpha, beta;
    int first, last;              // first / last depth slice
    long rows, cols;              // valid part of the tile
    const float *row_bias;        // at the tile's first row, or NULL
    const float *col_bias;        // at the tile's first column, or NULL
    int gelu;
} tile_store;

static inline tile_store tile(float alpha, float beta, long s0, long ks, long k, long row0, long rows, long col0, long cols,
                       const ck_epilogue *ep) {
    tile_store st = {alpha, beta, s0 == 0, s0 + ks >= k, rows, cols, NULL, NULL, 0};
    if (ep) {
        st.row_bias = ep->row_bias ? ep->row_bias + row0 : NULL;
        st.col_bias = ep->col_bias ? ep->col_bias + col0 : NULL;
        st.gelu = ep->gelu;
    }
    return st;
}

// acc (rows x 2 vectors) -> C: C = alpha*acc + beta*C (+ biases) on the first depth slice,
// C += alpha*acc on the others, and GELU in place after the last, while the tile is in L1.
TARGET static inline __attribute__((always_inline)) void store_tile(__m512 acc[MR][2], float *restrict c, long ldc,
                                                                    const tile_store *st) {
    long rows = st->rows;
    float alpha = st->alpha, beta = st->beta;
    int first = st->first;
    __mmask16 m0 = half_mask(st->cols), m1 = half_mask(st->cols - 16);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __m512 cb0 = _mm512_setzero_ps(), cb1 = _mm512_setzero_ps();
    if (first && st->col_bias) {
        cb0 = _mm512_maskz_loadu_ps(m0, st->col_bias);
        cb1 = _mm512_maskz_loadu_ps(m1, st->col_bias + 16);
    }
    __m512 out[2 * MR];
    for (long r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(acc[r][0], va), x1 = _mm512_mul_ps(acc[r][1], va);
        if (!first) {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, row));
            x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, row + 16));
        } else {
            if (beta != 0) {
                // PyTorch semantics: beta == 0 ignores C entirely (NaNs in it included).
                x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x0);
                x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), x1);
            }
            __m512 rb = _mm512_set1_ps(st->row_bias ? st->row_bias[r] : 0.0f);
            x0 = _mm512_add_ps(x0, _mm512_add_ps(cb0, rb));
            x1 = _mm512_add_ps(x1, _mm512_add_ps(cb1, rb));
        }
        out[2 * r] = x0;
        out[2 * r + 1] = x1;
    }
    if (st->last && st->gelu) {
        for (long r = 2 * rows; r < 2 * MR; r++) out[r] = _mm512_setzero_ps();
        for (long g = 0; g < 2 * rows; g += CK_GELU_V) ck_gelu16xV(out + g);
    }
    for (long r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, out[2 * r]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, out[2 * r + 1]);
    }
}


#endif
