// SAM's mask decoder from the Stable-SAM plugin onward, rebuilt on autograd so that the plugin's
// parameters get gradients through the frozen rest: block 2's token->image attention with the
// DSP/DRP features, the rest of block 2, the final token->image attention, the output upscaling,
// the hypernetwork MLPs and the IoU head. Mirrors, op for op, TwoWayAttentionBlock,
// TwoWayTransformer, MaskDecoder.predictMasks and StableSAMPlugin.features (SegmentAnything), which
// in turn port segment_anything/modeling/{transformer,mask_decoder}.py and Scripts/stable_sam/plugins.py.
import Autograd
import NN
import SegmentAnything
import Tensor

/// A frozen SAM decoder with a trainable plugin. SAM's weights enter as constants (no gradient is
/// computed or stored for them); only `parameters` (copies of the plugin's weights) get gradients.
public final class DifferentiableMaskDecoder {
    public let sam: Sam
    /// Options and route come from here; its weights are read once, into `parameters`.
    public let plugin: StableSAMPlugin
    public let parameters: PluginParameters

    /// What one forward pass returns. masks `[1, M, 4h, 4w]`, iou `[1, M]` for the M mask tokens
    /// asked for; route `[1, 2]` (a1 deformed, a2 regular).
    public struct Output {
        public var masks: Variable
        public var iou: Variable
        public var route: Variable
        public var offsets: Variable
    }

    public init(sam: Sam, plugin: StableSAMPlugin) {
        let decoder = sam.maskDecoder
        precondition(plugin.embeddingDim == decoder.config.transformerDim && decoder.transformer.layers.count >= 2,
                     "plugin width \(plugin.embeddingDim) does not fit decoder width \(decoder.config.transformerDim)")
        precondition(plugin.route != .regular, "the regular route never runs the plugin: nothing to train")
        precondition(decoder.transformer.layers[1].mlp.activation == .relu && !decoder.iouPredictionHead.sigmoidOutput,
                     "SAM's decoder: ReLU transformer MLPs, IoU head without sigmoid")
        self.sam = sam
        self.plugin = plugin
        parameters = PluginParameters(plugin)
    }

    /// One prompt against one image embedding, as `MaskDecoder.predictMasks` with the plugin
    /// attached. imageEmbedding, imagePE, dense `[1, C, h, w]`; sparse `[1, n, C]`; `maskTokens` the
    /// mask tokens to decode (0..<1 is `multimask_output=False`, what RTS trains on).
    public func callAsFunction(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor,
                               maskTokens: Range<Int>? = nil) -> Output {
        let inputs = PluginInputs.capture(sam.maskDecoder, imageEmbedding: imageEmbedding, imagePE: imagePE,
                                          sparse: sparse, dense: dense)
        return forward(inputs, sparse: sparse, maskTokens: maskTokens ?? 0..<sam.maskDecoder.numMaskTokens)
    }

