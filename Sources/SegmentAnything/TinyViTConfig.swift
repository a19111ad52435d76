// Configuration of MobileSAM's TinyViT image encoder (mobile_sam/modeling/tiny_vit_sam.py: TinyViT.__init__),
// and its inference from checkpoint shapes.

/// TinyViT's constructor arguments. Stage 0 is convolutional (MBConv); stages 1... are attention stages.
public struct TinyViTConfig: Codable, Sendable, Equatable {
    public var imgSize = 1024
    public var inChans = 3
    public var embedDims = [64, 128, 160, 320]
    public var depths = [2, 2, 6, 2]
    /// Entry 0 is unused (stage 0 has no attention); kept so the arrays read like the reference's.
    public var numHeads = [2, 4, 5, 10]
    /// Entry 0 is unused, as for `numHeads`.
    public var windowSizes = [7, 7, 14, 7]
    public var mlpRatio: Float = 4
    public var mbconvExpandRatio: Float = 4
    public var localConvSize = 3
    /// Classifier width; the head is unused by SAM but stored in `mobile_sam.pt`, so it must load (0: no head).
    public var numClasses = 1000
    /// Neck width: the reference hard-codes 256 (SAM's prompt embedding width).
    public var outChans = 256

    public init() {}

    /// MobileSAM's `build_sam_vit_t`.
    public static let mobileSAM = TinyViTConfig()

    /// `PatchMerging`'s stride: the reference keeps the grid (stride 1) when merging into 320, 448 or
    /// 576 channels, the last-stage widths of its published models, so the final grid is S/16, not S/32.
    public static func mergingStride(outDim: Int) -> Int { [320, 448, 576].contains(outDim) ? 1 : 2 }

    /// Side of each stage's token grid: two stride-2 3x3 convolutions in the patch embedding, then
    /// one `PatchMerging` after every stage but the last (3x3, padding 1).
    public var stageResolutions: [Int] {
        var r = ((imgSize - 1) / 2 + 1 - 1) / 2 + 1
        var out: [Int] = []
        for i in embedDims.indices {
            out.append(r)
            if i < embedDims.count - 1 { r = (r - 1) / Self.mergingStride(outDim: embedDims[i + 1]) + 1 }
        }
        return out
    }

    /// Side of the image embedding (the last stage's grid): 64 for MobileSAM at 1024 px.
    public var gridSize: Int { stageResolutions.last ?? 0 }
}

extension TinyViTConfig {
    /// Whether a state dict holds a TinyViT image encoder (rather than SAM's ViT).
    static func isTinyViT(_ shapes: [String: [Int]]) -> Bool {
        shapes["image_encoder.patch_embed.seq.0.c.weight"] != nil
    }

    /// Every number from the weights' shapes: widths from each stage's first convolution or LayerNorm,
    /// depths from block counts, heads and window sizes from `attention_biases` `[heads, window²]`
    /// (its columns are the distinct (|dy|, |dx|) offsets of a window), ratios from hidden widths.
    /// The image size is recorded by no weight (TinyViT has no positional embedding): `imgSize`.
    static func infer(shapes: [String: [Int]], imgSize: Int) throws -> TinyViTConfig {
        let r = ShapeReader(shapes: shapes)
        var c = TinyViTConfig()
        guard ArchitectureLimits.imageSize.contains(imgSize) else {
            throw ArchitectureError.implausible(what: "the input size (img_size)", value: imgSize,
                                                allowed: "it must lie in \(ArchitectureLimits.imageSize)")
        }
        c.imgSize = imgSize
        let stem = try r.require("image_encoder.patch_embed.seq.0.c.weight", "[embed / 2, 3, 3, 3]")
        c.inChans = stem[1]
        let layers = r.count("image_encoder.layers.")
        guard layers >= 2 else { throw ArchitectureError.missingKey("image_encoder.layers.1.blocks.0.attn.qkv.weight") }
        c.depths = (0..<layers).map { r.count("image_encoder.layers.\($0).blocks.") }
        if let empty = c.depths.firstIndex(of: 0) {
            throw ArchitectureError.missingKey("image_encoder.layers.\(empty).blocks.0")
        }
        c.embedDims = try [r.require("image_encoder.patch_embed.seq.2.c.weight", "[embed, embed / 2, 3, 3]")[0]]
            + (1..<layers).map { try r.require("image_encoder.layers.\($0).blocks.0.attn.norm.weight", "[embed]")[0] }
        c.numHeads = [0]
        c.windowSizes = [0]
        for i in 1..<layers {
            let key = "image_encoder.layers.\(i).blocks.0.attn.attention_biases"
            let bias = try r.require(key, "[heads, window²]")
            let window = Int(Double(bias[1]).squareRoot().rounded())
            guard window * window == bias[1], bias[0] <= c.embedDims[i], c.embedDims[i] % bias[0] == 0 else {
                throw ArchitectureError.unexpectedShape(key: key, shape: bias, expected: "[heads, window²] with heads dividing the stage width \(c.embedDims[i])")
            }
            guard ArchitectureLimits.window.contains(window) else {
                throw ArchitectureError.implausible(what: "stage \(i)'s attention window (from \(key))", value: window,
                                                    allowed: "a window must lie in \(ArchitectureLimits.window)")
            }
            c.numHeads.append(bias[0])
            c.windowSizes.append(window)
        }
        // Stage 0 has no attention; fill its unused entries as every published TinyViT does
        // (stage 1's head width and window), so an inferred config equals the builder's.
        c.numHeads[0] = c.embedDims[0] / (c.embedDims[1] / c.numHeads[1])
        c.windowSizes[0] = c.windowSizes[1]
        c.mlpRatio = Float(try r.require("image_encoder.layers.1.blocks.0.mlp.fc1.weight", "[hidden, embed]")[0]) / Float(c.embedDims[1])
        c.mbconvExpandRatio = Float(try r.require("image_encoder.layers.0.blocks.0.conv1.c.weight", "[hidden, embed, 1, 1]")[0]) / Float(c.embedDims[0])
        c.localConvSize = try r.require("image_encoder.layers.1.blocks.0.local_conv.c.weight", "[embed, 1, k, k]")[2]
        c.numClasses = try r.optional("image_encoder.head.weight", "[classes, embed]")?[0] ?? 0
        c.outChans = try r.require("image_encoder.neck.0.weight", "[out, embed, 1, 1]")[0]
        return c
    }
}
