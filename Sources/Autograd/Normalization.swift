// LayerNorm over the last axis (`nn.LayerNorm`) and over the channel axis of `[N, C, H, W]`
// (SAM's `LayerNorm2d`), forward on the inference kernels.
import Tensor

extension Variable {
    /// `nn.LayerNorm(C, eps)` over the last axis; weight and bias `[C]`.
    public func layerNorm(_ weight: Variable, _ bias: Variable, eps: Float) -> Variable {
        let c = value.dim(-1)
        let out = value.layerNorm(weight: weight.value, bias: bias.value, eps: eps)
        return layerNormResult(out, "layerNorm", weight, bias, eps: eps, channels: c, plane: 1)
    }

    /// SAM's `LayerNorm2d`: normalises the channels of `[N, C, H, W]` at each pixel (biased variance).
    public func layerNorm2d(_ weight: Variable, _ bias: Variable, eps: Float) -> Variable {
        let (c, plane) = (shape[1], shape[2] * shape[3])
        let out = value.layerNorm2d(weight: weight.value, bias: bias.value, eps: eps)
        return layerNormResult(out, "layerNorm2d", weight, bias, eps: eps, channels: c, plane: plane)
    }

    /// The shared pullback (Tensor.layerNormBackward, in C; NaiveKernels.layerNormBackward is its
    /// reference): with x̂ = (x − μ)·rstd and dx̂ = g·w, dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),
    /// dw = Σ g·x̂, db = Σ g. `plane` is 1 over the last axis, H·W over the channels of `[N, C, H, W]`.
    private func layerNormResult(_ out: Tensor, _ op: String, _ weight: Variable, _ bias: Variable, eps: Float,
                                 channels c: Int, plane: Int) -> Variable {
        let x = value, w = weight.value
        return Variable.result(out, op, [self, weight, bias]) { g in
            let (dx, dw, db) = x.layerNormBackward(grad: g, weight: w, eps: eps, channels: c, plane: plane, input: self.requiresGrad)
            return [dx, weight.requiresGrad ? dw : nil, bias.requiresGrad ? db : nil]
        }
    }
}
