import Foundation
import NN
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// Stage-by-stage parity with the official PyTorch SAM on random-initialised small configs.
/// Tolerances: |a - e| <= atol + rtol·|e| with atol 1e-4, rtol 1e-3 for embeddings and logits
/// (float32 reductions are summed in another order than PyTorch's); the resized image is exact.
@Suite("SAM matches the official PyTorch model stage by stage")
struct SamParityTests {
    /// `tinyvit`: a reduced MobileSAM (TinyViT encoder) from Scripts/make_tinyvit_fixtures.py.
    static let configs = ["win", "glob", "tinyvit"]

    @Test("architecture is inferred from the checkpoint alone", arguments: ["win", "glob"])
    func inferredArchitecture(name: String) throws {
        let f = try ParityFixture(name)
        let sam = try f.loadModel()
        struct Meta: Decodable {
            struct Enc: Decodable { let img_size, patch_size, embed_dim, depth, num_heads, window_size, out_chans: Int; let global_attn_indexes: [Int] }
            let image_encoder: Enc
        }
        let meta = try JSONDecoder().decode(Meta.self, from: Data(f.stages.metadata["config"]!.utf8)).image_encoder
        guard case .vit(let v) = sam.config.imageEncoder else { Issue.record("not a ViT"); return }
        #expect(v.imgSize == meta.img_size && v.patchSize == meta.patch_size && v.embedDim == meta.embed_dim)
        #expect(v.depth == meta.depth && v.numHeads == meta.num_heads && v.outChans == meta.out_chans)
        #expect(v.globalAttnIndexes == meta.global_attn_indexes)
        if meta.window_size > 0 { #expect(v.windowSize == meta.window_size) }
    }

    @Test("pre-processing: Pillow-exact resize, normalise, pad", arguments: configs)
    func preprocessing(name: String) throws {
        let f = try ParityFixture(name)
        let sam = try f.loadModel()
        let resized = ResizeLongestSide(targetLength: sam.config.imgSize).applyImage(try f.image())
        let expected = try f.image("resized_image")
        #expect(resized.width == expected.width && resized.height == expected.height)
        let mismatches = zip(resized.pixels, expected.pixels).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(mismatches) resized pixels differ from Pillow's")
        let r = compare(sam.preprocess(resized), try f.tensor("input_image"), atol: 1e-6, rtol: 1e-6)
        #expect(r.passed, "input_image: \(r)")
    }

    @Test("image embedding and dense positional encoding", arguments: configs)
    func imageEmbedding(name: String) throws {
        let f = try ParityFixture(name)
        let sam = try f.loadModel()
        let emb = compare(sam.imageEncoder(try f.tensor("input_image")), try f.tensor("image_embedding"), atol: 1e-4, rtol: 1e-3)
        #expect(emb.passed, "image_embedding: \(emb)")
        let pe = compare(sam.promptEncoder.densePositionalEncoding(), try f.tensor("dense_pe"), atol: 1e-5, rtol: 1e-4)
        #expect(pe.passed, "dense_pe: \(pe)")
    }

    @Test("every prompt case: embeddings, low-res masks, IoU, logits and final masks", arguments: configs)
    func promptCases(name: String) throws {
        let f = try ParityFixture(name)
        let predictor = Predictor(model: try f.loadModel())
        predictor.setImage(try f.image())
        #expect(f.cases.count >= 8)
        _ = try checkPromptCases(f, predictor)
    }
}

/// The worst figures over a fixture's prompt cases, for reports.
struct CaseSummary {
    var maxLowResError: Float = 0, maxIoUError: Float = 0, maxLogitError: Float = 0, minMaskIoU = 1.0
}

/// Runs every case of `f` through `predictor` (image already set) and expects each stage to match.
func checkPromptCases(_ f: ParityFixture, _ predictor: Predictor) throws -> CaseSummary {
    var summary = CaseSummary()
    for c in f.cases {
        let p = try predictor.predict(try f.prompt(c), multimask: c.multimask)
        let stage = "\(f.name) case \(c.k) (\(c.description))"
        let sparse = compare(p.sparseEmbeddings, try f.tensor("case\(c.k).sparse"), atol: 1e-5, rtol: 1e-4)
        #expect(sparse.passed, "\(stage) sparse: \(sparse)")
        let dense = compare(p.denseEmbeddings, try f.tensor(c.dense == "no_mask_dense" ? "no_mask_dense" : "case\(c.k).dense"), atol: 1e-4, rtol: 1e-3)
        #expect(dense.passed, "\(stage) dense: \(dense)")
        let expectedLow = try f.tensor("case\(c.k).low_res_masks")
        let low = compare(p.lowResLogits, expectedLow.reshaped(Array(expectedLow.shape.dropFirst())), atol: 1e-4, rtol: 1e-3)
        #expect(low.passed, "\(stage) low_res_masks: \(low)")
        let iou = compare(p.iou, try f.tensor("case\(c.k).iou").storage, atol: 1e-4, rtol: 1e-3)
        #expect(iou.passed, "\(stage) iou: \(iou)")
        let logits0 = Array(p.logits.storage[0..<(p.logits.shape[1] * p.logits.shape[2])])
        let lg = compare(logits0, try f.tensor("case\(c.k).logits").storage, atol: 1e-4, rtol: 1e-3)
        #expect(lg.passed, "\(stage) logits: \(lg)")
        let (mshape, masks) = try f.stages.uint8(named: "case\(c.k).masks")
        let plane = mshape[2] * mshape[3]
        for m in 0..<mshape[1] {
            let expected = Array(masks[(m * plane)..<((m + 1) * plane)])
            let iouValue = maskIoU(p.mask(m), expected)
            #expect(iouValue >= 0.999, "\(stage) mask \(m): IoU \(iouValue)")
            summary.minMaskIoU = min(summary.minMaskIoU, iouValue)
        }
        summary.maxLowResError = max(summary.maxLowResError, low.maxAbsError)
        summary.maxIoUError = max(summary.maxIoUError, iou.maxAbsError)
        summary.maxLogitError = max(summary.maxLogitError, lg.maxAbsError)
    }
    return summary
}

/// IoU of two 0/1 masks; 1 when both are empty.
func maskIoU(_ a: [UInt8], _ b: [UInt8]) -> Double {
    var inter = 0, union = 0
    for i in a.indices { let x = a[i] != 0, y = b[i] != 0; if x && y { inter += 1 }; if x || y { union += 1 } }
    return union == 0 ? 1 : Double(inter) / Double(union)
}
