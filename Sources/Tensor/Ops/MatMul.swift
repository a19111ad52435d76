/// Matrix products, all on BLAS GEMM.
extension Tensor {
    /// PyTorch `F.linear`: `x [..., in] @ weightᵀ + bias`; weight `[out, in]` as stored in checkpoints.
    /// `gelu` applies exact GELU to the result in the same pass (`F.gelu(F.linear(...))`).
    /// `packedWeight` (from `PackedOperand.linearWeight(weight)`) skips packing the weight again.
    public func linear(_ weight: Tensor, _ bias: Tensor?, gelu: Bool = false, packedWeight: PackedOperand? = nil) -> Tensor {
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(dim(-1) == inF, "linear: input \(shape) vs weight \(weight.shape)")
        precondition(bias == nil || bias!.count == outF, "linear: bias \(bias!.shape) for \(outF) outputs")
        let rows = count / inF
        var outShape = shape
        outShape[outShape.count - 1] = outF
        return Tensor(shape: outShape) { out in
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    Tensor.withOptionalPointer(bias) { b in
                        let epilogue = GemmEpilogue(columnBias: b, gelu: gelu)
                        if let packedWeight {
                            precondition(packedWeight.k == inF && packedWeight.n == outF, "linear: packed weight of another shape")
                            BLAS.sgemm(m: rows, packed: packedWeight, a: x.baseAddress!, lda: inF, c: out.baseAddress!,
                                       ldc: outF, epilogue: epilogue)
                        } else {
                            BLAS.sgemm(transB: true, m: rows, n: outF, k: inF, a: x.baseAddress!, lda: inF,
                                       b: w.baseAddress!, ldb: inF, c: out.baseAddress!, ldc: outF, epilogue: epilogue)
                        }
                    }
                }
            }
        }
    }

    /// `body` gets the tensor's storage, or nil without a tensor.
    static func withOptionalPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let t else { return body(nil) }
        return t.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Batched `self [..., m, k] @ other [..., k, n]` (or with `other` transposed: `[..., n, k]`).
    /// Leading dimensions must match, or `other` may be a single matrix shared by the batch.
    public func matmul(_ other: Tensor, transposeOther: Bool = false, alpha: Float = 1) -> Tensor {
        let m = dim(-2), k = dim(-1)
        let n = transposeOther ? other.dim(-2) : other.dim(-1)
        precondition((transposeOther ? other.dim(-1) : other.dim(-2)) == k, "matmul: \(shape) x \(other.shape)")
        let batch = count / (m * k)
        let otherBatch = other.count / (k * n)
        precondition(otherBatch == batch || otherBatch == 1, "matmul batch: \(shape) x \(other.shape)")
        var outShape = Array(shape.dropLast(2))
        outShape += [m, n]
        return Tensor(shape: outShape) { out in
            withUnsafeBufferPointer { a in
                other.withUnsafeBufferPointer { b in
                    let (ap, bp, op) = (SendableConstPointer(a.baseAddress!), SendableConstPointer(b.baseAddress!),
                                        SendablePointer(out.baseAddress!))
                    // Several heads: one product per worker. One product: let sgemm split it.
                    let perWorker = batch > 1
                    let run: @Sendable (Int) -> Void = { i in
                        BLAS.sgemm(transB: transposeOther, m: m, n: n, k: k, alpha: alpha,
                                   a: ap.pointer + i * m * k, lda: k,
                                   b: bp.pointer + (otherBatch == 1 ? 0 : i * k * n),
                                   ldb: transposeOther ? k : n, c: op.pointer + i * m * n, ldc: n, serial: perWorker)
                    }
                    if perWorker {
                        BLAS.independentProblems(batch, scratch: 0) { i, _ in run(i) }
                    } else {
                        run(0)
                    }
                }
            }
        }
    }
}
