// Port of segment_anything/modeling/transformer.py
import NN
import Tensor

/// The decoder's attention: projections to `embeddingDim / downsampleRate`, then multi-head attention.
public final class DecoderAttention: Layer {
    public let numHeads: Int
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear

    init(embeddingDim: Int, numHeads: Int, downsampleRate: Int = 1) {
        let internalDim = embeddingDim / downsampleRate
        precondition(internalDim % numHeads == 0, "num_heads must divide embedding_dim / downsample_rate")
        self.numHeads = numHeads
        qProj = Linear(embeddingDim, internalDim)
        kProj = Linear(embeddingDim, internalDim)
        vProj = Linear(embeddingDim, internalDim)
        outProj = Linear(internalDim, embeddingDim)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("q_proj", qProj)
        try walk.module("k_proj", kProj)
        try walk.module("v_proj", vProj)
        try walk.module("out_proj", outProj)
    }

    /// q: [B, Nq, C], k and v: [B, Nk, C] -> [B, Nq, C]
    /// Heads are column blocks of the projections (row stride = internal width), so each (batch, head)
    /// runs as strided GEMMs on the projections as they are: no split/merge permutes.
    public func callAsFunction(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let b = q.shape[0], nq = q.shape[1], nk = k.shape[1]
        let d = qProj.weight.shape[0], hd = d / numHeads, heads = numHeads
        let (qp, kp, vp) = (qProj(q), kProj(k), vProj(v))
        let scale = 1 / Float(hd).squareRoot()
        var out = Tensor(zeros: [b, nq, d])
        qp.withUnsafeBufferPointer { qb in
            kp.withUnsafeBufferPointer { kb in
                vp.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let (qs, ks, vs) = (SendableConstPointer(qb.baseAddress!), SendableConstPointer(kb.baseAddress!),
                                            SendableConstPointer(vb.baseAddress!))
                        let os = SendablePointer(ob.baseAddress!)
                        BLAS.independentProblems(b * heads, scratch: nq * nk) { p, scores in
                            let (i, h) = (p / heads, p % heads)
                            let qh = qs.pointer + i * nq * d + h * hd
                            let kh = ks.pointer + i * nk * d + h * hd, vh = vs.pointer + i * nk * d + h * hd
                            BLAS.sgemm(transB: true, m: nq, n: nk, k: hd, alpha: scale, a: qh, lda: d, b: kh, ldb: d,
                                       c: scores, ldc: nk, serial: true)
                            Tensor.softmaxRowsSerial(scores, rows: nq, columns: nk)
                            BLAS.sgemm(m: nq, n: hd, k: nk, a: scores, lda: nk, b: vh, ldb: d,
                                       c: os.pointer + i * nq * d + h * hd, ldc: d, serial: true)
                        }
                    }
                }
            }
        }
        return outProj(out)
    }
}

/// One block: token self-attention, token->image, MLP, image->token (with norms after each).
public final class TwoWayAttentionBlock: Layer {
    public let selfAttn: DecoderAttention, norm1: LayerNorm
    public let crossAttnTokenToImage: DecoderAttention, norm2: LayerNorm
    public let mlp: MLPBlock, norm3: LayerNorm
    public let norm4: LayerNorm, crossAttnImageToToken: DecoderAttention
    let skipFirstLayerPE: Bool
    /// Stable-SAM's hook: replaces the values (and keys) that token->image attention reads.
    /// `nil` is plain SAM.
    public var tokenToImageFeatures: (any TokenToImageFeatures)?

    init(embeddingDim: Int, numHeads: Int, mlpDim: Int, attentionDownsampleRate: Int, skipFirstLayerPE: Bool) {
        selfAttn = DecoderAttention(embeddingDim: embeddingDim, numHeads: numHeads)
        norm1 = LayerNorm(embeddingDim)
        crossAttnTokenToImage = DecoderAttention(embeddingDim: embeddingDim, numHeads: numHeads, downsampleRate: attentionDownsampleRate)
        norm2 = LayerNorm(embeddingDim)
        mlp = MLPBlock(embeddingDim: embeddingDim, mlpDim: mlpDim, activation: .relu)
        norm3 = LayerNorm(embeddingDim)
        norm4 = LayerNorm(embeddingDim)
        crossAttnImageToToken = DecoderAttention(embeddingDim: embeddingDim, numHeads: numHeads, downsampleRate: attentionDownsampleRate)
        self.skipFirstLayerPE = skipFirstLayerPE
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("self_attn", selfAttn)
        try walk.module("norm1", norm1)
        try walk.module("cross_attn_token_to_image", crossAttnTokenToImage)
        try walk.module("norm2", norm2)
        try walk.module("mlp", mlp)
        try walk.module("norm3", norm3)
        try walk.module("norm4", norm4)
        try walk.module("cross_attn_image_to_token", crossAttnImageToToken)
    }

