// Port of segment_anything/modeling/mask_decoder.py
import NN
import Tensor

/// `MLP` of mask_decoder.py: `layers.0 .. layers.{n-1}` Linear with ReLU between.
public final class MLP: Layer {
    public let layers: [Linear]
    public let sigmoidOutput: Bool

    init(inputDim: Int, hiddenDim: Int, outputDim: Int, numLayers: Int, sigmoidOutput: Bool = false) {
        let dims = [inputDim] + Array(repeating: hiddenDim, count: numLayers - 1) + [outputDim]
        layers = (0..<numLayers).map { Linear(dims[$0], dims[$0 + 1]) }
        self.sigmoidOutput = sigmoidOutput
    }

    public func visit(_ walk: ParameterWalk) throws { try walk.modules("layers", layers) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = h.relu() }
        }
        return sigmoidOutput ? h.sigmoid() : h
    }
}

public struct MaskDecoderConfig: Codable, Sendable, Equatable {
    public var transformerDim = 256
    public var transformerDepth = 2
    public var transformerMlpDim = 2048
    /// Not stored in checkpoints: 8 in every official model.
    public var transformerNumHeads = 8
    public var numMultimaskOutputs = 3
    public var iouHeadDepth = 3
    public var iouHeadHiddenDim = 256
    public init() {}
}

public final class MaskDecoder: Layer {
    public let config: MaskDecoderConfig
    public let transformer: TwoWayTransformer
    public let iouToken: Embedding         // iou_token.weight [1, C]
    public let maskTokens: Embedding       // mask_tokens.weight [numMaskTokens, C]
    /// output_upscaling: ConvT(C, C/4, 2, 2), LayerNorm2d(C/4), GELU, ConvT(C/4, C/8, 2, 2), GELU
    public let outputUpscaling0: ConvTranspose2d, outputUpscaling1: LayerNorm2d, outputUpscaling3: ConvTranspose2d
    public let outputHypernetworksMlps: [MLP]
    public let iouPredictionHead: MLP

    public var numMaskTokens: Int { config.numMultimaskOutputs + 1 }

    public init(_ config: MaskDecoderConfig) {
        self.config = config
        let c = config.transformerDim, n = config.numMultimaskOutputs + 1
        transformer = TwoWayTransformer(depth: config.transformerDepth, embeddingDim: c,
                                        numHeads: config.transformerNumHeads, mlpDim: config.transformerMlpDim)
        iouToken = Embedding(1, c)
        maskTokens = Embedding(n, c)
        outputUpscaling0 = ConvTranspose2d(c, c / 4, kernel: 2, stride: 2)
        outputUpscaling1 = LayerNorm2d(c / 4)
        outputUpscaling3 = ConvTranspose2d(c / 4, c / 8, kernel: 2, stride: 2)
        outputHypernetworksMlps = (0..<n).map { _ in MLP(inputDim: c, hiddenDim: c, outputDim: c / 8, numLayers: 3) }
        iouPredictionHead = MLP(inputDim: c, hiddenDim: config.iouHeadHiddenDim, outputDim: n, numLayers: config.iouHeadDepth)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("transformer", transformer)
        try walk.module("iou_token", iouToken)
        try walk.module("mask_tokens", maskTokens)
        let up = walk.scope("output_upscaling")
        try up.module("0", outputUpscaling0)
        try up.module("1", outputUpscaling1)
        try up.module("3", outputUpscaling3)
        try walk.modules("output_hypernetworks_mlps", outputHypernetworksMlps)
        try walk.module("iou_prediction_head", iouPredictionHead)
    }

    /// One prompt against one image embedding.
    /// imageEmbedding, imagePE, dense: [1, C, h, w]; sparse: [1, n, C]
    /// -> (lowResMasks [1, M, 4h, 4w], iou [1, M]) with M = 3 (multimask) or 1, and the Stable-SAM
    /// plugin's route [1, 2] (a1 deformed, a2 regular) when one is attached.
    public func callAsFunction(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor,
                               multimask: Bool) -> (masks: Tensor, iou: Tensor, route: Tensor?) {
        let (masks, iou, route) = predictMasks(imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense)
        let range = multimask ? 1..<numMaskTokens : 0..<1
        return (masks.slice(axis: 1, range), iou.slice(axis: 1, range), route)
    }

    /// `predictMasks` up to what block `block`'s token->image hook receives, and no further
    /// (TwoWayTransformer.hookInputs): the Stable-SAM plugin's inputs for training.
    public func hookInputs(block: Int, imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor)
        -> (queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int)) {
        let c = config.transformerDim, n = numMaskTokens
        let outputTokens = Tensor.concatenate([iouToken.weight, maskTokens.weight], axis: 0).reshaped([1, 1 + n, c])
        return transformer.hookInputs(block: block, image: imageEmbedding + dense, imagePE: imagePE,
                                      points: Tensor.concatenate([outputTokens, sparse], axis: 1))
    }

    /// All mask tokens: (masks [B, numMaskTokens, 4h, 4w], iou [B, numMaskTokens], the plugin's route [B, 2] or nil).
    public func predictMasks(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor)
        -> (masks: Tensor, iou: Tensor, route: Tensor?) {
        let c = config.transformerDim, n = numMaskTokens
        let outputTokens = Tensor.concatenate([iouToken.weight, maskTokens.weight], axis: 0).reshaped([1, 1 + n, c])
        let tokens = Tensor.concatenate([outputTokens, sparse], axis: 1)
        let src = imageEmbedding + dense
        let (h, w) = (src.shape[2], src.shape[3])
        let (hs, keys, route) = transformer(image: src, imagePE: imagePE, points: tokens)
        let iouTokenOut = hs.slice(axis: 1, 0..<1).reshaped([1, c])

        let grid = keys.permuted([0, 2, 1]).reshaped([1, c, h, w])
        let up1 = outputUpscaling1(outputUpscaling0(grid)).gelu()
        let upscaled = outputUpscaling3(up1, gelu: true)         // [1, C/8, 4h, 4w]
        let (uh, uw) = (upscaled.shape[2], upscaled.shape[3])

        let hyper = (0..<n).map { i in
            outputHypernetworksMlps[i](hs.slice(axis: 1, (1 + i)..<(2 + i)).reshaped([1, c]))
        }
        let hyperIn = Tensor.concatenate(hyper, axis: 0)     // [n, C/8]
        let masks = hyperIn.matmul(upscaled.reshaped([c / 8, uh * uw])).reshaped([1, n, uh, uw])
        return (masks, iouPredictionHead(iouTokenOut), route)
    }
}
