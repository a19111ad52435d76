// Included by kernels_avx512.c (16 lanes), kernels_avx2.c (AVX2+FMA, 8 lanes) and
// kernels_generic.c (baseline x86-64 / other CPUs, 4 lanes). Vectors are GCC/clang vector extensions, so the loops need no intrinsics.
// Expects CK_VECTOR_BYTES, CK_NAME(x) and CK_TARGET to be defined.
typedef float v8 __attribute__((vector_size(CK_VECTOR_BYTES), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(CK_VECTOR_BYTES), aligned(4)));
#define LANES ((int)(CK_VECTOR_BYTES / 4))

void CK_NAME(ck_gelu)(float *p, long n);

static inline CK_TARGET v8 splat(float x) { v8 v; for (int i = 0; i < LANES; i++) v[i] = x; return v; }
static inline CK_TARGET v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline CK_TARGET void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
// Vector comparisons give all-ones/all-zeros lanes; blend with them (C has no vector `?:`).
static inline CK_TARGET v8 vselect(v8i mask, v8 a, v8 b) { return (v8)(((v8i)a & mask) | ((v8i)b & ~mask)); }
static inline CK_TARGET v8 vmax(v8 a, v8 b) { return vselect(a > b, a, b); }
static inline CK_TARGET v8 vmin(v8 a, v8 b) { return vselect(a < b, a, b); }

// e^x, relative error < 2e-7 on [-87, 88]: Cody-Waite reduction and Cephes' expf polynomial.
// Rounding uses the 1.5·2^23 trick so the integer part lands in the mantissa bits.
static inline CK_TARGET v8 vexp(v8 x) {
    const v8 lo = splat(-87.33654f), hi = splat(88.37626f);
    v8 xc = vmin(vmax(x, lo), hi);
    v8 shifted = xc * splat(1.44269504088896341f) + splat(12582912.0f);
    v8 n = shifted - splat(12582912.0f);
    v8 r = xc - n * splat(0.693359375f);
    r = r - n * splat(-2.12194440e-4f);
    v8 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    v8 poly = p * (r * r) + r + splat(1.0f);
    v8i bits = (((v8i)shifted - 0x4B400000) + 127) << 23;
    v8 out = poly * (v8)bits;
    return (v8)((v8i)out & (v8i)(x >= lo));   // below the range the true value underflows to 0
}

// erf(x) = sign(x)·(1 - erfc(|x|)), erfc from Numerical Recipes' Chebyshev fit (1.2e-7).
static inline CK_TARGET v8 verf(v8 x) {
    v8 z = vmax(x, -x);
    v8 t = splat(1.0f) / (splat(1.0f) + splat(0.5f) * z);
    v8 p = splat(0.17087277f);
    p = p * t - splat(0.82215223f);
    p = p * t + splat(1.48851587f);
    p = p * t - splat(1.13520398f);
    p = p * t + splat(0.27886807f);
    p = p * t - splat(0.18628806f);
    p = p * t + splat(0.09678418f);
    p = p * t + splat(0.37409196f);
    p = p * t + splat(1.00002368f);
    p = p * t - splat(1.26551223f);
    v8 e = splat(1.0f) - t * vexp(p - z * z);
    return vselect(x < splat(0.0f), -e, e);
}

static inline CK_TARGET float hmax(v8 v) {
    float m = v[0];
    for (int i = 1; i < LANES; i++) m = v[i] > m ? v[i] : m;
    return m;
}

static inline CK_TARGET float hsum(v8 v) {
    float s = 0;
    for (int i = 0; i < LANES; i++) s += v[i];
    return s;
}

