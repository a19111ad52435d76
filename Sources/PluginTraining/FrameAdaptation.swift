// Test-time adaptation of the Stable-SAM plugin to one video (`track --adapt`, `segment --adapt`):
// a few RTS steps on the start frame alone, SAM frozen. The frame is encoded once; each step only
// runs the decoder from the plugin onward, so a run takes seconds on a CPU.
//
// The target of every object is the mask the model gives for the user's clean box (or a mask the
// user gives); the prompts are what tracking will feed in: RTS's noisy boxes and points, and
// tracker-like boxes (margin, motion error, a cut side, sometimes grown). The plugin so learns,
// for this object's look, to answer a bad prompt as it answers the good one.
import Foundation
import Imaging
import Metrics
import SegmentAnything
import Tensor

/// How long and how an adaptation trains.
public struct AdaptationSettings: Codable, Equatable, Sendable {
    /// Optimiser steps (each `batchSize` prompts).
    public var steps = 6
    public var batchSize = 4
    public var lr = 1e-3
    public var seed: UInt64 = 0
    /// Share of prompts drawn as a tracker's box (else RTS's box / noisy box / points).
    public var trackerShare = 0.5
    /// Share of those tracker boxes that are grown (`RTSPrompts.temporalLooseMargin`).
    public var looseShare = 0.5

    public init(steps: Int = 6, batchSize: Int = 4, lr: Double = 1e-3, seed: UInt64 = 0,
                trackerShare: Double = 0.5, looseShare: Double = 0.5) {
        self.steps = steps
        self.batchSize = batchSize
        self.lr = lr
        self.seed = seed
        self.trackerShare = trackerShare
        self.looseShare = looseShare
    }
}

/// What an object's adaptation target is.
public enum AdaptationTarget: Sendable {
    /// The model's single-mask answer for this box (original pixels).
    case box(Box)
    /// A mask the user drew, at the frame's size.
    case mask(BinaryMask)
}

public enum AdaptationError: Error, CustomStringConvertible, Equatable {
    /// The model's answer for an object's box (or the given mask) is empty: nothing to learn.
    case emptyTarget(object: Int)
    case maskSize(object: Int, width: Int, height: Int, frameWidth: Int, frameHeight: Int)
    case badSettings(String)

    public var description: String {
        switch self {
        case let .emptyTarget(object):
            "adaptation: object \(object + 1)'s target mask is empty (the model finds nothing in its box); "
                + "give a tighter box, a --mask, or leave out --adapt"
        case let .maskSize(object, w, h, fw, fh):
            "adaptation: object \(object + 1)'s mask is \(w)x\(h), the frame is \(fw)x\(fh)"
        case let .badSettings(why): "adaptation: \(why)"
        }
    }
}

/// The figures of one adaptation, for summary.json.
public struct AdaptationReport: Codable, Sendable {
    public var steps: Int
    public var prompts: Int
    public var objects: Int
    /// Target area per object, pixels.
    public var targetAreas: [Int]
    /// Mean loss of the first and the last step.
    public var firstLoss: Float
    public var lastLoss: Float
    /// Mean IoU with the targets of the single-mask answers to a fixed set of noisy prompts,
    /// before and after (the same prompts, drawn with another seed than the training's).
    public var noisyIoUBefore: Double
    public var noisyIoUAfter: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case steps, prompts, objects, targetAreas, firstLoss, lastLoss, seconds
        case noisyIoUBefore = "noisyIouBefore", noisyIoUAfter = "noisyIouAfter"
    }
}

