import Foundation
import NN
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// MobileSAM's TinyViT encoder against mobile_sam's own code. Stage parity of the reduced model runs
/// in `SamParityTests` (config `tinyvit`); these check what is TinyViT-specific.
/// Repro: `.venv-scripts/bin/python Scripts/make_tinyvit_fixtures.py` (seed and versions in the metadata).
@Suite("TinyViT (MobileSAM) loads and runs like mobile_sam")
struct TinyViTTests {
    struct EncoderMeta: Decodable {
        let img_size, in_chans, num_classes, local_conv_size, out_chans: Int
        let embed_dims, depths, num_heads, window_sizes: [Int]
        let mlp_ratio, mbconv_expand_ratio: Float
    }

    @Test("the inferred architecture equals the generator's config")
    func inferredArchitecture() throws {
        let f = try ParityFixture("tinyvit")
        let sam = try f.loadModel()
        struct Meta: Decodable { let image_encoder: EncoderMeta }
        let m = try JSONDecoder().decode(Meta.self, from: Data(f.stages.metadata["config"]!.utf8)).image_encoder
        guard case .tinyViT(let t) = sam.config.imageEncoder else { Issue.record("not inferred as TinyViT"); return }
        var expected = TinyViTConfig()
        expected.imgSize = m.img_size; expected.inChans = m.in_chans; expected.embedDims = m.embed_dims
        expected.depths = m.depths; expected.numHeads = m.num_heads; expected.windowSizes = m.window_sizes
        expected.mlpRatio = m.mlp_ratio; expected.mbconvExpandRatio = m.mbconv_expand_ratio
        expected.localConvSize = m.local_conv_size; expected.numClasses = m.num_classes; expected.outChans = m.out_chans
        #expect(t == expected)
        #expect(sam.config.embeddingSize == m.img_size / 16)
    }

    @Test("loading detects a TinyViT checkpoint with no flags")
    func detectsTinyViT() throws {
        let sam = try SamLoader.load(Fixtures.url("sam_tiny_tinyvit.pth"))
        guard case .tinyViT(let t) = sam.config.imageEncoder else { Issue.record("not inferred as TinyViT"); return }
        #expect(t.imgSize == 1024, "with no size given, the official 1024 px is assumed")
        #expect(sam.imageEncoder is TinyViT)
    }

    @Test("the vit_t preset has exactly mobile_sam.pt's keys and shapes, and infers back to itself")
    func presetMatchesMobileSAM() throws {
        struct Shapes: Decodable { let shapes: [String: [Int]] }
        let data = try Data(contentsOf: Fixtures.url("mobile_sam_vit_t_shapes.json"))
        let reference = try JSONDecoder().decode(Shapes.self, from: data).shapes
            .filter { !$0.key.hasSuffix(".num_batches_tracked") }
        let preset = Sam(SamPreset.vitT.config)
        let ours = Dictionary(uniqueKeysWithValues: preset.parameterShapes().map { ($0.key, $0.shape) })
        #expect(Set(ours.keys).subtracting(reference.keys).sorted() == [], "keys mobile_sam.pt lacks")
        #expect(Set(reference.keys).subtracting(ours.keys).sorted() == [], "keys the preset lacks")
        for (k, shape) in reference where ours[k] != nil { #expect(ours[k] == shape, "\(k)") }
        #expect(try SamConfig.infer(shapes: reference) == SamPreset.vitT.config)
    }

    @Test("the rebuilt attention_bias_idxs equal the reference's non-persistent buffer")
    func attentionBiasIdxs() throws {
        let f = try ParityFixture("tinyvit")
        guard let encoder = try f.loadModel().imageEncoder as? TinyViT else { Issue.record("not TinyViT"); return }
        for i in 1..<encoder.layers.count {
            guard let layer = encoder.layers[i] as? TinyViT.BasicLayer else { Issue.record("layer \(i)"); continue }
            let expected = try f.tensor("attention_bias_idxs.layers.\(i)")
            #expect(layer.blocks[0].attn.attentionBiasIdxs.map(Float.init) == expected.storage, "layers.\(i)")
        }
    }

    @Test("Conv2d_BN folds its BatchNorm into the convolution exactly")
    func batchNormFolding() throws {
        let bn = BatchNorm2d(4)
        bn.weight = randomTensor([4], seed: 1)
        bn.bias = randomTensor([4], seed: 2)
        bn.runningMean = randomTensor([4], seed: 3)
        bn.runningVar = randomTensor([4], seed: 4, scale: 0.4) + Tensor(repeating: 1, shape: [4])
        let w = randomTensor([4, 3, 3, 3], seed: 5), x = randomTensor([1, 3, 6, 6], seed: 6)
        let (fw, fb) = bn.folded(convWeight: w, convBias: nil)
        let fused = x.conv2d(fw, fb, padding: 1)
        // The unfused reference: convolution, then normalisation with running statistics.
        var expected = x.conv2d(w, nil, padding: 1)
        for c in 0..<4 {
            let inv = 1 / (bn.runningVar.storage[c] + bn.eps).squareRoot()
            for i in 0..<36 {
                let v = expected.storage[c * 36 + i]
                expected.storage[c * 36 + i] = (v - bn.runningMean.storage[c]) * inv * bn.weight.storage[c] + bn.bias.storage[c]
            }
        }
        let r = compare(fused, expected, atol: 1e-6, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }
}

/// The full-size check, opt-in because its inputs (~90 MB) are generated, never committed:
/// `.venv-scripts/bin/python Scripts/make_tinyvit_fixtures.py --full vit_t --out DIR`, then
/// `STABLESAM_TINYVIT_FULL=DIR swift test --skip-build --filter TinyViTFullParity`.
@Suite("Full-size random MobileSAM matches mobile_sam stage by stage",
       .enabled(if: ProcessInfo.processInfo.environment["STABLESAM_TINYVIT_FULL"] != nil))
struct TinyViTFullParity {
    @Test("build_sam_vit_t with random weights: embedding, every prompt case, masks")
    func fullModel() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["STABLESAM_TINYVIT_FULL"]!)
        let f = try ParityFixture(name: "vit_t", weights: dir.appendingPathComponent("mobile_sam_random.pt"),
                                  stages: dir.appendingPathComponent("stages.safetensors"))
        let sam = try SamLoader.load(f.weights)   // no flags: everything from the checkpoint
        guard case .tinyViT(let t) = sam.config.imageEncoder else { Issue.record("not inferred as TinyViT"); return }
        #expect(t == .mobileSAM)
        let input = try f.tensor("input_image")
        let pre = compare(sam.preprocess(ResizeLongestSide(targetLength: 1024).applyImage(try f.image())), input, atol: 1e-6, rtol: 1e-6)
        #expect(pre.passed, "input_image: \(pre)")
        let t0 = Date()
        let embedding = sam.imageEncoder(input)
        let encoderSeconds = Date().timeIntervalSince(t0)
        let emb = compare(embedding, try f.tensor("image_embedding"), atol: 1e-4, rtol: 1e-3)
        #expect(emb.passed, "image_embedding: \(emb)")
        let predictor = Predictor(model: sam)
        predictor.setEmbedding(embedding, originalSize: (480, 640))
        let summary = try checkPromptCases(f, predictor)
        print("TinyViT full parity: image_embedding \(emb); encoder \(String(format: "%.2f", encoderSeconds)) s; "
              + "low_res max |err| \(summary.maxLowResError), iou max |err| \(summary.maxIoUError), "
              + "logits max |err| \(summary.maxLogitError), min mask IoU \(summary.minMaskIoU) over \(f.cases.count) cases")
    }
}
