#if canImport(Glibc)
import Glibc
#endif

/// Textbook loops, one per optimised kernel, kept only as references for tests (llm.c's `dev/` habit).
/// They follow the PyTorch definitions literally, with Double accumulation.
public enum NaiveKernels {
    /// Row-major `[m, k] @ [k, n]`.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
            c[i * n + j] = Float(s)
        } }
        return c
    }

    public static func conv2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding: Int, groups: Int) -> Tensor {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, cinG, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
        let coutG = cout / groups
        var out = Tensor(zeros: [n, cout, oh, ow])
        for b in 0..<n { for o in 0..<cout { for y in 0..<oh { for xx in 0..<ow {
            let g = o / coutG
            var s = Double(bias?.storage[o] ?? 0)
            for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                let iy = y * stride - padding + ky, ix = xx * stride - padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let xi: Int = ((b * cin + g * cinG + ci) * h + iy) * wd + ix
                let wi: Int = ((o * cinG + ci) * kh + ky) * kw + kx
                s += Double(x.storage[xi]) * Double(w.storage[wi])
            } } }
            out.storage[((b * cout + o) * oh + y) * ow + xx] = Float(s)
        } } } }
        return out
    }

    /// `nn.ConvTranspose2d` (no padding, any kernel/stride) with weight `[I, O, kH, kW]`.
    /// The gradients of a stride-1 depthwise convolution, as PyTorch's autograd defines them:
    /// dx[b, c, iy, ix] = Σ w[c, ky, kx]·g[b, c, oy, ox] and dw[c, ky, kx] = Σ x·g over the taps
    /// that read inside the input.
    public static func depthwiseConv2dBackward(_ x: Tensor, grad g: Tensor, weight w: Tensor, padding: Int) -> (input: Tensor, weight: Tensor) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw) = (w.shape[2], w.shape[3])
        let (oh, ow) = (g.shape[2], g.shape[3])
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for b in 0..<n { for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
            let gv = Double(g.storage[((b * c + ch) * oh + oy) * ow + ox])
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy - padding + ky, ix = ox - padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let xi = ((b * c + ch) * h + iy) * wd + ix, wi = (ch * kh + ky) * kw + kx
                dx[xi] += Double(w.storage[wi]) * gv
                dw[wi] += Double(x.storage[xi]) * gv
            } }
        } } } }
        return (Tensor(shape: x.shape, storage: dx.map { Float($0) }), Tensor(shape: w.shape, storage: dw.map { Float($0) }))
    }

    /// LayerNorm's gradients as a direct loop in double (the reference of Tensor.layerNormBackward):
    /// row r's channel j at (r / plane)·c·plane + r % plane + j·plane.
    public static func layerNormBackward(_ x: Tensor, grad g: Tensor, weight w: Tensor, eps: Float, channels c: Int,
                                         plane: Int) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        var dx = Tensor(zeros: x.shape)
        var dw = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
        var xhat = [Double](repeating: 0, count: c), dxhat = [Double](repeating: 0, count: c)
        for r in 0..<(x.count / c) {
            let start = (r / plane) * c * plane + r % plane
            var mean = 0.0
            for j in 0..<c { mean += Double(x.storage[start + j * plane]) }
            mean /= Double(c)
            var variance = 0.0
            for j in 0..<c { let d = Double(x.storage[start + j * plane]) - mean; variance += d * d }
            let rstd = 1 / (variance / Double(c) + Double(eps)).squareRoot()
            var meanD = 0.0, meanDX = 0.0
            for j in 0..<c {
                let i = start + j * plane, gi = Double(g.storage[i])
                xhat[j] = (Double(x.storage[i]) - mean) * rstd
                dxhat[j] = gi * Double(w.storage[j])
                meanD += dxhat[j]
                meanDX += dxhat[j] * xhat[j]
                dw[j] += gi * xhat[j]
                db[j] += gi
            }
            meanD /= Double(c)
            meanDX /= Double(c)
            for j in 0..<c { dx.storage[start + j * plane] = Float(rstd * (dxhat[j] - meanD - xhat[j] * meanDX)) }
        }
        return (dx, Tensor(shape: w.shape, storage: dw.map(Float.init)), Tensor(shape: w.shape, storage: db.map(Float.init)))
    }

    /// Exact GELU's derivative times g, in double: g·(Φ(x) + x·φ(x)).
    public static func geluBackward(_ x: Tensor, grad g: Tensor) -> Tensor {
        Tensor(shape: x.shape, storage: zip(x.storage, g.storage).map { v, gi -> Float in
            let d = Double(v)
            let cdf: Double = 0.5 * (1 + erf(d / 2.0.squareRoot()))
            let pdf: Double = exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
            return Float(Double(gi) * (cdf + d * pdf))
        })
    }

    /// The gradients of bilinear sampling at one location per pixel (`[N, H, W, 2]`, pixels, zero
    /// padding) as a direct loop: dx at each in-map tap += w_tap·g; d(location) = Σ ∂w_tap/∂(x, y)·x·g,
    /// returned as `[N, 2, H, W]`. Float, in the order the C kernel keeps (positions, taps, channels).
    public static func bilinearSampledBackward(_ x: Tensor, grad g: Tensor, locations loc: Tensor) -> (input: Tensor, locations: Tensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let plane = h * w
        var dx = Tensor(zeros: x.shape), dd = Tensor(zeros: [n, 2, h, w])
        for b in 0..<n {
            for p in 0..<plane {
                let px = loc.storage[2 * (b * plane + p)], py = loc.storage[2 * (b * plane + p) + 1]
                let x0 = floorf(px), y0 = floorf(py), fx = px - x0, fy = py - y0
                var gx: Float = 0, gy: Float = 0
                for t in 0..<4 {
                    let right = t & 1 == 1, down = t >= 2
                    let tx = right ? x0 + 1 : x0, ty = down ? y0 + 1 : y0
                    guard tx >= 0, ty >= 0, tx < Float(w), ty < Float(h) else { continue }
                    let wx = right ? fx : 1 - fx, wy = down ? fy : 1 - fy
                    let wt = wx * wy, dwx = (right ? 1 : -1) * wy, dwy = (down ? 1 : -1) * wx
                    let at = Int(ty) * w + Int(tx)
                    for ch in 0..<c {
                        let gv = g.storage[(b * c + ch) * plane + p]
                        dx.storage[(b * c + ch) * plane + at] += wt * gv
                        let xv = x.storage[(b * c + ch) * plane + at]
                        gx += dwx * xv * gv
                        gy += dwy * xv * gv
                    }
                }
                dd.storage[b * 2 * plane + p] = gx
                dd.storage[(b * 2 + 1) * plane + p] = gy
            }
        }
        return (dx, dd)
    }

    public static func convTranspose2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int) -> Tensor {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let oh = (h - 1) * stride + kh, ow = (wd - 1) * stride + kw
        var acc = [Double](repeating: 0, count: n * cout * oh * ow)
        for b in 0..<n { for ci in 0..<cin { for y in 0..<h { for xx in 0..<wd { for o in 0..<cout {
            for ky in 0..<kh { for kx in 0..<kw {
                let oi: Int = ((b * cout + o) * oh + y * stride + ky) * ow + xx * stride + kx
                let xi: Int = ((b * cin + ci) * h + y) * wd + xx
                let wi: Int = ((ci * cout + o) * kh + ky) * kw + kx
                acc[oi] += Double(x.storage[xi]) * Double(w.storage[wi])
            } }
        } } } } }
        var out = Tensor(zeros: [n, cout, oh, ow])
        for i in 0..<acc.count {
            let bv: Float = bias?.storage[(i / (oh * ow)) % cout] ?? 0
            out.storage[i] = Float(acc[i] + Double(bv))
        }
        return out
    }

    public static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Double) -> Tensor {
        let c = x.shape.last!
        var out = x
        for r in 0..<(x.count / c) {
            let row = (0..<c).map { Double(x.storage[r * c + $0]) }
            let mean = row.reduce(0, +) / Double(c)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for i in 0..<c {
                let normed: Double = (row[i] - mean) / (v + eps).squareRoot()
                out.storage[r * c + i] = Float(normed * Double(weight.storage[i]) + Double(bias.storage[i]))
            }
        }
        return out
    }

    /// Bilinear resize written from PyTorch's documented source-index rule.
    public static func bilinear(_ x: Tensor, height oh: Int, width ow: Int, alignCorners: Bool) -> Tensor {
        let (nc, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        func src(_ d: Int, _ inS: Int, _ outS: Int) -> Double {
            if alignCorners { return outS > 1 ? Double(d) * Double(inS - 1) / Double(outS - 1) : 0 }
            return max((Double(d) + 0.5) * Double(inS) / Double(outS) - 0.5, 0)
        }
        var out = Tensor(zeros: [x.shape[0], x.shape[1], oh, ow])
        for p in 0..<nc { for y in 0..<oh { for xx in 0..<ow {
            let sy = src(y, h, oh), sx = src(xx, w, ow)
            let y0 = min(Int(sy), h - 1), x0 = min(Int(sx), w - 1)
            let y1 = min(y0 + 1, h - 1), x1 = min(x0 + 1, w - 1)
            let ly = sy - Double(y0), lx = sx - Double(x0)
            func at(_ yy: Int, _ xq: Int) -> Double { Double(x.storage[(p * h + yy) * w + xq]) }
            let top: Double = (1 - lx) * at(y0, x0) + lx * at(y0, x1)
            let bottom: Double = (1 - lx) * at(y1, x0) + lx * at(y1, x1)
            let v: Double = (1 - ly) * top + ly * bottom
            out.storage[(p * oh + y) * ow + xx] = Float(v)
        } } }
        return out
    }
}
