import Synchronization
import Tensor

/// `nn.Linear`: weight `[out, in]`, bias `[out]`.
public final class Linear: Layer {
    /// Setting a new weight drops the packed copy; it is packed again on the next call.
    public var weight: Tensor { didSet { packed.withLock { $0 = [:] } } }
    public var bias: Tensor?
    /// The weight packed for the GEMM kernel on first use in each precision (`BLAS.precision`; a
    /// nil value where there is no such kernel).
    private let packed = Mutex<[Precision: PackedOperand?]>([:])

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Tensor(zeros: [outFeatures, inFeatures])
        self.bias = bias ? Tensor(zeros: [outFeatures]) : nil
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        if bias != nil { try walk.param("bias", &bias!) }
    }

    /// x: [..., in] -> [..., out]; `gelu` applies GELU in the product's own pass.
    public func callAsFunction(_ x: Tensor, gelu: Bool = false) -> Tensor {
        let precision = BLAS.precision
        let w = packed.withLock { cached in
            if case .some(let p) = cached[precision] { return p }
            let p = PackedOperand.linearWeight(weight, precision: precision)
            cached[precision] = .some(p)
            return p
        }
        return x.linear(weight, bias, gelu: gelu, packedWeight: w)
    }
}

/// `nn.Conv2d`: weight `[O, I/groups, kH, kW]`.
public final class Conv2d: Layer {
    public var weight: Tensor
    public var bias: Tensor?
    public let stride: Int, padding: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true) {
        weight = Tensor(zeros: [outChannels, inChannels / groups, kernel, kernel])
        self.bias = bias ? Tensor(zeros: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        if bias != nil { try walk.param("bias", &bias!) }
    }

    /// x: [N, C, H, W] -> [N, O, H', W']; `gelu` applies GELU in the product's own pass.
    public func callAsFunction(_ x: Tensor, gelu: Bool = false) -> Tensor {
        x.conv2d(weight, bias, stride: stride, padding: padding, groups: groups, gelu: gelu)
    }
}

/// `nn.ConvTranspose2d` with kernel == stride: weight `[I, O, k, k]`.
public final class ConvTranspose2d: Layer {
    public var weight: Tensor
    public var bias: Tensor?
    public let stride: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, bias: Bool = true) {
        precondition(kernel == stride, "only non-overlapping transposed convolutions are supported")
        weight = Tensor(zeros: [inChannels, outChannels, kernel, kernel])
        self.bias = bias ? Tensor(zeros: [outChannels]) : nil
        self.stride = stride
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        if bias != nil { try walk.param("bias", &bias!) }
    }

    /// x: [N, I, H, W] -> [N, O, kH, kW]
    /// `gelu` applies GELU in the product's own pass.
    public func callAsFunction(_ x: Tensor, gelu: Bool = false) -> Tensor {
        x.convTranspose2d(weight, bias, stride: stride, gelu: gelu)
    }
}

/// `nn.LayerNorm` over the last dimension.
public final class LayerNorm: Layer {
    public var weight: Tensor
    public var bias: Tensor
    public let eps: Float

    /// PyTorch's default eps is 1e-5; SAM's image encoder uses 1e-6.
    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [dim])
        bias = Tensor(zeros: [dim])
        self.eps = eps
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// SAM's `LayerNorm2d` (segment_anything/modeling/common.py): channel norm of `[N, C, H, W]`, eps 1e-6.
public final class LayerNorm2d: Layer {
    public var weight: Tensor
    public var bias: Tensor
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-6) {
        weight = Tensor(repeating: 1, shape: [channels])
        bias = Tensor(zeros: [channels])
        self.eps = eps
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm2d(weight: weight, bias: bias, eps: eps) }
}

/// `nn.Embedding`: weight `[count, dim]`; SAM uses it as a bag of learned vectors.
public final class Embedding: Layer {
    public var weight: Tensor

    public init(_ count: Int, _ dim: Int) { weight = Tensor(zeros: [count, dim]) }

    public func visit(_ walk: ParameterWalk) throws { try walk.param("weight", &weight) }

    /// Row `i` as `[dim]`.
    public func row(_ i: Int) -> Tensor { weight.slice(axis: 0, i..<(i + 1)).reshaped([weight.shape[1]]) }
}
