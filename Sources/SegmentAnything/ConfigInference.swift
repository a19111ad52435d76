// Infers a SAM architecture from checkpoint tensor shapes, so ViT-B/L/H and custom sizes load with no flags.

public enum ArchitectureError: Error, CustomStringConvertible, Equatable {
    case missingKey(String)
    case unexpectedShape(key: String, shape: [Int], expected: String)
    case notSam(sampleKeys: [String])

    public var description: String {
        switch self {
        case .missingKey(let k):
            return "checkpoint has no '\(k)': it is not a complete SAM state dict (expected keys image_encoder.*, prompt_encoder.*, mask_decoder.*)"
        case let .unexpectedShape(k, s, e): return "'\(k)' has shape \(s), expected \(e)"
        case .notSam(let keys):
            return "this checkpoint is not a SAM model (first keys: \(keys.joined(separator: ", "))); give a SAM ViT-B/L/H checkpoint such as sam_vit_b_01ec64.pth"
        }
    }
}

extension SamConfig {
    /// Reads every architectural number from the shapes of the weights:
    /// width and patch size from `patch_embed.proj.weight`, image size from `pos_embed`, depth from the
    /// block count, heads from `rel_pos_h` (its width is the head dimension), window size and global
    /// blocks from the rel-pos table lengths (2*window-1 vs 2*grid-1), decoder sizes from its layers.
    /// A TinyViT encoder (MobileSAM) is recognised by its keys (`image_encoder.patch_embed.seq.0.c.weight`)
    /// and inferred by `TinyViTConfig.infer`.
    /// `decoderHeads` is not stored in any checkpoint (8 in every official model); neither is the input
    /// size when no `pos_embed` fixes it (TinyViT, ViT without absolute positions): `imgSize`, 1024 in
    /// every official model (and the only size MobileSAM's own forward accepts).
    public static func infer(shapes: [String: [Int]], decoderHeads: Int = 8, imgSize: Int = 1024) throws -> SamConfig {
        func shape(_ k: String) throws -> [Int] {
            guard let s = shapes[k] else { throw ArchitectureError.missingKey(k) }
            return s
        }
        guard shapes.keys.contains(where: { $0.hasPrefix("image_encoder.") }),
              shapes.keys.contains(where: { $0.hasPrefix("mask_decoder.") }) else {
            throw ArchitectureError.notSam(sampleKeys: Array(shapes.keys.sorted().prefix(5)))
        }
        var config: SamConfig
        if TinyViTConfig.isTinyViT(shapes) {
            config = .tinyViT(try TinyViTConfig.infer(shapes: shapes, imgSize: imgSize))
        } else {
            config = .vit(try inferViT(shapes: shapes, imgSize: imgSize))
        }
        config.promptEmbedDim = try shape("prompt_encoder.no_mask_embed.weight")[1]
        config.maskInChans = try shape("prompt_encoder.mask_downscaling.3.weight")[0]
        var d = MaskDecoderConfig()
        d.transformerDim = try shape("mask_decoder.iou_token.weight")[1]
        d.numMultimaskOutputs = try shape("mask_decoder.mask_tokens.weight")[0] - 1
        d.transformerMlpDim = try shape("mask_decoder.transformer.layers.0.mlp.lin1.weight")[0]
        d.transformerDepth = Set(shapes.keys.compactMap { k -> Int? in
            guard k.hasPrefix("mask_decoder.transformer.layers.") else { return nil }
            return Int(k.dropFirst("mask_decoder.transformer.layers.".count).prefix { $0 != "." })
        }).count
        d.iouHeadHiddenDim = try shape("mask_decoder.iou_prediction_head.layers.0.weight")[0]
        d.iouHeadDepth = Set(shapes.keys.compactMap { k -> Int? in
            guard k.hasPrefix("mask_decoder.iou_prediction_head.layers.") else { return nil }
            return Int(k.dropFirst("mask_decoder.iou_prediction_head.layers.".count).prefix { $0 != "." })
        }).count
        d.transformerNumHeads = decoderHeads
        config.maskDecoder = d
        return config
    }

    /// SAM's ViT: see `infer`.
    static func inferViT(shapes: [String: [Int]], imgSize: Int) throws -> ViTConfig {
        func shape(_ k: String) throws -> [Int] {
            guard let s = shapes[k] else { throw ArchitectureError.missingKey(k) }
            return s
        }
        var v = ViTConfig()
        let patch = try shape("image_encoder.patch_embed.proj.weight")
        guard patch.count == 4, patch[2] == patch[3] else {
            throw ArchitectureError.unexpectedShape(key: "image_encoder.patch_embed.proj.weight", shape: patch, expected: "[embed, 3, p, p]")
        }
        v.embedDim = patch[0]; v.inChans = patch[1]; v.patchSize = patch[2]
        v.depth = Set(shapes.keys.compactMap { k -> Int? in
            guard k.hasPrefix("image_encoder.blocks.") else { return nil }
            return Int(k.dropFirst("image_encoder.blocks.".count).prefix { $0 != "." })
        }).count
        guard v.depth > 0 else { throw ArchitectureError.missingKey("image_encoder.blocks.0.attn.qkv.weight") }
        let neck = try shape("image_encoder.neck.0.weight")
        v.outChans = neck[0]
        v.mlpDim = try shape("image_encoder.blocks.0.mlp.lin1.weight")[0]
        v.qkvBias = shapes["image_encoder.blocks.0.attn.qkv.bias"] != nil
        if let pos = shapes["image_encoder.pos_embed"] {
            v.useAbsPos = true
            v.imgSize = pos[1] * v.patchSize
        } else {
            v.useAbsPos = false
            v.imgSize = imgSize
        }
        let grid = v.imgSize / v.patchSize
        if shapes["image_encoder.blocks.0.attn.rel_pos_h"] != nil {
            v.useRelPos = true
            var global: [Int] = [], window = 0
            for i in 0..<v.depth {
                let rel = try shape("image_encoder.blocks.\(i).attn.rel_pos_h")
                v.numHeads = v.embedDim / rel[1]
                let size = (rel[0] + 1) / 2
                if size == grid { global.append(i) } else { window = size }
            }
            // No windowed block means window_size 0, which the reference reads as "all global".
            v.globalAttnIndexes = window == 0 ? [] : global
            v.windowSize = window
        } else {
            v.useRelPos = false
        }
        return v
    }
}
