// Port of segment_anything/modeling/prompt_encoder.py
import Foundation
import NN
import Tensor

/// A point prompt in model-input coordinates (after `ResizeLongestSide`).
public struct PromptPoint: Sendable, Equatable {
    public var x: Float, y: Float
    /// 1 foreground, 0 background, -1 padding (SAM's "not a point").
    public var label: Int
    public init(x: Float, y: Float, label: Int) { self.x = x; self.y = y; self.label = label }
}

/// `PositionEmbeddingRandom`: random Fourier features of normalised coordinates.
public final class PositionEmbeddingRandom: Layer {
    public var positionalEncodingGaussianMatrix: Tensor  // positional_encoding_gaussian_matrix [2, C/2]

    init(numPosFeats: Int) { positionalEncodingGaussianMatrix = Tensor(zeros: [2, numPosFeats]) }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.param("positional_encoding_gaussian_matrix", &positionalEncodingGaussianMatrix)
    }

    /// coords: [N, 2] in [0, 1] -> [N, C]: `cat(sin(2π(2c-1)G), cos(2π(2c-1)G))`.
    func encode(_ coords: Tensor) -> Tensor {
        let shifted = coords.map { 2 * $0 - 1 }
        let proj = shifted.matmul(positionalEncodingGaussianMatrix).map { 2 * Float.pi * $0 }
        return Tensor.concatenate([proj.map { sinf($0) }, proj.map { cosf($0) }], axis: -1)
    }

    /// Dense grid encoding `[C, h, w]` at pixel centres ((i + 0.5) / size).
    func grid(h: Int, w: Int) -> Tensor {
        var coords = [Float]()
        coords.reserveCapacity(h * w * 2)
        for y in 0..<h {
            for x in 0..<w { coords.append((Float(x) + 0.5) / Float(w)); coords.append((Float(y) + 0.5) / Float(h)) }
        }
        return encode(Tensor(shape: [h * w, 2], storage: coords)).reshaped([h, w, -1]).permuted([2, 0, 1])
    }

    /// Points in input-image pixels -> [N, C]. Coordinates are divided by the input size.
    func encodeCoordinates(_ xy: [(Float, Float)], imageSize: (h: Int, w: Int)) -> Tensor {
        var flat = [Float]()
        for (x, y) in xy { flat.append(x / Float(imageSize.w)); flat.append(y / Float(imageSize.h)) }
        return encode(Tensor(shape: [xy.count, 2], storage: flat))
    }
}

public final class PromptEncoder: Layer {
    public let embedDim: Int
    public let imageEmbeddingSize: (h: Int, w: Int)
    public let inputImageSize: (h: Int, w: Int)
    public let peLayer: PositionEmbeddingRandom
    /// point_embeddings.0/1 (negative/positive point), .2/.3 (box corners), each [1, C]
    public let pointEmbeddings: [Embedding]
    public let notAPointEmbed: Embedding
    /// mask_downscaling: Conv(1, m/4, 2, 2), LN2d, GELU, Conv(m/4, m, 2, 2), LN2d, GELU, Conv(m, C, 1)
    public let maskDownscaling0: Conv2d, maskDownscaling1: LayerNorm2d
    public let maskDownscaling3: Conv2d, maskDownscaling4: LayerNorm2d, maskDownscaling6: Conv2d
    public let noMaskEmbed: Embedding

