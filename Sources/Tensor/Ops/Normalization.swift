#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// `nn.LayerNorm` over the last dimension (biased variance, as PyTorch).
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let c = dim(-1), rows = count / c
        precondition(weight.count == c && bias.count == c, "layerNorm: \(shape) vs \(weight.shape)")
        return Tensor(shape: shape) { out in
            let o = SendablePointer(out.baseAddress!)
            withUnsafeBufferPointer { x in
                let xp = SendableConstPointer(x.baseAddress!)
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        let wp = SendableConstPointer(w.baseAddress!), bp = SendableConstPointer(b.baseAddress!)
                        Parallel.forEach(rows, grain: max(1, 8192 / c)) { r in
                            for row in r {
                                let src = xp.pointer + row * c, dst = o.pointer + row * c
                                var mean: Float = 0
                                for i in 0..<c { mean += src[i] }
                                mean /= Float(c)
                                var v: Float = 0
                                for i in 0..<c { let d = src[i] - mean; v += d * d }
                                let inv = 1 / (v / Float(c) + eps).squareRoot()
                                for i in 0..<c { dst[i] = (src[i] - mean) * inv * wp.pointer[i] + bp.pointer[i] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// SAM's `LayerNorm2d`: normalises the channel dimension of `[N, C, H, W]` at each pixel.
    public func layerNorm2d(weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let n = shape[0], c = shape[1], plane = shape[2] * shape[3]
        precondition(weight.count == c && bias.count == c, "layerNorm2d: \(shape) vs \(weight.shape)")
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            var mean = [Float](repeating: 0, count: plane), variance = [Float](repeating: 0, count: plane)
            for b in 0..<n {
                let base = o.baseAddress! + b * c * plane
                for i in 0..<plane { mean[i] = 0; variance[i] = 0 }
                for ch in 0..<c { let p = base + ch * plane; for i in 0..<plane { mean[i] += p[i] } }
                for i in 0..<plane { mean[i] /= Float(c) }
                for ch in 0..<c {
                    let p = base + ch * plane
                    for i in 0..<plane { let d = p[i] - mean[i]; variance[i] += d * d }
                }
                for i in 0..<plane { variance[i] = 1 / (variance[i] / Float(c) + eps).squareRoot() }
                for ch in 0..<c {
                    let p = base + ch * plane, w = weight.storage[ch], bb = bias.storage[ch]
                    for i in 0..<plane { p[i] = (p[i] - mean[i]) * variance[i] * w + bb }
                }
            }
        }
        return out
    }

    /// Softmax over the last dimension (max-subtracted, as PyTorch).
    public func softmax() -> Tensor {
        var out = self
        out.softmaxInPlace()
        return out
    }

    public mutating func softmaxInPlace() {
        let c = dim(-1), rows = count / c
        withUnsafeMutableBufferPointer { buf in Tensor.softmaxRows(buf.baseAddress!, rows: rows, columns: c) }
    }

    /// In-place softmax of `rows` contiguous rows of `columns` values.
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, columns c: Int) {
        let o = SendablePointer(p)
        Parallel.forEach(rows, grain: max(1, 8192 / c)) { r in
            for row in r { softmaxRow(o.pointer + row * c, count: c) }
        }
    }

    /// max-subtract, exponentiate and normalise one row, 16 lanes at a time.
    @inline(__always)
    static func softmaxRow(_ p: UnsafeMutablePointer<Float>, count c: Int) {
        var mx = -Float.infinity
        var i = 0
        var vmax = VectorMath.V(repeating: -.infinity)
        while i + 16 <= c { vmax = pointwiseMax(vmax, UnsafeRawPointer(p + i).loadUnaligned(as: VectorMath.V.self)); i += 16 }
        mx = vmax.max()
        while i < c { mx = max(mx, p[i]); i += 1 }
        let shift = VectorMath.V(repeating: mx)
        var vsum = VectorMath.V(repeating: 0)
        i = 0
        while i + 16 <= c {
            let e = VectorMath.exp(UnsafeRawPointer(p + i).loadUnaligned(as: VectorMath.V.self) - shift)
            UnsafeMutableRawPointer(p + i).storeBytes(of: e, as: VectorMath.V.self)
            vsum += e
            i += 16
        }
        var s = vsum.sum()
        while i < c { let e = expf(p[i] - mx); p[i] = e; s += e; i += 1 }
        let inv = VectorMath.V(repeating: 1 / s)
        i = 0
        while i + 16 <= c {
            UnsafeMutableRawPointer(p + i).storeBytes(of: UnsafeRawPointer(p + i).loadUnaligned(as: VectorMath.V.self) * inv, as: VectorMath.V.self)
            i += 16
        }
        while i < c { p[i] *= 1 / s; i += 1 }
    }
}