#ifndef CK_OWN_SOFTMAX   // kernels_avx512.c has its own
CK_TARGET void CK_NAME(ck_softmax_rows)(float *p, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        float *row = p + r * cols;
        long i = 0;
        v8 vm = splat(-INFINITY);
        for (; i + LANES <= cols; i += LANES) vm = vmax(vm, load8(row + i));
        float m = hmax(vm);
        for (; i < cols; i++) m = row[i] > m ? row[i] : m;
        v8 shift = splat(m), vs = splat(0.0f);
        for (i = 0; i + LANES <= cols; i += LANES) {
            v8 e = vexp(load8(row + i) - shift);
            store8(row + i, e);
            vs += e;
        }
        float s = hsum(vs);
        for (; i < cols; i++) { float e = expf(row[i] - m); row[i] = e; s += e; }
        v8 inv = splat(1.0f / s);
        for (i = 0; i + LANES <= cols; i += LANES) store8(row + i, load8(row + i) * inv);
        for (; i < cols; i++) row[i] *= 1.0f / s;
    }
}
#endif

#ifndef CK_OWN_GELU   // kernels_avx512.c has its own, on AVX-512 instructions
CK_TARGET void CK_NAME(ck_gelu)(float *p, long n) {
    long i = 0;
    for (; i + LANES <= n; i += LANES) {
        v8 x = load8(p + i);
        store8(p + i, splat(0.5f) * x * (splat(1.0f) + verf(x * splat(0.70710678118654752f))));
    }
    if (i < n) {
        float tail[LANES] = {0};
        memcpy(tail, p + i, (size_t)(n - i) * sizeof(float));
        v8 x = load8(tail);
        store8(tail, splat(0.5f) * x * (splat(1.0f) + verf(x * splat(0.70710678118654752f))));
        memcpy(p + i, tail, (size_t)(n - i) * sizeof(float));
    }
}
#endif

CK_TARGET void CK_NAME(ck_layernorm_rows)(const float *x, float *y, const float *weight, const float *bias,
                       long rows, long cols, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        float *dst = y + r * cols;
        v8 acc = splat(0.0f);
        long i = 0;
        for (; i + LANES <= cols; i += LANES) acc += load8(src + i);
        float mean = hsum(acc);
        for (; i < cols; i++) mean += src[i];
        mean /= (float)cols;
        v8 vmean = splat(mean);
        acc = splat(0.0f);
        for (i = 0; i + LANES <= cols; i += LANES) { v8 d = load8(src + i) - vmean; acc += d * d; }
        float var = hsum(acc);
        for (; i < cols; i++) { float d = src[i] - mean; var += d * d; }
        float inv = 1.0f / sqrtf(var / (float)cols + eps);
        for (long i = 0; i < cols; i++) dst[i] = (src[i] - mean) * inv * weight[i] + bias[i];
    }
}

// One output element of a depthwise convolution, bounds-checked (the plane's border).
static inline float depthwise_at(const float *src, long h, long w, const float *k, long kh, long kw,
                                 long stride, long pad, float bias, long oy, long ox) {
    float acc = bias;
    for (long ky = 0; ky < kh; ky++) {
        long iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= h) continue;
        for (long kx = 0; kx < kw; kx++) {
            long ix = ox * stride - pad + kx;
            if (ix >= 0 && ix < w) acc += src[iy * w + ix] * k[ky * kw + kx];
        }
    }
    return acc;
}

