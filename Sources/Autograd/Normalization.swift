// LayerNorm over the last axis (`nn.LayerNorm`) and over the channel axis of `[N, C, H, W]`
// (SAM's `LayerNorm2d`), forward on the inference kernels.
import Tensor

extension Variable {
    /// `nn.LayerNorm(C, eps)` over the last axis; weight and bias `[C]`.
    public func layerNorm(_ weight: Variable, _ bias: Variable, eps: Float) -> Variable {
        let c = value.dim(-1)
        let out = value.layerNorm(weight: weight.value, bias: bias.value, eps: eps)
        return layerNormResult(out, "layerNorm", weight, bias, eps: eps, rows: value.count / c, channels: c) { r in (r * c, 1) }
    }

    /// SAM's `LayerNorm2d`: normalises the channels of `[N, C, H, W]` at each pixel (biased variance).
    public func layerNorm2d(_ weight: Variable, _ bias: Variable, eps: Float) -> Variable {
        let (c, plane) = (shape[1], shape[2] * shape[3])
        let out = value.layerNorm2d(weight: weight.value, bias: bias.value, eps: eps)
        return layerNormResult(out, "layerNorm2d", weight, bias, eps: eps, rows: value.count / c, channels: c) { r in
            ((r / plane) * c * plane + r % plane, plane)
        }
    }

    /// The shared pullback. Row r's channel j lives at `start + j·stride` with `(start, stride) = layout(r)`.
    /// With x̂ = (x − μ)·rstd and dx̂ = g·w: dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dw = Σ g·x̂, db = Σ g.
    private func layerNormResult(_ out: Tensor, _ op: String, _ weight: Variable, _ bias: Variable, eps: Float,
                                 rows: Int, channels c: Int, layout: @escaping (Int) -> (Int, Int)) -> Variable {
        let x = value, w = weight.value
        return Variable.result(out, op, [self, weight, bias]) { g in
            var dx = self.requiresGrad ? Tensor(zeros: x.shape) : nil
            var dw = [Double](repeating: 0, count: c), db = [Double](repeating: 0, count: c)
            var xhat = [Double](repeating: 0, count: c), dxhat = [Double](repeating: 0, count: c)
            for r in 0..<rows {
                let (start, stride) = layout(r)
                var mean = 0.0
                for j in 0..<c { mean += Double(x.storage[start + j * stride]) }
                mean /= Double(c)
                var variance = 0.0
                for j in 0..<c { let d = Double(x.storage[start + j * stride]) - mean; variance += d * d }
                let rstd = 1 / (variance / Double(c) + Double(eps)).squareRoot()
                var meanD = 0.0, meanDX = 0.0
                for j in 0..<c {
                    let i = start + j * stride, gi = Double(g.storage[i])
                    xhat[j] = (Double(x.storage[i]) - mean) * rstd
                    dxhat[j] = gi * Double(w.storage[j])
                    meanD += dxhat[j]
                    meanDX += dxhat[j] * xhat[j]
                    dw[j] += gi * xhat[j]
                    db[j] += gi
                }
                meanD /= Double(c)
                meanDX /= Double(c)
                if dx != nil {
                    for j in 0..<c { dx!.storage[start + j * stride] = Float(rstd * (dxhat[j] - meanD - xhat[j] * meanDX)) }
                }
            }
            return [dx,
                    weight.requiresGrad ? Tensor(shape: w.shape, storage: dw.map(Float.init)) : nil,
                    bias.requiresGrad ? Tensor(shape: bias.shape, storage: db.map(Float.init)) : nil]
        }
    }
}
