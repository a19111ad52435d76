// Element-wise arithmetic, route mixing and the raw GEMM the other ops' pullbacks use.
import Tensor

extension Variable {
    /// `lhs + rhs`; `rhs` may broadcast as `Tensor`'s `+` does (its count divides ours and it
    /// repeats over our leading elements: `[C]` onto `[..., C]`, `[1, N, C]` onto `[B, N, C]`).
    public static func + (lhs: Variable, rhs: Variable) -> Variable {
        let (n, m) = (lhs.value.count, rhs.value.count)
        return result(lhs.value + rhs.value, "add", [lhs, rhs]) { g in
            [lhs.requiresGrad ? g : nil,
             rhs.requiresGrad ? (m == n ? g : Variable.foldRepeats(g, period: m)).reshaped(rhs.shape) : nil]
        }
    }

    /// `self * s`.
    public func scaled(by s: Float) -> Variable {
        Variable.result(value * s, "scale", [self]) { g in [g * s] }
    }

    /// Element-wise sum of same-shaped variables (a batch's losses).
    public static func sum(_ xs: [Variable]) -> Variable {
        precondition(!xs.isEmpty && xs.allSatisfy { $0.shape == xs[0].shape }, "sum: \(xs.map(\.shape))")
        var out = xs[0].value
        for x in xs.dropFirst() { out = out + x.value }
        return result(out, "sum", xs) { g in xs.map { $0.requiresGrad ? g : nil } }
    }

    /// `a1 * deformed + a2 * regular` per batch row b, with `(a1, a2) = route[b]`: Stable-SAM's
    /// route mix. deformed `[B, ...]`; regular the same, or `[1, ...]` shared by the batch;
    /// route `[B, 2]`. Each element is `a1 * d + a2 * r` in float, as the inference mix.
    public static func mix(_ deformed: Variable, _ regular: Variable, route: Variable) -> Variable {
        let b = deformed.shape[0], n = deformed.value.count / b
        let shared = regular.shape[0] == 1 && b > 1
        precondition(regular.value.count == (shared ? n : b * n) && route.shape == [b, 2],
                     "mix: deformed \(deformed.shape) regular \(regular.shape) route \(route.shape)")
        let (d, r, a) = (deformed.value.storage, regular.value.storage, route.value.storage)
        var out = deformed.value
        for bi in 0..<b {
            let a1 = a[2 * bi], a2 = a[2 * bi + 1], ro = shared ? 0 : bi * n
            for i in 0..<n { out.storage[bi * n + i] = a1 * d[bi * n + i] + a2 * r[ro + i] }
        }
        return result(out, "mix", [deformed, regular, route]) { g in
            var gd = deformed.requiresGrad ? Tensor(zeros: deformed.shape) : nil
            var gr = regular.requiresGrad ? Tensor(zeros: regular.shape) : nil
            var ga = Tensor(zeros: [b, 2])
            for bi in 0..<b {
                let a1 = a[2 * bi], a2 = a[2 * bi + 1], ro = shared ? 0 : bi * n
                var s1 = 0.0, s2 = 0.0
                for i in 0..<n {
                    let gi = g.storage[bi * n + i]
                    gd?.storage[bi * n + i] = a1 * gi
                    gr?.storage[ro + i] += a2 * gi
                    s1 += Double(gi) * Double(d[bi * n + i])
                    s2 += Double(gi) * Double(r[ro + i])
                }
                ga.storage[2 * bi] = Float(s1)
                ga.storage[2 * bi + 1] = Float(s2)
            }
            return [gd, gr, route.requiresGrad ? ga : nil]
        }
    }

    /// Sums `g` over its consecutive blocks of `period` elements -> `[period]` (a broadcast's pullback).
    static func foldRepeats(_ g: Tensor, period m: Int) -> Tensor {
        var out = Tensor(zeros: [m])
        for start in stride(from: 0, to: g.count, by: m) {
            for i in 0..<m { out.storage[i] += g.storage[start + i] }
        }
        return out
    }
}

/// Row-major `c = alpha * op(a) @ op(b) + beta * c` on matrices inside tensors, at element offsets
/// (heads and batch items are blocks of larger tensors). Every product of the pullbacks runs here,
/// on the engine's GEMM.
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
          _ a: Tensor, _ aOffset: Int = 0, lda: Int, _ b: Tensor, _ bOffset: Int = 0, ldb: Int,
          beta: Float = 0, into c: inout Tensor, _ cOffset: Int = 0, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {   // an empty sum: alpha * 0 + beta * c
        for i in 0..<m { for j in 0..<n { c.storage[cOffset + i * ldc + j] *= beta } }
        return
    }
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                           a: ap.baseAddress! + aOffset, lda: lda, b: bp.baseAddress! + bOffset, ldb: ldb,
                           beta: beta, c: cp.baseAddress! + cOffset, ldc: ldc)
            }
        }
    }
}
