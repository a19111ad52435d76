import Tensor

/// `nn.BatchNorm2d` in inference mode: `y = (x - running_mean) / √(running_var + eps) · weight + bias`.
/// It is never run on activations here: it only exists to be folded into the convolution before it
/// (`Conv2d_BN` in MobileSAM), which turns it into a per-channel scale of the weights plus a bias.
/// `num_batches_tracked` (a training counter) is not a parameter: loaders skip it.
public final class BatchNorm2d: Layer {
    public var weight: Tensor        // weight [C]
    public var bias: Tensor          // bias [C]
    public var runningMean: Tensor   // running_mean [C]
    public var runningVar: Tensor    // running_var [C]
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [channels])
        bias = Tensor(zeros: [channels])
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(repeating: 1, shape: [channels])
        self.eps = eps
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
        try walk.param("running_mean", &runningMean)
        try walk.param("running_var", &runningVar)
    }

    /// The convolution `conv ∘ bn` as one convolution: weight `[O, ...]` scaled per output channel,
    /// bias `bn.bias - mean · scale` (plus the conv's own bias scaled, when it has one).
    /// Computed in Double so the folded weights round once, like PyTorch's float32 math to within 1 ulp.
    public func folded(convWeight: Tensor, convBias: Tensor?) -> (weight: Tensor, bias: Tensor) {
        let c = weight.count
        precondition(convWeight.shape[0] == c, "BatchNorm2d(\(c)) after a conv with \(convWeight.shape[0]) outputs")
        let per = convWeight.count / c
        var w = convWeight
        var b = Tensor(zeros: [c])
        for o in 0..<c {
            let scale = Double(weight.storage[o]) / (Double(runningVar.storage[o]) + Double(eps)).squareRoot()
            for i in 0..<per { w.storage[o * per + i] = Float(Double(convWeight.storage[o * per + i]) * scale) }
            let cb = Double(convBias?.storage[o] ?? 0)
            b.storage[o] = Float(Double(bias.storage[o]) + (cb - Double(runningMean.storage[o])) * scale)
        }
        return (w, b)
    }
}