    public init(embedDim: Int, imageEmbeddingSize: (Int, Int), inputImageSize: (Int, Int), maskInChans: Int) {
        self.embedDim = embedDim
        self.imageEmbeddingSize = imageEmbeddingSize
        self.inputImageSize = inputImageSize
        peLayer = PositionEmbeddingRandom(numPosFeats: embedDim / 2)
        pointEmbeddings = (0..<4).map { _ in Embedding(1, embedDim) }
        notAPointEmbed = Embedding(1, embedDim)
        maskDownscaling0 = Conv2d(1, maskInChans / 4, kernel: 2, stride: 2)
        maskDownscaling1 = LayerNorm2d(maskInChans / 4)
        maskDownscaling3 = Conv2d(maskInChans / 4, maskInChans, kernel: 2, stride: 2)
        maskDownscaling4 = LayerNorm2d(maskInChans)
        maskDownscaling6 = Conv2d(maskInChans, embedDim, kernel: 1)
        noMaskEmbed = Embedding(1, embedDim)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("pe_layer", peLayer)
        try walk.modules("point_embeddings", pointEmbeddings)
        try walk.module("not_a_point_embed", notAPointEmbed)
        let ds = walk.scope("mask_downscaling")
        try ds.module("0", maskDownscaling0)
        try ds.module("1", maskDownscaling1)
        try ds.module("3", maskDownscaling3)
        try ds.module("4", maskDownscaling4)
        try ds.module("6", maskDownscaling6)
        try walk.module("no_mask_embed", noMaskEmbed)
    }

    /// `get_dense_pe`: [1, C, h, w] positional encoding of the image-embedding grid.
    public func densePositionalEncoding() -> Tensor {
        peLayer.grid(h: imageEmbeddingSize.h, w: imageEmbeddingSize.w).reshaped([1, embedDim, imageEmbeddingSize.h, imageEmbeddingSize.w])
    }

    /// Sparse embeddings `[1, n, C]` for one prompt. As the reference: points are shifted to pixel
    /// centres (+0.5); without a box, a padding point (label -1) is appended; padding points get
    /// `not_a_point_embed` only; box corners get point_embeddings 2 and 3.
    public func sparseEmbeddings(points: [PromptPoint], box: (Float, Float, Float, Float)?) -> Tensor {
        var pts = points
        if !pts.isEmpty && box == nil { pts.append(PromptPoint(x: 0, y: 0, label: -1)) }
        var rows: [Tensor] = []
        if !pts.isEmpty {
            let pe = peLayer.encodeCoordinates(pts.map { ($0.x + 0.5, $0.y + 0.5) }, imageSize: inputImageSize)
            for (i, p) in pts.enumerated() {
                let e = pe.slice(axis: 0, i..<(i + 1)).reshaped([embedDim])
                switch p.label {
                case -1: rows.append(notAPointEmbed.row(0))
                case 0: rows.append(e + pointEmbeddings[0].row(0))
                default: rows.append(e + pointEmbeddings[1].row(0))
                }
            }
        }
        if let box {
            let pe = peLayer.encodeCoordinates([(box.0 + 0.5, box.1 + 0.5), (box.2 + 0.5, box.3 + 0.5)], imageSize: inputImageSize)
            rows.append(pe.slice(axis: 0, 0..<1).reshaped([embedDim]) + pointEmbeddings[2].row(0))
            rows.append(pe.slice(axis: 0, 1..<2).reshaped([embedDim]) + pointEmbeddings[3].row(0))
        }
        if rows.isEmpty { return Tensor(zeros: [1, 0, embedDim]) }
        return Tensor(shape: [1, rows.count, embedDim], storage: rows.flatMap(\.storage))
    }

    /// Dense embeddings `[1, C, h, w]`: the downscaled mask prompt (`[1, 1, 4h, 4w]` logits), or
    /// `no_mask_embed` broadcast over the grid.
    public func denseEmbeddings(mask: Tensor?) -> Tensor {
        if let mask {
            var x = maskDownscaling1(maskDownscaling0(mask)).gelu()
            x = maskDownscaling4(maskDownscaling3(x)).gelu()
            return maskDownscaling6(x)
        }
        let (h, w) = imageEmbeddingSize
        var out = Tensor(zeros: [1, embedDim, h, w])
        for c in 0..<embedDim {
            let v = noMaskEmbed.weight.storage[c]
            for i in 0..<(h * w) { out.storage[c * h * w + i] = v }
        }
        return out
    }
}
