// Backward passes of the ops that train Stable-SAM's plugin (Sources/Autograd), where a direct
// loop in Swift cost more than the GEMMs around it. One portable build: the loops are simple
// enough for the compiler to vectorise, and the arithmetic order is the reference loop's.
#include "ckernels.h"
#include <math.h>

void ck_depthwise_backward_plane(const float *x, const float *g, long h, long w, const float *k, long kh, long kw,
                                 long pad, long oh, long ow, float *dx, float *dk) {
    for (long ky = 0; ky < kh; ky++) {
        for (long kx = 0; kx < kw; kx++) {
            const float wv = k[ky * kw + kx];
            // Output columns whose input column ox - pad + kx lies inside the plane.
            long lo = pad - kx, hi = w + pad - kx;
            if (lo < 0) lo = 0;
            if (hi > ow) hi = ow;
            float acc = 0;
            for (long oy = 0; oy < oh; oy++) {
                const long iy = oy - pad + ky;
                if (iy < 0 || iy >= h || lo >= hi) continue;
                const float *grow = g + oy * ow;
                const long off = iy * w - pad + kx;   // input index of output column 0 (never read below lo)
                if (dx) for (long ox = lo; ox < hi; ox++) dx[off + ox] += wv * grow[ox];
                for (long ox = lo; ox < hi; ox++) acc += x[off + ox] * grow[ox];
            }
            if (dk) dk[ky * kw + kx] += acc;
        }
    }
}

void ck_gelu_backward(const float *x, const float *y, float *g, long n) {
    for (long i = 0; i < n; i++) {
        const float v = x[i];
        const float cdf = v != 0 ? y[i] / v : 0.5f;   // Φ(x) = GELU(x) / x: no second erf
        const float pdf = expf(-0.5f * v * v) * 0.39894228040143268f;
        g[i] *= cdf + v * pdf;
    }
}

void ck_layernorm_backward(const float *x, const float *g, const float *w, long rows, long c, long plane, float eps,
                           float *dx, double *dw, double *db, double *scratch) {
    double *xhat = scratch, *dxhat = scratch + c;
    for (long r = 0; r < rows; r++) {
        const long start = (r / plane) * c * plane + r % plane, stride = plane;
        double mean = 0;
        for (long j = 0; j < c; j++) mean += (double)x[start + j * stride];
        mean /= (double)c;
        double variance = 0;
        for (long j = 0; j < c; j++) {
            const double d = (double)x[start + j * stride] - mean;
            variance += d * d;
        }
        const double rstd = 1 / sqrt(variance / (double)c + (double)eps);
        double meanD = 0, meanDX = 0;
        for (long j = 0; j < c; j++) {
            const long i = start + j * stride;
            const double gi = (double)g[i];
            xhat[j] = ((double)x[i] - mean) * rstd;
            dxhat[j] = gi * (double)w[j];
            meanD += dxhat[j];
            meanDX += dxhat[j] * xhat[j];
            dw[j] += gi * xhat[j];
            db[j] += gi;
        }
        meanD /= (double)c;
        meanDX /= (double)c;
        if (dx) for (long j = 0; j < c; j++) dx[start + j * stride] = (float)(rstd * (dxhat[j] - meanD - xhat[j] * meanDX));
    }
}

void ck_bilinear_sample_backward(const float *x, const float *g, const float *loc, long c, long h, long w,
                                 float *dx, float *ddx, float *ddy) {
    const long plane = h * w;
    for (long p = 0; p < plane; p++) {
        const float px = loc[2 * p], py = loc[2 * p + 1];
        const float x0 = floorf(px), y0 = floorf(py), fx = px - x0, fy = py - y0;
        float gx = 0, gy = 0;
        for (int t = 0; t < 4; t++) {   // (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)
            const int right = t & 1, down = t >= 2;
            const float tx = right ? x0 + 1 : x0, ty = down ? y0 + 1 : y0;
            if (!(tx >= 0 && ty >= 0 && tx < (float)w && ty < (float)h)) continue;
            const float wx = right ? fx : 1 - fx, wy = down ? fy : 1 - fy;
            const float wt = wx * wy, dwx = (right ? 1.0f : -1.0f) * wy, dwy = (down ? 1.0f : -1.0f) * wx;
            const long at = (long)ty * w + (long)tx;
            for (long ch = 0; ch < c; ch++) {
                const float gv = g[ch * plane + p];
                if (dx) dx[ch * plane + at] += wt * gv;
                const float xv = x[ch * plane + at];
                gx += dwx * xv * gv;
                gy += dwy * xv * gv;
            }
        }
        if (ddx) { ddx[p] = gx; ddy[p] = gy; }
    }
}
