#if canImport(Glibc)
import Glibc
#endif
internal import CKernels

/// Element-wise maps and arithmetic; the heavy ones run on both cores.
extension Tensor {
    /// Applies `f` to every element, split across workers.
    @inlinable
    public func map(_ f: @escaping @Sendable (Float) -> Float) -> Tensor {
        Tensor(shape: shape) { out in
            let o = SendablePointer(out.baseAddress!)
            withUnsafeBufferPointer { x in
                let xp = SendableConstPointer(x.baseAddress!)
                Parallel.forEach(count, grain: 1 << 14) { r in
                    for i in r { o.pointer[i] = f(xp.pointer[i]) }
                }
            }
        }
    }

    /// Exact GELU, PyTorch's default `nn.GELU()`: `0.5 x (1 + erf(x / √2))`.
    /// Consumes `self`: a temporary (`conv(x).gelu()`) is overwritten in place instead of copied.
    public consuming func gelu() -> Tensor {
        var out = self
        out.geluInPlace()
        return out
    }

    public mutating func geluInPlace() {
        let n = count
        withUnsafeMutableBufferPointer { buf in
            let p = SendablePointer(buf.baseAddress!)
            Parallel.forEach(n / 16 + 1, grain: 1024) { r in
                let lo = r.lowerBound * 16, hi = min(r.upperBound * 16, n)
                guard lo < hi else { return }
                ck_gelu(p.pointer + lo, hi - lo)
            }
        }
    }
    public func relu() -> Tensor { map { max($0, 0) } }

    public func sigmoid() -> Tensor { map { 1 / (1 + expf(-$0)) } }

    /// Same-shape `self + other`, or `other` broadcast when its count divides ours and it
    /// matches our trailing elements (e.g. `[C]` onto `[..., C]`, `[1, N, C]` onto `[B, N, C]`).
    /// `lhs` is consumed, so a temporary on the left is updated in place.
    public static func + (lhs: consuming Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, .add) }
    public static func - (lhs: consuming Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, .subtract) }
    public static func * (lhs: consuming Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, .multiply) }

    public static func * (lhs: consuming Tensor, rhs: Float) -> Tensor {
        var out = lhs
        out.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= rhs } }
        return out
    }

    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }

    enum Combine: Int32 { case add, subtract, multiply }

    /// One pass in C (vectorised; a Swift closure was called per element), split across workers
    /// above ~64k elements.
    consuming func combined(_ other: Tensor, _ op: Combine) -> Tensor {
        let n = count, m = other.count
        precondition(m > 0 && n % m == 0, "broadcast: \(shape) with \(other.shape)")
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            other.withUnsafeBufferPointer { b in
                let (op_, bp) = (SendablePointer(o.baseAddress!), SendableConstPointer(b.baseAddress!))
                // Same shape: any split. Broadcast: whole repetitions of `other`, so that each chunk
                // starts at its element 0.
                let unit = m == n ? 1 : m
                Parallel.forEach(n / unit, grain: max(1, (1 << 16) / unit)) { r in
                    let dst = op_.pointer + r.lowerBound * unit, count = r.count * unit
                    let src = m == n ? bp.pointer + r.lowerBound : bp.pointer, period = m == n ? count : m
                    ck_combine(op.rawValue, dst, count, src, period)
                }
            }
        }
        return out
    }

    /// Adds `bias[c]` to every element of channel c of an `[N, C, H, W]` tensor.
    public consuming func addingChannelBias(_ bias: Tensor) -> Tensor {
        let batch = shape[0], c = shape[1], plane = count / (shape[0] * c)
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            for n in 0..<batch {
                for ch in 0..<c {
                    let v = bias.storage[ch], base = (n * c + ch) * plane
                    for i in 0..<plane { o[base + i] += v }
                }
            }
        }
        return out
    }
}

extension Tensor {
    /// Exact GELU's backward, self being its input and `output` its forward result `gelu()`:
    /// grad ⊙ (Φ(x) + x·φ(x)) with Φ(x) = output / x, in C (`ck_gelu_backward`), split across
    /// workers in contiguous ranges (element-wise, so the result does not depend on the split).
    public func geluBackward(grad: Tensor, output: Tensor) -> Tensor {
        precondition(grad.shape == shape && output.shape == shape, "geluBackward: input \(shape) grad \(grad.shape) output \(output.shape)")
        var out = grad
        withUnsafeBufferPointer { x in
            output.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { g in
                    let xp = SendableConstPointer(x.baseAddress!), yp = SendableConstPointer(y.baseAddress!)
                    let gp = SendablePointer(g.baseAddress!)
                    Parallel.forEach(count, grain: 4096) { range in
                        ck_gelu_backward(xp.pointer + range.lowerBound, yp.pointer + range.lowerBound, gp.pointer + range.lowerBound,
                                         range.count)
                    }
                }
            }
        }
        return out
    }
}
