#if canImport(Glibc)
import Glibc
#endif

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
    public func gelu() -> Tensor { map { 0.5 * $0 * (1 + erff($0 * 0.70710678118654752)) } }
    public func relu() -> Tensor { map { max($0, 0) } }

    /// Exact-form GELU `0.5 x (1 + erf(x / √2))` with erf from Eigen's float rational approximation
    /// (odd degree-13 / even degree-8 polynomials on x clamped to [-4, 4]; |erf error| < 5e-7, so
    /// |GELU error| < 1e-6 against PyTorch's), in a branch-free loop the compiler vectorises: several
    /// times faster than libm's erff, whose slow paths dominate for |x| > 0.84. Used by Stable-SAM's
    /// offset branch, which runs on every decoder call.
    public func geluRationalErf() -> Tensor {
        Tensor(shape: shape) { out in
            let o = SendablePointer(out.baseAddress!)
            withUnsafeBufferPointer { x in
                let xp = SendableConstPointer(x.baseAddress!)
                Parallel.forEach(count, grain: 1 << 15) { r in
                    for i in r {
                        let v = xp.pointer[i]
                        o.pointer[i] = 0.5 * v * (1 + Tensor.erfRational(v * 0.70710678118654752))
                    }
                }
            }
        }
    }

    @inline(__always)
    static func erfRational(_ x0: Float) -> Float {
        let x = min(max(x0, -4), 4), x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }
    public func sigmoid() -> Tensor { map { 1 / (1 + expf(-$0)) } }

    /// Same-shape `self + other`, or `other` broadcast when its count divides ours and it
    /// matches our trailing elements (e.g. `[C]` onto `[..., C]`, `[1, N, C]` onto `[B, N, C]`).
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, +) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, -) }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.combined(rhs, *) }

    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        var out = lhs
        out.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= rhs } }
        return out
    }

    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }

    func combined(_ other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        let n = count, m = other.count
        precondition(m > 0 && n % m == 0, "broadcast: \(shape) with \(other.shape)")
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            other.withUnsafeBufferPointer { b in
                if m == n {
                    for i in 0..<n { o[i] = op(o[i], b[i]) }
                } else {
                    var i = 0
                    while i < n {
                        for j in 0..<m { o[i + j] = op(o[i + j], b[j]) }
                        i += m
                    }
                }
            }
        }
        return out
    }

    /// Adds `bias[c]` to every element of channel c of an `[N, C, H, W]` tensor.
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        let c = shape[1], plane = count / (shape[0] * c)
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            for n in 0..<shape[0] {
                for ch in 0..<c {
                    let v = bias.storage[ch], base = (n * c + ch) * plane
                    for i in 0..<plane { o[base + i] += v }
                }
            }
        }
        return out
    }
}
