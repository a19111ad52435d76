// Port of segment_anything/modeling/sam.py and build_sam.py
import Imaging
import NN
import Tensor

/// Which image encoder a model uses: SAM's ViT (B/L/H) or MobileSAM's TinyViT.
public enum ImageEncoderConfig: Codable, Sendable, Equatable {
    case vit(ViTConfig)
    case tinyViT(TinyViTConfig)
}

/// An image encoder SAM can hold: [B, 3, S, S] preprocessed image -> [B, 256, S/16, S/16] embedding.
/// Its parameters sit under `image_encoder.` whichever it is.
public protocol ImageEncoding: Layer {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension ImageEncoderViT: ImageEncoding {}

public struct SamConfig: Codable, Sendable, Equatable {
    public var imageEncoder: ImageEncoderConfig
    public var promptEmbedDim = 256
    public var maskInChans = 16
    public var maskDecoder = MaskDecoderConfig()
    public var pixelMean: [Float] = [123.675, 116.28, 103.53]
    public var pixelStd: [Float] = [58.395, 57.12, 57.375]

    public init(imageEncoder: ImageEncoderConfig) { self.imageEncoder = imageEncoder }

    public var imgSize: Int {
        switch imageEncoder {
        case .vit(let v): return v.imgSize
        case .tinyViT(let t): return t.imgSize
        }
    }

    /// Side of the image embedding grid (64 for every official model).
    public var embeddingSize: Int {
        switch imageEncoder {
        case .vit(let v): return v.gridSize
        case .tinyViT(let t): return t.gridSize
        }
    }

    public static func vit(_ v: ViTConfig) -> SamConfig { SamConfig(imageEncoder: .vit(v)) }
    public static func tinyViT(_ t: TinyViTConfig) -> SamConfig { SamConfig(imageEncoder: .tinyViT(t)) }
}

/// The whole model; keys `image_encoder.*`, `prompt_encoder.*`, `mask_decoder.*` as in official checkpoints.
public final class Sam: Layer {
    public let config: SamConfig
    public let imageEncoder: any ImageEncoding
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder
    /// Stable-SAM's DSP + DRP in the mask decoder's block 2 (`transformer.layers.1`); nil is plain SAM.
    /// Load one with `StableSAMPlugin.load(_:for:)`, which checks it fits this model.
    public var plugin: StableSAMPlugin? {
        didSet {
            if let plugin {
                precondition(plugin.embeddingDim == config.maskDecoder.transformerDim && maskDecoder.transformer.layers.count >= 2,
                             "plugin width \(plugin.embeddingDim) does not fit decoder width \(config.maskDecoder.transformerDim)")
                plugin.positionEncoding = promptEncoder.peLayer
            }
            maskDecoder.transformer.layers[1].tokenToImageFeatures = plugin
        }
    }

    public init(_ config: SamConfig) {
        self.config = config
        switch config.imageEncoder {
        case .vit(let v): imageEncoder = ImageEncoderViT(v)
        case .tinyViT(let t): imageEncoder = TinyViT(t)
        }
        let e = config.embeddingSize
        promptEncoder = PromptEncoder(embedDim: config.promptEmbedDim, imageEmbeddingSize: (e, e),
                                      inputImageSize: (config.imgSize, config.imgSize), maskInChans: config.maskInChans)
        maskDecoder = MaskDecoder(config.maskDecoder)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("image_encoder", imageEncoder)
        try walk.module("prompt_encoder", promptEncoder)
        try walk.module("mask_decoder", maskDecoder)
    }

    /// `Sam.preprocess`: normalise a resized image and pad it bottom/right to `[1, 3, S, S]`.
    public func preprocess(_ resized: RGBImage) -> Tensor {
        let s = config.imgSize
        var out = Tensor(zeros: [1, 3, s, s])
        for c in 0..<3 {
            let mean = config.pixelMean[c], std = config.pixelStd[c]
            for y in 0..<resized.height {
                for x in 0..<resized.width {
                    out.storage[(c * s + y) * s + x] = (Float(resized.pixels[(y * resized.width + x) * 3 + c]) - mean) / std
                }
            }
        }
        return out
    }

    /// `Sam.postprocess_masks`: low-res logits `[1, M, 4e, 4e]` -> logits at the original image size.
    /// Upscale to the padded input, crop the padding, resize to the original (both bilinear, align_corners=false).
    public func postprocessMasks(_ lowRes: Tensor, inputSize: (h: Int, w: Int), originalSize: (h: Int, w: Int)) -> Tensor {
        let s = config.imgSize
        // Upscale to the padded square but compute only the unpadded top-left part (the crop).
        let cropped = lowRes.bilinearResized(height: s, width: s, alignCorners: false, keep: inputSize)
        return cropped.bilinearResized(height: originalSize.h, width: originalSize.w, alignCorners: false)
    }
}
