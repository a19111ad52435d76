// Infers a SAM architecture from checkpoint tensor shapes, so ViT-B/L/H and custom sizes load with no flags.

import NN

public enum ArchitectureError: Error, CustomStringConvertible, Equatable {
    case missingKey(String)
    case unexpectedShape(key: String, shape: [Int], expected: String)
    /// A number read from the weights (or metadata) that no SAM has, e.g. a window wider than the grid.
    case implausible(what: String, value: Int, allowed: String)
    case notSam(sampleKeys: [String])
    case decoderHeads(width: Int, heads: Int)

    public var description: String {
        switch self {
        case .missingKey(let k):
            return "checkpoint has no \(UntrustedText.quoted(k)): it is not a complete SAM state dict (expected keys image_encoder.*, prompt_encoder.*, mask_decoder.*)"
        case let .unexpectedShape(k, s, e):
            return "\(UntrustedText.quoted(k)) has shape \(s), expected \(e): this checkpoint is not a SAM model the engine can build"
        case let .implausible(what, value, allowed):
            return "\(what) is \(value), but \(allowed): this checkpoint is not a SAM model the engine can build"
        case let .decoderHeads(width, heads):
            return "the mask decoder is \(width) wide, which \(heads) attention heads do not divide (its cross-attention is \(width / 2) wide); checkpoints do not record the head count: save the model as safetensors with metadata decoder_num_heads"
        case .notSam(let keys):
            return "this checkpoint is not a SAM model (first keys: \(keys.map { UntrustedText.quoted($0, limit: 60) }.joined(separator: ", "))); give a SAM ViT-B/L/H checkpoint such as sam_vit_b_01ec64.pth"
        }
    }
}

/// Checkpoint shapes as inference reads them: every tensor it reads must have the layout it
/// expects, rank and all, with no empty dimension, because every number read from one sizes a
/// layer (a `[2^30, 0]` head weight must not become a 2^30-wide layer).
struct ShapeReader {
    let shapes: [String: [Int]]

    /// `layout` names the dimensions, e.g. `"[embed, 3, p, p]"`; its entry count is the rank.
    func require(_ key: String, _ layout: String) throws -> [Int] {
        guard let s = shapes[key] else { throw ArchitectureError.missingKey(key) }
        let rank = layout.split(separator: ",").count
        guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
            throw ArchitectureError.unexpectedShape(key: key, shape: s, expected: "\(layout) with no empty dimension")
        }
        return s
    }

    func optional(_ key: String, _ layout: String) throws -> [Int]? {
        shapes[key] == nil ? nil : try require(key, layout)
    }

    /// Number of distinct indices `N` among keys `prefix + "N."...`.
    func count(_ prefix: String) -> Int {
        Set(shapes.keys.compactMap { k -> Int? in
            guard k.hasPrefix(prefix) else { return nil }
            return Int(k.dropFirst(prefix.count).prefix { $0 != "." })
        }).count
    }
}