    /// The differentiable part, from the plugin's inputs.
    public func forward(_ inputs: PluginInputs, sparse: Tensor, maskTokens: Range<Int>) -> Output {
        let decoder = sam.maskDecoder, transformer = decoder.transformer, block = transformer.layers[1]
        let c = decoder.config.transformerDim, (h, w) = inputs.grid
        let queries = Variable(inputs.queries), k0 = Variable(inputs.keys), keyPE = Variable(inputs.keyPE)
        // The decoder's tokens [iou, mask 0..3, sparse...]: the queries' positional encoding.
        let outputTokens = Tensor.concatenate([decoder.iouToken.weight, decoder.maskTokens.weight], axis: 0)
            .reshaped([1, 1 + decoder.numMaskTokens, c])
        let tokens = Variable(Tensor.concatenate([outputTokens, sparse], axis: 1))

        // Stable-SAM features (StableSAMPlugin.features): DSP sample, DRP route, mix.
        let (sample, offsets) = dsp(k0, grid: inputs.grid, channels: c)
        let route: Variable
        switch plugin.route {
        case .auto:
            let t = plugin.options.routeToken == .iou ? 0 : 1
            route = drp(queries.slice(axis: 1, t..<(t + 1)).reshaped([1, c]))
        case .deformable:
            route = Variable(Tensor(shape: [1, 2], storage: [1, 0]))
        case .regular:
            preconditionFailure("the regular route never runs the plugin: nothing to train")
        }
        let values = Variable.mix(sample.reshaped([1, c, h * w]).permuted([0, 2, 1]), k0, route: route)
        var valuesPE = keyPE
        if plugin.options.keyPositionalEncoding == .deformed {
            let gaussian = sam.promptEncoder.peLayer.positionalEncodingGaussianMatrix
            valuesPE = Variable.mix(Variable.sampledPositionalEncoding(offsets: offsets, gaussian: gaussian), keyPE, route: route)
        }

        // The rest of block 2 (TwoWayAttentionBlock after its hook).
        var q = frozenLayerNorm(queries + attend(block.crossAttnTokenToImage, q: queries + tokens, k: values + valuesPE, v: values),
                                block.norm2)
        let mlp = frozenLinear(frozenLinear(q, block.mlp.lin1).relu(), block.mlp.lin2)
        q = frozenLayerNorm(q + mlp, block.norm3)
        let keys = frozenLayerNorm(k0 + attend(block.crossAttnImageToToken, q: k0 + keyPE, k: q + tokens, v: q), block.norm4)

        // TwoWayTransformer's final token->image attention.
        q = frozenLayerNorm(q + attend(transformer.finalAttnTokenToImage, q: q + tokens, k: keys + keyPE, v: keys),
                            transformer.normFinalAttn)

        // MaskDecoder.predictMasks after the transformer.
        let image = keys.permuted([0, 2, 1]).reshaped([1, c, h, w])
        let up0 = image.convTranspose2d(Variable(decoder.outputUpscaling0.weight), decoder.outputUpscaling0.bias.map { Variable($0) })
        let up1 = up0.layerNorm2d(Variable(decoder.outputUpscaling1.weight), Variable(decoder.outputUpscaling1.bias),
                                  eps: decoder.outputUpscaling1.eps).gelu()
        let upscaled = up1.convTranspose2d(Variable(decoder.outputUpscaling3.weight), decoder.outputUpscaling3.bias.map { Variable($0) })
            .gelu()                                                     // [1, C/8, 4h, 4w]
        let (uh, uw) = (upscaled.shape[2], upscaled.shape[3])
        let hyper = maskTokens.map { i in
            frozenMLP(q.slice(axis: 1, (1 + i)..<(2 + i)).reshaped([1, c]), decoder.outputHypernetworksMlps[i])
        }
        let masks = Variable.concatenate(hyper, axis: 0).matmul(upscaled.reshaped([c / 8, uh * uw]))
            .reshaped([1, maskTokens.count, uh, uw])
        let iou = frozenMLP(q.slice(axis: 1, 0..<1).reshaped([1, c]), decoder.iouPredictionHead)
            .slice(axis: 1, maskTokens)
        return Output(masks: masks, iou: iou, route: route, offsets: offsets)
    }

    /// DSP (DeformableSamplingPlugin): keys [1, HW, C] -> (sample [1, C, H, W], offsets [1, 2, H, W]).
    func dsp(_ keys: Variable, grid: (h: Int, w: Int), channels c: Int) -> (Variable, Variable) {
        let p = parameters
        let x = keys.permuted([0, 2, 1]).reshaped([1, c, grid.h, grid.w])
        let xs = x.conv2d(p["dsp.proj.weight"], p["dsp.proj.bias"])
        let hidden = xs.conv2d(p["dsp.offset.0.weight"], p["dsp.offset.0.bias"], padding: 2, groups: c)
            .layerNorm2d(p["dsp.offset.1.weight"], p["dsp.offset.1.bias"], eps: plugin.dsp.offset1.eps)
            .gelu()
        let offsets = hidden.conv2d(p["dsp.offset.3.weight"], nil).tanh().scaled(by: plugin.options.offsetScale)
        return (xs.sampled(atOffsets: offsets), offsets)
    }

    /// DRP (DynamicRoutingPlugin): token [1, C] -> route [1, 2].
    func drp(_ token: Variable) -> Variable {
        let p = parameters
        return token.linear(p["drp.mlp.0.weight"], p["drp.mlp.0.bias"])
            .layerNorm(p["drp.mlp.1.weight"], p["drp.mlp.1.bias"], eps: plugin.drp.mlp1.eps)
            .gelu()
            .linear(p["drp.mlp.3.weight"], p["drp.mlp.3.bias"])
            .softmax()
    }

    // Frozen SAM layers: their weights are constants.

    func frozenLinear(_ x: Variable, _ layer: Linear) -> Variable {
        x.linear(Variable(layer.weight), layer.bias.map { Variable($0) })
    }

    func frozenLayerNorm(_ x: Variable, _ norm: LayerNorm) -> Variable {
        x.layerNorm(Variable(norm.weight), Variable(norm.bias), eps: norm.eps)
    }

    /// mask_decoder.py's MLP: Linear layers with ReLU between.
    func frozenMLP(_ x: Variable, _ mlp: MLP) -> Variable {
        var h = x
        for (i, layer) in mlp.layers.enumerated() {
            h = frozenLinear(h, layer)
            if i < mlp.layers.count - 1 { h = h.relu() }
        }
        return h
    }

    /// DecoderAttention: projections, multi-head attention, output projection.
    func attend(_ a: DecoderAttention, q: Variable, k: Variable, v: Variable) -> Variable {
        let attended = Variable.attention(q: frozenLinear(q, a.qProj), k: frozenLinear(k, a.kProj),
                                          v: frozenLinear(v, a.vProj), heads: a.numHeads)
        return frozenLinear(attended, a.outProj)
    }
}
