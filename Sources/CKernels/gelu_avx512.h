// Exact GELU on CK_GELU_V AVX-512 vectors at once, shared by the element-wise kernel and the GEMM's
// fused epilogue. Include after <immintrin.h>.
#pragma once
// GELU as x·Φ(x) with h = ½·erfc(|x|/√2): x·(1 − h) for x ≥ 0, x·h below. erfc from the same
// Numerical Recipes fit as verf (1.2e-7), but with AVX-512's reciprocal estimate + one Newton step
// instead of a division, and scalef for 2^n, which also takes exp's underflow to 0 without a range
// check. One GELU is a ~40-deep dependency chain; V vectors go through each step side by side
// (GCC keeps source order on x86), so the core overlaps them: 8 at a time doubles the throughput.
#define CK_GELU_V 8
#define CK_GELU_EACH for (int j = 0; j < CK_GELU_V; j++)
static inline __attribute__((target("avx512f,avx512dq"))) void ck_gelu16xV(__m512 *x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 z[CK_GELU_V], t[CK_GELU_V], p[CK_GELU_V], u[CK_GELU_V], n[CK_GELU_V], r[CK_GELU_V], q[CK_GELU_V];
    CK_GELU_EACH z[j] = _mm512_mul_ps(_mm512_abs_ps(x[j]), _mm512_set1_ps(0.70710678118654752f));
    CK_GELU_EACH { __m512 d = _mm512_fmadd_ps(z[j], _mm512_set1_ps(0.5f), one);
           t[j] = _mm512_rcp14_ps(d);
           t[j] = _mm512_mul_ps(t[j], _mm512_fnmadd_ps(d, t[j], _mm512_set1_ps(2.0f))); }   // Newton: t(2 - dt)
    static const float erfc_poly[10] = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                                        -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};
    CK_GELU_EACH p[j] = _mm512_set1_ps(erfc_poly[0]);
    for (int i = 1; i < 10; i++) CK_GELU_EACH p[j] = _mm512_fmadd_ps(p[j], t[j], _mm512_set1_ps(erfc_poly[i]));
    // e^u, u = p - z², by u = n·ln2 + r, |r| <= ln2/2, Cephes' polynomial for e^r.
    CK_GELU_EACH u[j] = _mm512_max_ps(_mm512_fnmadd_ps(z[j], z[j], p[j]), _mm512_set1_ps(-100.0f));
    CK_GELU_EACH n[j] = _mm512_roundscale_ps(_mm512_mul_ps(u[j], _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    CK_GELU_EACH r[j] = _mm512_fnmadd_ps(n[j], _mm512_set1_ps(0.693359375f), u[j]);
    CK_GELU_EACH r[j] = _mm512_fnmadd_ps(n[j], _mm512_set1_ps(-2.12194440e-4f), r[j]);
    static const float exp_poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                                      1.6666665459e-1f, 5.0000001201e-1f};
    CK_GELU_EACH q[j] = _mm512_set1_ps(exp_poly[0]);
    for (int i = 1; i < 6; i++) CK_GELU_EACH q[j] = _mm512_fmadd_ps(q[j], r[j], _mm512_set1_ps(exp_poly[i]));
    CK_GELU_EACH q[j] = _mm512_fmadd_ps(q[j], _mm512_mul_ps(r[j], r[j]), _mm512_add_ps(r[j], one));
    CK_GELU_EACH {
        __m512 h = _mm512_mul_ps(_mm512_mul_ps(t[j], _mm512_scalef_ps(q[j], n[j])), _mm512_set1_ps(0.5f));
        __mmask16 negative = _mm512_cmp_ps_mask(x[j], _mm512_setzero_ps(), _CMP_LT_OQ);
        x[j] = _mm512_mul_ps(x[j], _mm512_mask_blend_ps(negative, _mm512_sub_ps(one, h), h));
    }
}

