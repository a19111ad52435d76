// The multi-head attention core of SAM's decoder (`Attention._separate_heads` ... `_recombine_heads`
// in segment_anything/modeling/transformer.py) between its projections.
import Tensor

extension Variable {
    /// q `[B, Nq, D]`, k and v `[B, Nk, D]` (already projected) -> `[B, Nq, D]`; head h is columns
    /// h·D/heads ..< (h+1)·D/heads, scores scaled by 1/√(D/heads), softmax over the keys.
    /// Per head, with P = softmax(s·QKᵀ): dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowΣ(dP ⊙ P)),
    /// dQ = s·dS K, dK = s·dSᵀ Q.
    public static func attention(q: Variable, k: Variable, v: Variable, heads: Int) -> Variable {
        let (b, nq, d) = (q.shape[0], q.shape[1], q.shape[2]), nk = k.shape[1]
        precondition(k.shape == [b, nk, d] && v.shape == [b, nk, d] && d % heads == 0,
                     "attention: q \(q.shape) k \(k.shape) v \(v.shape) heads \(heads)")
        let hd = d / heads, scale = 1 / Float(hd).squareRoot()
        let (qv, kv, vv) = (q.value, k.value, v.value)
        var probs = Tensor(zeros: [b, heads, nq, nk])   // P, kept for the pullback
        var out = Tensor(zeros: [b, nq, d])
        for i in 0..<b {
            for h in 0..<heads {
                let p = (i * heads + h) * nq * nk, qo = i * nq * d + h * hd, ko = i * nk * d + h * hd
                gemm(transB: true, m: nq, n: nk, k: hd, alpha: scale, qv, qo, lda: d, kv, ko, ldb: d, into: &probs, p, ldc: nk)
                probs.withUnsafeMutableBufferPointer { Tensor.softmaxRowsSerial($0.baseAddress! + p, rows: nq, columns: nk) }
                gemm(m: nq, n: hd, k: nk, probs, p, lda: nk, vv, ko, ldb: d, into: &out, qo, ldc: d)
            }
        }
        return result(out, "attention", [q, k, v]) { g in
            var dq = Tensor(zeros: qv.shape), dk = Tensor(zeros: kv.shape), dv = Tensor(zeros: vv.shape)
            var dp = Tensor(zeros: [nq, nk])
            for i in 0..<b {
                for h in 0..<heads {
                    let p = (i * heads + h) * nq * nk, qo = i * nq * d + h * hd, ko = i * nk * d + h * hd
                    if v.requiresGrad {
                        gemm(transA: true, m: nk, n: hd, k: nq, probs, p, lda: nk, g, qo, ldb: d, into: &dv, ko, ldc: d)
                    }
                    guard q.requiresGrad || k.requiresGrad else { continue }
                    gemm(transB: true, m: nq, n: nk, k: hd, g, qo, lda: d, vv, ko, ldb: d, into: &dp, ldc: nk)
                    for r in 0..<nq {
                        var dot: Float = 0
                        for j in 0..<nk { dot += dp.storage[r * nk + j] * probs.storage[p + r * nk + j] }
                        for j in 0..<nk { dp.storage[r * nk + j] = probs.storage[p + r * nk + j] * (dp.storage[r * nk + j] - dot) }
                    }
                    if q.requiresGrad {
                        gemm(m: nq, n: hd, k: nk, alpha: scale, dp, lda: nk, kv, ko, ldb: d, into: &dq, qo, ldc: d)
                    }
                    if k.requiresGrad {
                        gemm(transA: true, m: nk, n: hd, k: nq, alpha: scale, dp, lda: nk, qv, qo, ldb: d, into: &dk, ko, ldc: d)
                    }
                }
            }
            return [q.requiresGrad ? dq : nil, k.requiresGrad ? dk : nil, v.requiresGrad ? dv : nil]
        }
    }
}
