// Port of torch/optim/adam.py `_single_tensor_adam` (the path PyTorch takes for CPU tensors: no
// foreach or fused kernels there), float32 arithmetic in PyTorch's order, scalars in double as the
// Python code computes them.
import Foundation
import Tensor

/// `torch.optim.Adam` (L2 weight decay added to the gradient) or, with `decoupledWeightDecay`,
/// `torch.optim.AdamW` (the parameter shrunk by lr·wd before the update). No amsgrad, no maximize.
public final class Adam {
    public struct Options: Sendable, Equatable {
        public var lr: Double = 1e-3
        public var beta1: Double = 0.9
        public var beta2: Double = 0.999
        public var eps: Double = 1e-8
        public var weightDecay: Double = 0
        /// AdamW's decoupled decay instead of Adam's L2 term.
        public var decoupledWeightDecay = false

        /// PyTorch's defaults: `Adam(lr=1e-3)`; AdamW's own default decay is 1e-2, pass it explicitly.
        public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                    weightDecay: Double = 0, decoupledWeightDecay: Bool = false) {
            self.lr = lr
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
            self.decoupledWeightDecay = decoupledWeightDecay
        }
    }

    public let parameters: [Variable]
    public var options: Options
    /// Steps taken (PyTorch keeps one count per parameter; they move together here).
    public private(set) var step = 0
    /// First and second moments per parameter (`exp_avg`, `exp_avg_sq`), zeros before the first step.
    public private(set) var expAvg: [Tensor]
    public private(set) var expAvgSq: [Tensor]

    public init(_ parameters: [Variable], options: Options = Options()) {
        precondition(parameters.allSatisfy(\.requiresGrad), "Adam: every parameter must require a gradient")
        self.parameters = parameters
        self.options = options
        expAvg = parameters.map { Tensor(zeros: $0.shape) }
        expAvgSq = expAvg
    }

    /// Puts back a saved state (a resumed run): the step count and both moments, in `parameters`
    /// order, so the next `update()` is exactly the one an uninterrupted run would take.
    public func restore(step: Int, expAvg: [Tensor], expAvgSq: [Tensor]) {
        precondition(step >= 0 && expAvg.count == parameters.count && expAvgSq.count == parameters.count,
                     "Adam.restore: \(expAvg.count)/\(expAvgSq.count) moments for \(parameters.count) parameters")
        for (k, p) in parameters.enumerated() {
            precondition(expAvg[k].shape == p.shape && expAvgSq[k].shape == p.shape, "Adam.restore: moment shape for \(p.shape)")
        }
        self.step = step
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
    }

    /// Clears every parameter's gradient (`optimizer.zero_grad()`).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// One update from the parameters' accumulated gradients. A parameter without a gradient is
    /// skipped, as PyTorch skips `p.grad is None`, but the step count still advances for all.
    public func update() {
        step += 1
        let o = options, t = Double(step)
        let beta1 = Float(1 - o.beta1), beta2 = Float(o.beta2), oneMinusBeta2 = Float(1 - o.beta2)
        let wd = Float(o.weightDecay), shrink = Float(1 - o.lr * o.weightDecay)
        let bc1 = 1 - pow(o.beta1, t), bc2 = 1 - pow(o.beta2, t)
        let negStep = Float(-(o.lr / bc1)), bc2Sqrt = Float(bc2.squareRoot()), eps = Float(o.eps)
        for (k, p) in parameters.enumerated() {
            guard var grad = p.grad else { continue }
            precondition(grad.shape == p.shape, "Adam: gradient \(grad.shape) for a parameter \(p.shape)")
            if o.weightDecay != 0 {
                if o.decoupledWeightDecay {
                    p.value = p.value * shrink                                      // param.mul_(1 - lr * wd)
                } else {
                    // grad.add(param, alpha=wd), fused as PyTorch's vector add-with-alpha.
                    for i in 0..<grad.count { grad.storage[i] = grad.storage[i].addingProduct(wd, p.value.storage[i]) }
                }
            }
            var m = expAvg[k], v = expAvgSq[k]
            for i in 0..<grad.count {
                let g = grad.storage[i]
                // exp_avg.lerp_(grad, 1 - beta1): weight < 0.5, so m + w·(g − m), fused as PyTorch's vector lerp.
                m.storage[i] = m.storage[i].addingProduct(beta1, g - m.storage[i])
                v.storage[i] = v.storage[i] * beta2 + oneMinusBeta2 * g * g         // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
                let denom = v.storage[i].squareRoot() / bc2Sqrt + eps              // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
                p.value.storage[i] = p.value.storage[i] + negStep * m.storage[i] / denom   // param.addcdiv_(exp_avg, denom, -step_size)
            }
            expAvg[k] = m
            expAvgSq[k] = v
        }
    }
}
