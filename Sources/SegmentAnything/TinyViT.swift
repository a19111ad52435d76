// Port of mobile_sam/modeling/tiny_vit_sam.py (MobileSAM's image encoder)
import NN
import Tensor

/// MobileSAM's image encoder: a convolutional stem and MBConv stage at 1/4 resolution, then windowed
/// attention stages with learned offset biases, `PatchMerging` between stages, and SAM's neck.
/// Layouts: `[B, C, H, W]` inside convolutional parts, tokens `[B, H*W, C]` between stages.
public final class TinyViT: ImageEncoding {
    public let config: TinyViTConfig
    public let patchEmbed: PatchEmbed
    public let layers: [any TinyViTStage]   // ConvLayer, then BasicLayer...
    /// Classifier of the ImageNet model MobileSAM was distilled from: stored, loaded, never run.
    public let normHead: LayerNorm
    public let head: Linear?
    // neck: Conv2d(C, out, 1, bias=False), LayerNorm2d, Conv2d(out, out, 3, pad 1, bias=False), LayerNorm2d
    public let neck0: Conv2d, neck1: LayerNorm2d, neck2: Conv2d, neck3: LayerNorm2d

    public init(_ config: TinyViTConfig) {
        precondition(config.embedDims.count >= 2, "TinyViT needs a convolutional stage and at least one attention stage")
        self.config = config
        let dims = config.embedDims, res = config.stageResolutions, last = dims.count - 1
        patchEmbed = PatchEmbed(inChans: config.inChans, embedDim: dims[0])
        var layers: [any TinyViTStage] = [
            ConvLayer(dim: dims[0], depth: config.depths[0], outDim: dims[1], resolution: res[0],
                      expandRatio: config.mbconvExpandRatio)
        ]
        for i in 1...last {
            layers.append(BasicLayer(dim: dims[i], resolution: res[i], depth: config.depths[i], numHeads: config.numHeads[i],
                                     windowSize: config.windowSizes[i], mlpRatio: config.mlpRatio,
                                     localConvSize: config.localConvSize, outDim: i < last ? dims[i + 1] : nil))
        }
        self.layers = layers
        normHead = LayerNorm(dims[last])
        head = config.numClasses > 0 ? Linear(dims[last], config.numClasses) : nil
        neck0 = Conv2d(dims[last], config.outChans, kernel: 1, bias: false)
        neck1 = LayerNorm2d(config.outChans)
        neck2 = Conv2d(config.outChans, config.outChans, kernel: 3, padding: 1, bias: false)
        neck3 = LayerNorm2d(config.outChans)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("patch_embed", patchEmbed)
        try walk.modules("layers", layers)
        try walk.module("norm_head", normHead)
        if let head { try walk.module("head", head) }
        try walk.modules("neck", [neck0, neck1, neck2, neck3])
    }

    /// x: [B, 3, S, S] preprocessed image -> [B, outChans, S/16, S/16] image embedding
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = patchEmbed(x)
        for layer in layers { h = layer(h) }
        // The reference views the tokens as a hard-coded 64x64 grid (1024 px input); the grid here is the
        // last stage's, which is the same number wherever the reference runs.
        let g = config.gridSize
        let grid = h.reshaped([x.shape[0], g, g, h.shape[2]]).permuted([0, 3, 1, 2])
        return neck3(neck2(neck1(neck0(grid))))
    }
}

/// A stage of `TinyViT.layers`: ConvLayer (`[B, C, H, W]` in) or BasicLayer (tokens in); tokens out.
public protocol TinyViTStage: Layer {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension TinyViT {
    /// `Conv2d_BN`: a bias-free convolution followed by BatchNorm2d (running statistics).
    /// The pair runs as one convolution whose weights have the norm folded in (computed on first use and
    /// dropped whenever the parameters are walked, which is how loading and randomising write them).
    public final class Conv2d_BN: Layer {
        public let c: Conv2d
        public let bn: BatchNorm2d
        private var fused: (weight: Tensor, bias: Tensor)?

        init(_ a: Int, _ b: Int, ks: Int = 1, stride: Int = 1, pad: Int = 0, groups: Int = 1) {
            c = Conv2d(a, b, kernel: ks, stride: stride, padding: pad, groups: groups, bias: false)
            bn = BatchNorm2d(b)
        }

        public func visit(_ walk: ParameterWalk) throws {
            fused = nil
            try walk.module("c", c)
            try walk.module("bn", bn)
        }

        /// x: [B, a, H, W] -> [B, b, H', W']; `gelu` applies GELU in the convolution's own pass.
        public func callAsFunction(_ x: Tensor, gelu: Bool = false) -> Tensor {
            let f = fused ?? bn.folded(convWeight: c.weight, convBias: c.bias)
            fused = f
            return x.conv2d(f.weight, f.bias, stride: c.stride, padding: c.padding, groups: c.groups, gelu: gelu)
        }
    }