public enum FrameAdaptation {
    /// Trains `plugin` in place on `image` (it must be `sam`'s attached plugin, or will become it;
    /// its route must not be `.regular`). Returns the report; `progress(step, steps, loss)` after each step.
    public static func adapt(sam: Sam, plugin: StableSAMPlugin, image: RGBImage, targets: [AdaptationTarget],
                             settings: AdaptationSettings = AdaptationSettings(),
                             progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws -> AdaptationReport {
        guard settings.steps >= 1, settings.batchSize >= 1 else { throw AdaptationError.badSettings("steps and batch size must be at least 1") }
        guard settings.lr > 0, settings.lr.isFinite else { throw AdaptationError.badSettings("the learning rate must be positive") }
        guard plugin.route != .regular else { throw AdaptationError.badSettings("--route regular never runs the plugin: nothing to adapt") }
        guard !targets.isEmpty else { throw AdaptationError.badSettings("no objects") }
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let started = clock()
        sam.plugin = plugin
        let predictor = Predictor(model: sam)
        predictor.setImage(image)
        guard let embedding = predictor.imageEmbedding else { throw AdaptationError.badSettings("the frame could not be encoded") }

        /// The single-mask answer to a box, at the frame's size.
        func answer(box: Box) throws -> [Bool] {
            let p = try predictor.predict(Prompt(box: box), multimask: false)
            return p.logits.storage[0..<(image.width * image.height)].map { $0 > 0 }
        }

        // Targets first, with the plugin as given: adaptation teaches it to keep this answer.
        var masks: [BinaryMask] = []
        for (i, target) in targets.enumerated() {
            let mask: BinaryMask
            switch target {
            case let .box(box):
                mask = BinaryMask(width: image.width, height: image.height, bits: try answer(box: box))
            case let .mask(m):
                guard m.width == image.width, m.height == image.height else {
                    throw AdaptationError.maskSize(object: i, width: m.width, height: m.height, frameWidth: image.width, frameHeight: image.height)
                }
                mask = m
            }
            guard mask.bits.contains(true) else { throw AdaptationError.emptyTarget(object: i) }
            masks.append(mask)
        }
        let imgSize = sam.config.imgSize, lowSize = 4 * sam.promptEncoder.imageEmbeddingSize.h
        let lowTargets = masks.map { LowResTarget.make($0, imgSize: imgSize, lowSize: lowSize) }
        let original = (h: image.height, w: image.width)

        func sample(_ object: Int, _ prompt: TrainingPrompt) -> PluginTrainingSample {
            PluginTrainingSample(sam: sam, imageEmbedding: embedding, originalSize: original, prompt: prompt, target: lowTargets[object])
        }
        func draw(_ rng: inout TrainingRandom) -> (Int, TrainingPrompt) {
            let object = rng.below(masks.count), mask = masks[object]
            if rng.unit() < settings.trackerShare, let box = Box(mask) {
                let (b, _) = RTSPrompts.temporal(boxes: [0: box], frame: 0, rng: &rng, width: mask.width, height: mask.height,
                                                 loose: settings.looseShare)
                return (object, TrainingPrompt(kind: "tracker", box: b, points: []))
            }
            return (object, RTSPrompts.still(mask, rng: &rng))
        }

        // A fixed probe set, drawn apart from the training stream, measures what the steps did.
        var probeRNG = TrainingRandom(seed: settings.seed ^ 0x5EED_AD47)
        let probes = (0..<max(8, 2 * masks.count)).map { _ in draw(&probeRNG) }.filter { $0.1.box != nil }
        func probeIoU() throws -> Double {
            guard !probes.isEmpty else { return .nan }
            var sum = 0.0
            for (object, prompt) in probes {
                sum += MaskMetrics.iou(try answer(box: prompt.box!), masks[object].bits)
            }
            return sum / Double(probes.count)
        }
        let before = try probeIoU()

        let trainer = PluginTrainer(sam: sam, plugin: plugin, options: .init(lr: settings.lr))
        var rng = TrainingRandom(seed: settings.seed)
        var first: Float = .nan, last: Float = .nan
        for step in 1...settings.steps {
            let batch = (0..<settings.batchSize).map { _ in draw(&rng) }.map { sample($0.0, $0.1) }
            let record = trainer.step(batch)
            if step == 1 { first = record.loss }
            last = record.loss
            progress(step, settings.steps, record.loss)
        }
        trainer.writeBack()
        let after = try probeIoU()
        return AdaptationReport(steps: settings.steps, prompts: settings.steps * settings.batchSize, objects: masks.count,
                                targetAreas: masks.map { $0.bits.reduce(0) { $0 + ($1 ? 1 : 0) } }, firstLoss: first, lastLoss: last,
                                noisyIoUBefore: before, noisyIoUAfter: after, seconds: clock() - started)
    }
}
