import Foundation
import Imaging
import Metrics
import PluginTraining
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// `FrameAdaptation` on the `win` tiny SAM (C = 32) and one generated scene.
@Suite("plugin adaptation to one frame (--adapt)")
struct FrameAdaptationTests {
    static func sam() throws -> Sam { try SamLoader.load(Fixtures.url("sam_tiny_win.pth")) }

    static func scene() -> (RGBImage, BinaryMask) {
        let (image, ids) = TinyTrainingData.scene(seed: 3)
        return (RGBImage(width: image.width, height: image.height, pixels: image.pixels),
                BinaryMask(width: ids.width, height: ids.height, bits: ids.indices.map { $0 == 1 }))
    }

    static let settings = AdaptationSettings(steps: 30, batchSize: 4, lr: 1e-2, seed: 5)

    /// Mean BCE + Dice of the plugin on fixed prompts (the box and noisy boxes of the mask).
    func loss(_ sam: Sam, _ plugin: StableSAMPlugin, image: RGBImage, mask: BinaryMask) -> Float {
        let predictor = Predictor(model: sam)
        predictor.setImage(image)
        let embedding = predictor.imageEmbedding!
        let trainer = PluginTrainer(sam: sam, plugin: plugin)
        let imgSize = sam.config.imgSize, low = 4 * sam.promptEncoder.imageEmbeddingSize.h
        let target = LowResTarget.make(mask, imgSize: imgSize, lowSize: low)
        var rng = TrainingRandom(seed: 99)
        let box = Box(mask)!
        let samples = (0..<8).map { k -> PluginTrainingSample in
            let b = k == 0 ? box : RTSPrompts.noisyBox(box, scale: 0.4, rng: &rng, width: mask.width, height: mask.height)
            return PluginTrainingSample(sam: sam, imageEmbedding: embedding, originalSize: (mask.height, mask.width),
                                        prompt: TrainingPrompt(kind: "noisy_box", box: b, points: []), target: target)
        }
        return trainer.lossAndGradients(samples).loss
    }

    @Test("adapting from an identity plugin to a given mask lowers the loss on noisy prompts of that mask")
    func lowersLoss() throws {
        let sam = try Self.sam()
        let (image, mask) = Self.scene()
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
        let before = loss(sam, plugin, image: image, mask: mask)
        let report = try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.mask(mask)], settings: Self.settings)
        let after = loss(sam, plugin, image: image, mask: mask)
        #expect(after < before, "loss \(before) -> \(after)")
        #expect(report.steps == 30 && report.prompts == 120 && report.objects == 1)
        #expect(report.targetAreas == [mask.bits.filter { $0 }.count])
        #expect(sam.plugin === plugin, "the adapted plugin is the one attached")
    }

    @Test("the same seed gives the same weights; another seed others")
    func deterministic() throws {
        let (image, mask) = Self.scene()
        func weights(seed: UInt64) throws -> [Float] {
            let sam = try Self.sam()
            let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
            var s = Self.settings
            s.steps = 4
            s.seed = seed
            _ = try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.mask(mask)], settings: s)
            return PluginParameters(plugin).variables.flatMap { $0.value.storage }
        }
        // Compared whole, reported by a checksum (the vectors are long).
        func sum(_ w: [Float]) -> Double { w.enumerated().reduce(0) { $0 + Double($1.element) * Double($1.offset % 97 + 1) } }
        let a = try weights(seed: 1), b = try weights(seed: 1), c = try weights(seed: 2)
        #expect(a == b, "checksums \(sum(a)) vs \(sum(b))")
        #expect(a != c, "checksums \(sum(a)) vs \(sum(c))")
    }

    @Test("a box target is the model's own answer for the box: the plugin is trained towards it")
    func boxTarget() throws {
        let sam = try Self.sam()
        let (image, _) = Self.scene()
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
        sam.plugin = plugin
        let predictor = Predictor(model: sam)
        predictor.setImage(image)
        // Find a box the random model answers with a non-empty mask.
        let boxes = [Box(x0: 4, y0: 4, x1: 60, y1: 50), Box(x0: 20, y0: 10, x1: 90, y1: 70), Box(x0: 0, y0: 0, x1: 96, y1: 72)]
        let box = try #require(try boxes.first { b in
            try predictor.predict(Prompt(box: b), multimask: false).logits.storage.contains { $0 > 0 }
        })
        let answer = try predictor.predict(Prompt(box: box), multimask: false)
        let target = BinaryMask(width: image.width, height: image.height, bits: answer.logits.storage.map { $0 > 0 })
        let report = try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.box(box)],
                                               settings: Self.settings)
        #expect(report.targetAreas == [target.bits.filter { $0 }.count])
    }

    @Test("an empty target, a mask of another size and the regular route are refused, naming the object")
    func refusals() throws {
        let sam = try Self.sam()
        let (image, mask) = Self.scene()
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
        let empty = BinaryMask(width: image.width, height: image.height, bits: [Bool](repeating: false, count: image.width * image.height))
        #expect(throws: AdaptationError.emptyTarget(object: 1)) {
            try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.mask(mask), .mask(empty)])
        }
        let small = BinaryMask(width: 10, height: 10, bits: [Bool](repeating: true, count: 100))
        #expect(throws: AdaptationError.maskSize(object: 0, width: 10, height: 10, frameWidth: image.width, frameHeight: image.height)) {
            try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.mask(small)])
        }
        #expect(AdaptationError.emptyTarget(object: 1).description.contains("object 2"))
        plugin.route = .regular
        #expect(throws: AdaptationError.self) {
            try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: [.mask(mask)])
        }
    }
}