    /// `PatchEmbed`: two stride-2 3x3 `Conv2d_BN` with GELU between: [B, 3, S, S] -> [B, C, S/4, S/4].
    public final class PatchEmbed: Layer {
        public let seq0: Conv2d_BN, seq2: Conv2d_BN   // seq.1 is the GELU

        init(inChans: Int, embedDim n: Int) {
            seq0 = Conv2d_BN(inChans, n / 2, ks: 3, stride: 2, pad: 1)
            seq2 = Conv2d_BN(n / 2, n, ks: 3, stride: 2, pad: 1)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.module("seq.0", seq0)
            try walk.module("seq.2", seq2)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { seq2(seq0(x, gelu: true)) }
    }

    /// `MBConv`: inverted residual (1x1 expand, 3x3 depthwise, 1x1 project), GELU after the sum.
    public final class MBConv: Layer {
        public let conv1: Conv2d_BN, conv2: Conv2d_BN, conv3: Conv2d_BN

        init(chans: Int, expandRatio: Float) {
            let hidden = Int(Float(chans) * expandRatio)
            conv1 = Conv2d_BN(chans, hidden)
            conv2 = Conv2d_BN(hidden, hidden, ks: 3, stride: 1, pad: 1, groups: hidden)
            conv3 = Conv2d_BN(hidden, chans)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.module("conv1", conv1)
            try walk.module("conv2", conv2)
            try walk.module("conv3", conv3)
        }

        /// x: [B, C, H, W] -> [B, C, H, W]
        public func callAsFunction(_ x: Tensor) -> Tensor {
            (conv3(conv2(conv1(x, gelu: true), gelu: true)) + x).gelu()
        }
    }

    /// `PatchMerging`: 1x1 to the next width, 3x3 depthwise (stride: `TinyViTConfig.mergingStride`), 1x1.
    public final class PatchMerging: Layer {
        public let conv1: Conv2d_BN, conv2: Conv2d_BN, conv3: Conv2d_BN
        let resolution: Int

        init(resolution: Int, dim: Int, outDim: Int) {
            self.resolution = resolution
            conv1 = Conv2d_BN(dim, outDim)
            conv2 = Conv2d_BN(outDim, outDim, ks: 3, stride: TinyViTConfig.mergingStride(outDim: outDim), pad: 1, groups: outDim)
            conv3 = Conv2d_BN(outDim, outDim)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.module("conv1", conv1)
            try walk.module("conv2", conv2)
            try walk.module("conv3", conv3)
        }

        /// x: [B, C, H, W] or tokens [B, H*W, C] -> tokens [B, H'*W', outDim]
        public func callAsFunction(_ x: Tensor) -> Tensor {
            let image = x.rank == 4 ? x : tokensToImage(x, resolution)
            let y = conv3(conv2(conv1(image, gelu: true), gelu: true))
            return y.reshaped([y.shape[0], y.shape[1], -1]).permuted([0, 2, 1])
        }
    }

    /// `ConvLayer`: the MBConv stage, then its PatchMerging. [B, C, H, W] -> tokens [B, H'*W', C'].
    public final class ConvLayer: TinyViTStage {
        public let blocks: [MBConv]
        public let downsample: PatchMerging

        init(dim: Int, depth: Int, outDim: Int, resolution: Int, expandRatio: Float) {
            blocks = (0..<depth).map { _ in MBConv(chans: dim, expandRatio: expandRatio) }
            downsample = PatchMerging(resolution: resolution, dim: dim, outDim: outDim)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.modules("blocks", blocks)
            try walk.module("downsample", downsample)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor {
            var h = x
            for block in blocks { h = block(h) }
            return downsample(h)
        }
    }

    /// `BasicLayer`: TinyViT blocks, then PatchMerging unless it is the last stage. Tokens in and out.
    public final class BasicLayer: TinyViTStage {
        public let blocks: [TinyViTBlock]
        public let downsample: PatchMerging?

        init(dim: Int, resolution: Int, depth: Int, numHeads: Int, windowSize: Int, mlpRatio: Float,
             localConvSize: Int, outDim: Int?) {
            blocks = (0..<depth).map { _ in
                TinyViTBlock(dim: dim, resolution: resolution, numHeads: numHeads, windowSize: windowSize,
                             mlpRatio: mlpRatio, localConvSize: localConvSize)
            }
            downsample = outDim.map { PatchMerging(resolution: resolution, dim: dim, outDim: $0) }
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.modules("blocks", blocks)
            if let downsample { try walk.module("downsample", downsample) }
        }

        public func callAsFunction(_ x: Tensor) -> Tensor {
            var h = x
            for block in blocks { h = block(h) }
            return downsample.map { $0(h) } ?? h
        }
    }
}

/// Tokens [B, r*r, C] -> [B, C, r, r].
func tokensToImage(_ x: Tensor, _ r: Int) -> Tensor {
    precondition(x.shape[1] == r * r, "expected \(r)x\(r) tokens, got \(x.shape)")
    return x.permuted([0, 2, 1]).reshaped([x.shape[0], x.shape[2], r, r])
}
