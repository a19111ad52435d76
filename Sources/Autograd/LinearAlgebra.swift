// Products: `F.linear` and batched matmul, forward on the inference kernels.
import Tensor

extension Variable {
    /// `F.linear`: x `[..., in]` @ weightᵀ + bias, weight `[out, in]`, bias `[out]`.
    /// Pullback: dx = g W, dW = gᵀ x, db = Σ_rows g.
    public func linear(_ weight: Variable, _ bias: Variable? = nil) -> Variable {
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        let rows = value.count / inF
        let x = value, w = weight.value
        let parents = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.result(x.linear(w, bias?.value), "linear", parents) { g in
            var dx: Tensor?, dw: Tensor?, db: Tensor?
            if self.requiresGrad {
                var t = Tensor(zeros: x.shape)
                gemm(m: rows, n: inF, k: outF, g, lda: outF, w, ldb: inF, into: &t, ldc: inF)
                dx = t
            }
            if weight.requiresGrad {
                var t = Tensor(zeros: w.shape)
                gemm(transA: true, m: outF, n: inF, k: rows, g, lda: outF, x, ldb: inF, into: &t, ldc: inF)
                dw = t
            }
            if let bias, bias.requiresGrad { db = Variable.foldRepeats(g, period: outF).reshaped(bias.shape) }
            return [dx, dw] + (bias == nil ? [] : [db])
        }
    }

    /// Batched `self [..., m, k] @ other [..., k, n]`; `other` may be one `[k, n]` matrix shared by the batch.
    /// Pullback: dA = g Bᵀ, dB = Aᵀ g (summed over the batch when shared).
    public func matmul(_ other: Variable) -> Variable {
        let (m, k, n) = (value.dim(-2), value.dim(-1), other.value.dim(-1))
        let batch = value.count / (m * k), shared = other.value.count == k * n && batch > 1
        let a = value, b = other.value
        return Variable.result(a.matmul(b), "matmul", [self, other]) { g in
            var da: Tensor?, db: Tensor?
            if self.requiresGrad {
                var t = Tensor(zeros: a.shape)
                for i in 0..<batch {
                    gemm(transB: true, m: m, n: k, k: n, g, i * m * n, lda: n, b, shared ? 0 : i * k * n, ldb: n,
                         into: &t, i * m * k, ldc: k)
                }
                da = t
            }
            if other.requiresGrad {
                var t = Tensor(zeros: b.shape)
                for i in 0..<batch {
                    gemm(transA: true, m: k, n: n, k: m, a, i * m * k, lda: k, g, i * m * n, ldb: n,
                         beta: shared && i > 0 ? 1 : 0, into: &t, shared ? 0 : i * k * n, ldc: n)
                }
                db = t
            }
            return [da, db]
        }
    }
}