// One channel plane: every output row accumulates all taps in registers and is written once
// (the Swift version made a pass over the plane per tap). Columns whose taps all fall inside the
// row run vectorised (stride 1) or unchecked (stride 2); the border columns are checked.
CK_TARGET void CK_NAME(ck_depthwise_plane)(const float *src, long h, long w, const float *k, long kh, long kw,
                                           long stride, long pad, float bias, float *dst, long oh, long ow,
                                           int gelu) {
    long lo = (pad + stride - 1) / stride;             // first ox whose leftmost tap is inside
    long hi = w - kw + pad >= 0 ? (w - kw + pad) / stride + 1 : 0;   // past the last whose rightmost is
    if (lo > ow) lo = ow;
    if (hi > ow) hi = ow;
    if (hi < lo) hi = lo;
    v8 k00 = splat(0), k01 = k00, k02 = k00, k10 = k00, k11 = k00, k12 = k00, k20 = k00, k21 = k00, k22 = k00;
    if (kh == 3 && kw == 3) {
        k00 = splat(k[0]); k01 = splat(k[1]); k02 = splat(k[2]);
        k10 = splat(k[3]); k11 = splat(k[4]); k12 = splat(k[5]);
        k20 = splat(k[6]); k21 = splat(k[7]); k22 = splat(k[8]);
    }
    for (long oy = 0; oy < oh; oy++) {
        float *out = dst + oy * ow;
        long ky0 = pad - oy * stride > 0 ? pad - oy * stride : 0;
        long ky1 = h + pad - oy * stride < kh ? h + pad - oy * stride : kh;
        for (long ox = 0; ox < lo; ox++) out[ox] = depthwise_at(src, h, w, k, kh, kw, stride, pad, bias, oy, ox);
        long ox = lo;
        if (stride == 1 && kh == 3 && kw == 3 && ky0 == 0 && ky1 == 3) {
            // The common case (every 3x3 depthwise in MobileSAM): taps as constants in registers.
            const float *r0 = src + (oy - pad) * w - pad, *r1 = r0 + w, *r2 = r1 + w;
            // The last vector is moved back to end at `hi` (recomputing a few outputs) rather than
            // leaving a scalar tail, which cost more than the vectors before it.
            for (long last = hi - LANES; ox < hi && last >= lo; ox += LANES) {
                if (ox > last) ox = last;
                v8 acc = splat(bias);
                acc += load8(r0 + ox) * k00 + load8(r0 + ox + 1) * k01 + load8(r0 + ox + 2) * k02;
                acc += load8(r1 + ox) * k10 + load8(r1 + ox + 1) * k11 + load8(r1 + ox + 2) * k12;
                acc += load8(r2 + ox) * k20 + load8(r2 + ox + 1) * k21 + load8(r2 + ox + 2) * k22;
                store8(out + ox, acc);
            }
        } else if (stride == 1) {
            for (long last = hi - LANES; ox < hi && last >= lo; ox += LANES) {
                if (ox > last) ox = last;
                v8 acc = splat(bias);
                for (long ky = ky0; ky < ky1; ky++) {
                    const float *row = src + (oy - pad + ky) * w + ox - pad;
                    for (long kx = 0; kx < kw; kx++) acc += load8(row + kx) * splat(k[ky * kw + kx]);
                }
                store8(out + ox, acc);
            }
        }
        for (; ox < hi; ox++) {
            float acc = bias;
            for (long ky = ky0; ky < ky1; ky++) {
                const float *row = src + (oy * stride - pad + ky) * w + ox * stride - pad;
                for (long kx = 0; kx < kw; kx++) acc += row[kx] * k[ky * kw + kx];
            }
            out[ox] = acc;
        }
        for (ox = hi; ox < ow; ox++) out[ox] = depthwise_at(src, h, w, k, kh, kw, stride, pad, bias, oy, ox);
        if (gelu) CK_NAME(ck_gelu)(out, ow);
    }
}

// dst[i] op= src[i mod m] for i < n (n a multiple of m); op 0 add, 1 subtract, 2 multiply.
CK_TARGET void CK_NAME(ck_combine)(int op, float *restrict dst, long n, const float *restrict src, long m) {
    if (m == 1) {
        float v = src[0];
        if (op == 0) for (long i = 0; i < n; i++) dst[i] += v;
        else if (op == 1) for (long i = 0; i < n; i++) dst[i] -= v;
        else for (long i = 0; i < n; i++) dst[i] *= v;
        return;
    }
    for (long i = 0; i < n; i += m) {
        float *restrict d = dst + i;
        if (op == 0) for (long j = 0; j < m; j++) d[j] += src[j];
        else if (op == 1) for (long j = 0; j < m; j++) d[j] -= src[j];
        else for (long j = 0; j < m; j++) d[j] *= src[j];
    }
}
