internal import CKernels

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
                            ck_layernorm_rows(xp.pointer + r.lowerBound * c, o.pointer + r.lowerBound * c,
                                              wp.pointer, bp.pointer, r.count, c, eps)
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

    /// In-place softmax on the calling thread only (for code already running on a worker).
    public static func softmaxRowsSerial(_ p: UnsafeMutablePointer<Float>, rows: Int, columns c: Int) {
        ck_softmax_rows(p, rows, c)
    }

    /// In-place softmax of `rows` contiguous rows of `columns` values, rows split across workers.
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, columns c: Int) {
        let o = SendablePointer(p)
        Parallel.forEach(rows, grain: max(1, 8192 / c)) { r in
            ck_softmax_rows(o.pointer + r.lowerBound * c, r.count, c)
        }
    }
}

extension Tensor {
    /// LayerNorm's gradients, self being its input: over the last axis (`plane` 1, rows of
    /// `channels`) or over the channels of `[N, C, H, W]` (`plane` H·W, SAM's LayerNorm2d). Returns
    /// dInput (if `input`), dWeight and dBias; double accumulation, rows in order (`ck_layernorm_backward`).
    public func layerNormBackward(grad: Tensor, weight: Tensor, eps: Float, channels c: Int, plane: Int,
                                  input needInput: Bool) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        precondition(grad.shape == shape && weight.count == c && count % (c * plane) == 0,
                     "layerNormBackward: input \(shape) grad \(grad.shape) weight \(weight.shape) channels \(c) plane \(plane)")
        let rows = count / c
        var dx = needInput ? Tensor(zeros: shape) : nil
        var dw = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
        var scratch = [Double](repeating: 0, count: 2 * c)
        withUnsafeBufferPointer { x in
            grad.withUnsafeBufferPointer { g in
                weight.withUnsafeBufferPointer { w in
                    func run(_ out: UnsafeMutablePointer<Float>?) {
                        ck_layernorm_backward(x.baseAddress!, g.baseAddress!, w.baseAddress!, rows, c, plane, eps, out, &dw, &db, &scratch)
                    }
                    if dx != nil { dx!.withUnsafeMutableBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                }
            }
        }
        return (dx, Tensor(shape: weight.shape, storage: dw.map(Float.init)), Tensor(shape: weight.shape, storage: db.map(Float.init)))
    }
}