/// Limits on numbers that no weight fixes (input size, head count) or that size work beyond the
/// weights (a window's attention table): generous for every published SAM, MobileSAM and our own.
enum ArchitectureLimits {
    /// Input side in pixels (1024 in every official model; the embedded default is 320).
    static let imageSize = 16 ... 4096
    /// Attention window side (SAM 14, MobileSAM 7 and 14).
    static let window = 1 ... 32
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
        let r = ShapeReader(shapes: shapes)
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
        config.promptEmbedDim = try r.require("prompt_encoder.no_mask_embed.weight", "[1, embed]")[1]
        config.maskInChans = try r.require("prompt_encoder.mask_downscaling.3.weight", "[mask_in, c, 2, 2]")[0]
        var d = MaskDecoderConfig()
        d.transformerDim = try r.require("mask_decoder.iou_token.weight", "[1, width]")[1]
        d.numMultimaskOutputs = try r.require("mask_decoder.mask_tokens.weight", "[masks, width]")[0] - 1
        d.transformerMlpDim = try r.require("mask_decoder.transformer.layers.0.mlp.lin1.weight", "[mlp, width]")[0]
        d.transformerDepth = r.count("mask_decoder.transformer.layers.")
        d.iouHeadHiddenDim = try r.require("mask_decoder.iou_prediction_head.layers.0.weight", "[hidden, width]")[0]
        d.iouHeadDepth = r.count("mask_decoder.iou_prediction_head.layers.")
        d.transformerNumHeads = decoderHeads
        guard decoderHeads > 0, d.transformerDim % decoderHeads == 0, d.transformerDim / 2 >= decoderHeads,
              (d.transformerDim / 2) % decoderHeads == 0 else {
            throw ArchitectureError.decoderHeads(width: d.transformerDim, heads: decoderHeads)
        }
        config.maskDecoder = d
        return config
    }

    /// SAM's ViT: see `infer`.
    static func inferViT(shapes: [String: [Int]], imgSize: Int) throws -> ViTConfig {
        let r = ShapeReader(shapes: shapes)
        var v = ViTConfig()
        let patchKey = "image_encoder.patch_embed.proj.weight"
        let patch = try r.require(patchKey, "[embed, 3, p, p]")
        guard patch[2] == patch[3] else {
            throw ArchitectureError.unexpectedShape(key: patchKey, shape: patch, expected: "[embed, 3, p, p] (square patches)")
        }
        v.embedDim = patch[0]; v.inChans = patch[1]; v.patchSize = patch[2]
        v.depth = r.count("image_encoder.blocks.")
        guard v.depth > 0 else { throw ArchitectureError.missingKey("image_encoder.blocks.0.attn.qkv.weight") }
        v.outChans = try r.require("image_encoder.neck.0.weight", "[out, embed, 1, 1]")[0]
        v.mlpDim = try r.require("image_encoder.blocks.0.mlp.lin1.weight", "[mlp, embed]")[0]
        v.qkvBias = shapes["image_encoder.blocks.0.attn.qkv.bias"] != nil
        if let pos = try r.optional("image_encoder.pos_embed", "[1, grid, grid, embed]") {
            v.useAbsPos = true
            let (size, overflow) = pos[1].multipliedReportingOverflow(by: v.patchSize)
            v.imgSize = overflow ? .max : size
        } else {
            v.useAbsPos = false
            v.imgSize = imgSize
        }
        guard ArchitectureLimits.imageSize.contains(v.imgSize), v.imgSize >= v.patchSize else {
            throw ArchitectureError.implausible(what: "the input size (pos_embed grid x patch \(v.patchSize), or img_size)", value: v.imgSize,
                                                allowed: "it must lie in \(ArchitectureLimits.imageSize) and hold a patch")
        }
        let grid = v.imgSize / v.patchSize
        if shapes["image_encoder.blocks.0.attn.rel_pos_h"] != nil {
            v.useRelPos = true
            var global: [Int] = [], window = 0
            for i in 0..<v.depth {
                let key = "image_encoder.blocks.\(i).attn.rel_pos_h"
                let rel = try r.require(key, "[2 window - 1, head_dim]")
                // Its width is the head dimension: it must divide the embedding into heads.
                guard v.embedDim % rel[1] == 0, rel[0] % 2 == 1 else {
                    throw ArchitectureError.unexpectedShape(key: key, shape: rel, expected: "[2 window - 1, head_dim] with head_dim dividing the width \(v.embedDim)")
                }
                v.numHeads = v.embedDim / rel[1]
                let size = (rel[0] + 1) / 2
                if size == grid {
                    global.append(i)
                } else {
                    guard ArchitectureLimits.window.contains(size), size < grid else {
                        throw ArchitectureError.implausible(what: "block \(i)'s attention window (from \(key))", value: size,
                                                            allowed: "a window must lie in \(ArchitectureLimits.window) and be smaller than the \(grid)-token grid")
                    }
                    window = size
                }
            }
            // No windowed block means window_size 0, which the reference reads as "all global".
            v.globalAttnIndexes = window == 0 ? [] : global
            v.windowSize = window
        } else {
            v.useRelPos = false
            guard v.numHeads > 0, v.embedDim % v.numHeads == 0 else {
                throw ArchitectureError.implausible(what: "the encoder width", value: v.embedDim,
                                                    allowed: "without rel-pos tables the head count is \(v.numHeads), which must divide it")
            }
        }
        return v
    }
}