    /// The block's first step, token self-attention and norm1: queries [B, Nt, C] -> [B, Nt, C],
    /// what the token->image hook receives.
    func selfAttention(queries q0: Tensor, queryPE: Tensor) -> Tensor {
        if skipFirstLayerPE {
            return norm1(selfAttn(q: q0, k: q0, v: q0))   // no residual in the first block, as the reference
        }
        let q = q0 + queryPE
        return norm1(q0 + selfAttn(q: q, k: q, v: q0))
    }

    /// queries: [B, Nt, C], keys: [B, HW, C] on an h x w grid -> updated (queries, keys), and the
    /// hook's route weights [B, 2] when it has them
    func callAsFunction(queries q0: Tensor, keys k0: Tensor, queryPE: Tensor, keyPE: Tensor,
                        grid: (h: Int, w: Int)) -> (Tensor, Tensor, route: Tensor?) {
        var queries = selfAttention(queries: q0, queryPE: queryPE)

        // Only this attention reads the hook's features; image->token below keeps the original keys.
        let (values, valuesPE, route) = tokenToImageFeatures?.features(queries: queries, keys: k0, keyPE: keyPE,
                                                                        grid: grid) ?? (k0, keyPE, nil)
        let q = queries + queryPE
        let k = values + valuesPE
        queries = norm2(queries + crossAttnTokenToImage(q: q, k: k, v: values))

        queries = norm3(queries + mlp(queries))

        let q2 = queries + queryPE, k2 = k0 + keyPE
        let keys = norm4(k0 + crossAttnImageToToken(q: k2, k: q2, v: queries))
        return (queries, keys, route)
    }
}

/// Features that a block's token->image attention reads instead of the plain image keys
/// (Stable-SAM's DSP/DRP in block 2).
public protocol TokenToImageFeatures: AnyObject {
    /// queries: [B, Nt, C] after norm1; keys, keyPE: [B, HW, C], row-major over an h x w grid
    /// -> (values, their positional encoding), both [B, HW, C], and route weights [B, 2] when the
    /// features mix two sources (Stable-SAM's a1, a2). Attention keys are `values + keyPE`.
    func features(queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int)) -> (values: Tensor, keyPE: Tensor, route: Tensor?)
}

public final class TwoWayTransformer: Layer {
    public let layers: [TwoWayAttentionBlock]
    public let finalAttnTokenToImage: DecoderAttention
    public let normFinalAttn: LayerNorm

    public init(depth: Int, embeddingDim: Int, numHeads: Int, mlpDim: Int, attentionDownsampleRate: Int = 2) {
        layers = (0..<depth).map {
            TwoWayAttentionBlock(embeddingDim: embeddingDim, numHeads: numHeads, mlpDim: mlpDim,
                                 attentionDownsampleRate: attentionDownsampleRate, skipFirstLayerPE: $0 == 0)
        }
        finalAttnTokenToImage = DecoderAttention(embeddingDim: embeddingDim, numHeads: numHeads, downsampleRate: attentionDownsampleRate)
        normFinalAttn = LayerNorm(embeddingDim)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.modules("layers", layers)
        try walk.module("final_attn_token_to_image", finalAttnTokenToImage)
        try walk.module("norm_final_attn", normFinalAttn)
    }

    /// What block `block`'s token->image hook receives, computing nothing after it (plugin
    /// training reruns the rest on autograd): the blocks before it, then its self-attention and
    /// norm1. -> (queries [B, Nt, C], the block's input keys [B, HW, C], keyPE [B, HW, C], grid).
    public func hookInputs(block: Int, image: Tensor, imagePE: Tensor, points: Tensor)
        -> (queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int)) {
        precondition(block < layers.count, "hookInputs: block \(block) of a \(layers.count)-block transformer")
        let (b, c, h, w) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        let keysPE = imagePE.reshaped([b, c, h * w]).permuted([0, 2, 1])
        var keys = image.reshaped([b, c, h * w]).permuted([0, 2, 1])
        var queries = points
        for layer in layers[..<block] {
            (queries, keys, _) = layer(queries: queries, keys: keys, queryPE: points, keyPE: keysPE, grid: (h, w))
        }
        return (layers[block].selfAttention(queries: queries, queryPE: points), keys, keysPE, (h, w))
    }

    /// image: [B, C, H, W], imagePE: [B, C, H, W], points: [B, Nt, C] -> (tokens [B, Nt, C], image [B, HW, C],
    /// the plugin's route [B, 2] when a block has one)
    public func callAsFunction(image: Tensor, imagePE: Tensor, points: Tensor) -> (Tensor, Tensor, route: Tensor?) {
        let (b, c, h, w) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        let keysPE = imagePE.reshaped([b, c, h * w]).permuted([0, 2, 1])
        var keys = image.reshaped([b, c, h * w]).permuted([0, 2, 1])
        var queries = points
        var route: Tensor?
        for layer in layers {
            let (q, k, r) = layer(queries: queries, keys: keys, queryPE: points, keyPE: keysPE, grid: (h, w))
            (queries, keys) = (q, k)
            route = r ?? route
        }
        let q = queries + points, k = keys + keysPE
        queries = normFinalAttn(queries + finalAttnTokenToImage(q: q, k: k, v: keys))
        return (queries, keys, route)
    }
}
