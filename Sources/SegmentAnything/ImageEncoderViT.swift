// Port of segment_anything/modeling/image_encoder.py
import NN
import Tensor

/// Configuration of SAM's ViT image encoder; `SamCheckpointInspector` infers it from the weights.
public struct ViTConfig: Codable, Sendable, Equatable {
    public var imgSize = 1024
    public var patchSize = 16
    public var inChans = 3
    public var embedDim = 768
    public var depth = 12
    public var numHeads = 12
    public var mlpDim = 3072
    public var outChans = 256
    public var qkvBias = true
    public var useAbsPos = true
    public var useRelPos = true
    public var windowSize = 14
    public var globalAttnIndexes = [2, 5, 8, 11]

    public init() {}

    /// Side of the patch grid, e.g. 64 for 1024 / 16.
    public var gridSize: Int { imgSize / patchSize }

    public static let vitB = ViTConfig()
    public static var vitL: ViTConfig {
        var c = ViTConfig(); c.embedDim = 1024; c.depth = 24; c.numHeads = 16; c.mlpDim = 4096
        c.globalAttnIndexes = [5, 11, 17, 23]; return c
    }
    public static var vitH: ViTConfig {
        var c = ViTConfig(); c.embedDim = 1280; c.depth = 32; c.numHeads = 16; c.mlpDim = 5120
        c.globalAttnIndexes = [7, 15, 23, 31]; return c
    }
}

/// `PatchEmbed`: a `patch x patch` stride-`patch` convolution, output channels-last.
public final class PatchEmbed: Layer {
    public let proj: Conv2d

    init(patch: Int, inChans: Int, embedDim: Int) {
        proj = Conv2d(inChans, embedDim, kernel: patch, stride: patch)
    }

    public func visit(_ walk: ParameterWalk) throws { try walk.module("proj", proj) }

    /// x: [B, 3, S, S] -> [B, S/p, S/p, embed]
    public func callAsFunction(_ x: Tensor) -> Tensor { proj(x).permuted([0, 2, 3, 1]) }
}

/// `MLPBlock` (common.py): lin1 -> act -> lin2. GELU in the image encoder, ReLU in the decoder.
public final class MLPBlock: Layer {
    public enum Activation: Sendable { case gelu, relu }
    public let lin1: Linear, lin2: Linear
    public let activation: Activation

    init(embeddingDim: Int, mlpDim: Int, activation: Activation) {
        lin1 = Linear(embeddingDim, mlpDim)
        lin2 = Linear(mlpDim, embeddingDim)
        self.activation = activation
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("lin1", lin1)
        try walk.module("lin2", lin2)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        lin2(activation == .gelu ? lin1(x, gelu: true) : lin1(x).relu())
    }
}

/// A transformer block with optional windowed attention.
public final class ViTBlock: Layer {
    public let norm1: LayerNorm, attn: ViTAttention, norm2: LayerNorm, mlp: MLPBlock
    let windowSize: Int

    init(dim: Int, numHeads: Int, mlpDim: Int, qkvBias: Bool, useRelPos: Bool, windowSize: Int, inputSize: Int) {
        norm1 = LayerNorm(dim, eps: 1e-6)
        let attnSize = windowSize == 0 ? inputSize : windowSize
        attn = ViTAttention(dim: dim, numHeads: numHeads, qkvBias: qkvBias, useRelPos: useRelPos,
                            inputSize: (attnSize, attnSize))
        norm2 = LayerNorm(dim, eps: 1e-6)
        mlp = MLPBlock(embeddingDim: dim, mlpDim: mlpDim, activation: .gelu)
        self.windowSize = windowSize
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("norm1", norm1)
        try walk.module("attn", attn)
        try walk.module("norm2", norm2)
        try walk.module("mlp", mlp)
    }

    /// x: [B, H, W, C] -> [B, H, W, C]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = norm1(x)
        if windowSize > 0 {
            let (windows, padded) = windowPartition(h, windowSize)
            h = windowUnpartition(attn(windows), windowSize, padded: padded, original: (x.shape[1], x.shape[2]))
        } else {
            h = attn(h)
        }
        let y = x + h
        return y + mlp(norm2(y))
    }
}

/// Splits `[B, H, W, C]` into `[B * nWindows, ws, ws, C]`, zero-padding H and W up to multiples of ws.
func windowPartition(_ x: Tensor, _ ws: Int) -> (Tensor, (Int, Int)) {
    let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let hp = (h + ws - 1) / ws * ws, wp = (w + ws - 1) / ws * ws
    let padded = x.paddedBHWC(toHeight: hp, width: wp)
    let windows = padded.reshaped([b, hp / ws, ws, wp / ws, ws, c]).permuted([0, 1, 3, 2, 4, 5])
    return (windows.reshaped([-1, ws, ws, c]), (hp, wp))
}

/// Inverse of `windowPartition`, dropping the padding.
func windowUnpartition(_ windows: Tensor, _ ws: Int, padded: (Int, Int), original: (Int, Int)) -> Tensor {
    let (hp, wp) = padded, c = windows.shape[3]
    let b = windows.shape[0] / (hp * wp / ws / ws)
    let x = windows.reshaped([b, hp / ws, wp / ws, ws, ws, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([b, hp, wp, c])
    return x.croppedBHWC(height: original.0, width: original.1)
}

/// SAM's image encoder.
public final class ImageEncoderViT: Layer {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbed
    public var posEmbed: Tensor?   // pos_embed [1, S/p, S/p, embed]
    public let blocks: [ViTBlock]
    // neck: Conv2d(embed, out, 1, bias=False), LayerNorm2d, Conv2d(out, out, 3, pad 1, bias=False), LayerNorm2d
    public let neck0: Conv2d, neck1: LayerNorm2d, neck2: Conv2d, neck3: LayerNorm2d

    public init(_ config: ViTConfig) {
        self.config = config
        let g = config.gridSize
        patchEmbed = PatchEmbed(patch: config.patchSize, inChans: config.inChans, embedDim: config.embedDim)
        posEmbed = config.useAbsPos ? Tensor(zeros: [1, g, g, config.embedDim]) : nil
        blocks = (0..<config.depth).map { i in
            ViTBlock(dim: config.embedDim, numHeads: config.numHeads, mlpDim: config.mlpDim, qkvBias: config.qkvBias,
                     useRelPos: config.useRelPos,
                     windowSize: config.globalAttnIndexes.contains(i) ? 0 : config.windowSize, inputSize: g)
        }
        neck0 = Conv2d(config.embedDim, config.outChans, kernel: 1, bias: false)
        neck1 = LayerNorm2d(config.outChans)
        neck2 = Conv2d(config.outChans, config.outChans, kernel: 3, padding: 1, bias: false)
        neck3 = LayerNorm2d(config.outChans)
    }

    public func visit(_ walk: ParameterWalk) throws {
        if posEmbed != nil { try walk.param("pos_embed", &posEmbed!) }
        try walk.module("patch_embed", patchEmbed)
        try walk.modules("blocks", blocks)
        try walk.modules("neck", [neck0, neck1, neck2, neck3])
    }

    /// x: [B, 3, S, S] preprocessed image -> [B, outChans, S/p, S/p] image embedding
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = patchEmbed(x)
        if let posEmbed { h = h + posEmbed }
        for block in blocks { h = block(h) }
        return neck3(neck2(neck1(neck0(h.permuted([0, 3, 1, 2])))))
    }
}
