// One `train-plugin` run: data -> cached embeddings -> RTS epochs -> plugin file, resumable. The
// loop of Scripts/stable_sam/train.py `train`, with the embeddings computed once up front. No
// stderr, signals or argument parsing here: progress goes to a callback, stopping is a closure.
import Foundation
import Metrics
import SegmentAnything
import Tensor

public final class PluginTrainingRun {
    /// One step's log line (train.py's record).
    public struct Record: Codable, Sendable {
        public var step: Int, steps: Int, epoch: Int
        public var loss: Float, bce: Float, dice: Float, a1: Float, a2: Float
        public var prompts: [String]
        public var images: Int
    }

    public enum Event {
        /// Embeddings: `done` of `total` images ready (`encoded` of them computed now).
        case encoding(done: Int, total: Int, encoded: Int)
        case step(Record)
    }

    public enum Outcome: Equatable {
        case finished(plugin: URL)
        case interrupted(state: URL, step: Int)
    }

    public let sam: Sam
    public let baseModel: String
    public let data: TrainingDataset
    /// Where the clip samples come from: `clips`, else `data` when it is a DAVIS folder; nil with a
    /// temporal share of 0.
    public let clips: TrainingDataset?
    public let settings: TrainPluginSettings
    public let output: URL
    public let cache: EmbeddingCache

    /// `<out>.state`: written on interruption, read by `resume`, removed when the run finishes.
    public var stateURL: URL { URL(fileURLWithPath: output.path + ".state") }
    public static func cacheFolder(for output: URL) -> URL { URL(fileURLWithPath: output.path + ".cache") }

    public init(sam: Sam, baseModel: String, data: TrainingDataset, clips: TrainingDataset? = nil,
                settings: TrainPluginSettings, output: URL, encoder: (any FrameEncoding)? = nil) {
        precondition(settings.batchSize >= 1 && settings.epochs >= 1, "batch size and epochs must be at least 1")
        self.sam = sam
        self.baseModel = baseModel
        self.data = data
        // A share of 0 means no clip samples at all: no clip frames to encode, none in the provenance.
        self.clips = settings.temporalShare > 0 ? clips ?? (data.layout == .davis ? data : nil) : nil
        self.settings = settings
        self.output = output
        cache = EmbeddingCache(folder: Self.cacheFolder(for: output), encoder: encoder ?? SamFrameEncoder(sam: sam))
    }

    /// What the state file records about the data (a resumed run must see the same).
    public var dataSummary: String {
        "\(data.layout.rawValue) \(data.root.lastPathComponent): \(data.images.count) images, \(data.stills.count) samples"
            + (clips.map { "; clips \($0.root.lastPathComponent): \($0.clips.count) clips, \($0.clipSamples.count) samples" } ?? "")
    }

    /// Runs (or with `resume`, continues) the training. `shouldStop` is polled between images and
    /// steps; when it says stop, the state is written and the run returns `.interrupted`. With
    /// `saveEvery` > 0 the state is also written after every that many steps, so a run that dies
    /// without a Ctrl-C (killed, out of power) resumes from the last one.
    public func run(resume: Bool = false, saveEvery: Int = 0, shouldStop: () -> Bool = { false },
                    progress: (Event) throws -> Void = { _ in }) throws -> Outcome {
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim, options: settings.options, seed: settings.seed)
        let trainer = PluginTrainer(sam: sam, plugin: plugin, options: .init(lr: settings.lr))
        var rng = TrainingRandom(seed: settings.seed)
        var epoch = 0, stepInEpoch = 0, globalStep = 0, epochRNG = rng.state
        var firstLoss: Float?, lastLoss: Float?
        if resume {
            let state = try TrainingState.read(stateURL)
            try state.check(file: stateURL, decoder: sam.maskDecoder, settings: settings, dataSummary: dataSummary)
            let params = trainer.model.parameters
            guard state.weights.map(\.key) == params.keys else {
                throw TrainingStateError.notAState(file: stateURL.path, reason: "its parameters are not this plugin's")
            }
            for (k, (_, w)) in state.weights.enumerated() {
                guard w.shape == params.variables[k].shape else {
                    throw TrainingStateError.notAState(file: stateURL.path, reason: "\(params.keys[k]) has shape \(w.shape)")
                }
                params.variables[k].value = w
            }
            trainer.optimizer.restore(step: state.adamStep, expAvg: state.expAvg, expAvgSq: state.expAvgSq)
            (epoch, stepInEpoch, globalStep) = (state.epoch, state.stepInEpoch, state.globalStep)
            (rng, epochRNG) = (TrainingRandom(state: state.rng), state.epochRNG)
            (firstLoss, lastLoss) = (state.firstLoss, state.lastLoss)
        }
        func saveState() throws -> Outcome {
            let params = trainer.model.parameters
            let state = TrainingState(
                settings: settings, dataSummary: dataSummary, transformerDim: plugin.embeddingDim,
                decoderFingerprint: sam.maskDecoder.fingerprint(), globalStep: globalStep, epoch: epoch, stepInEpoch: stepInEpoch,
                rng: rng.state, epochRNG: epochRNG, adamStep: trainer.optimizer.step,
                weights: zip(params.keys, params.variables).map { ($0, $1.value) },
                expAvg: trainer.optimizer.expAvg, expAvgSq: trainer.optimizer.expAvgSq, firstLoss: firstLoss, lastLoss: lastLoss)
            try state.write(to: stateURL)
            return .interrupted(state: stateURL, step: globalStep)
        }

        // Every image once through the frozen encoder (or from the cache), sizes checked.
        let sources = [data] + (clips.map { $0.root == data.root && $0.layout == data.layout ? [] : [$0] } ?? [])
        let total = sources.reduce(0) { $0 + $1.images.count }
        var done = 0
        for source in sources {
            var s: [(w: Int, h: Int)] = []
            for image in source.images {
                if shouldStop() { return try saveState() }
                let entry = try cache.embedding(for: image)
                s.append((entry.width, entry.height))
                done += 1
                try progress(.encoding(done: done, total: total, encoded: cache.encoded))
            }
            for sample in source.stills where (sample.width, sample.height) != (s[sample.image].w, s[sample.image].h) {
                let image = s[sample.image]
                throw TrainingDataError.sizeMismatch(image: source.images[sample.image].path, width: image.w, height: image.h,
                                                     mask: sample.object.file.path, maskWidth: sample.width, maskHeight: sample.height)
            }
        }

        let imgSize = sam.config.imgSize, lowSize = 4 * sam.promptEncoder.imageEmbeddingSize.h
        while epoch < settings.epochs {
            var epochStart = TrainingRandom(state: epochRNG)
            let stream = RTSPrompts.epochStream(stills: data.stills.count, clipSamples: clips?.clipSamples.count,
                                                share: settings.temporalShare, rng: &epochStart)
            if stepInEpoch == 0 { rng = epochStart }   // a resumed run keeps its saved position
            let steps = (stream.count + settings.batchSize - 1) / settings.batchSize
            let thisEpoch = epoch
            while epoch == thisEpoch {
                if shouldStop() { return try saveState() }
                let batch = stream[(stepInEpoch * settings.batchSize)..<min(stream.count, (stepInEpoch + 1) * settings.batchSize)]
                var samples: [PluginTrainingSample] = [], kinds: [String] = []
                var embeddings: [URL: EmbeddingCache.Entry] = [:]   // this step only, as train.py
                for entry in batch {
                    let image: URL, object: BinaryMask, prompt: TrainingPrompt
                    switch entry {
                    case .still(let i):
                        let sample = data.stills[i]
                        image = data.images[sample.image]
                        object = try sample.object.read()
                        prompt = RTSPrompts.still(object, rng: &rng)
                    case .clip(let j):
                        guard let dataset = clips else { preconditionFailure("a clip sample without clips") }
                        let c = dataset.clipSamples[j], clip = dataset.clips[c.clip]
                        image = dataset.images[clip.frames[c.frame]]
                        object = try ObjectMask.value(file: clip.annotations[c.frame], value: c.object).read()
                        let (box, _) = RTSPrompts.temporal(boxes: clip.boxes[c.object] ?? [:], frame: c.frame, rng: &rng,
                                                           width: object.width, height: object.height,
                                                           loose: settings.temporalLoose)
                        prompt = TrainingPrompt(kind: "temporal", box: box, points: [])
                    }
                    if embeddings[image] == nil { embeddings[image] = try cache.embedding(for: image) }
                    let e = embeddings[image]!
                    samples.append(PluginTrainingSample(sam: sam, imageEmbedding: e.embedding, originalSize: (e.height, e.width), prompt: prompt,
                                                        target: LowResTarget.make(object, imgSize: imgSize, lowSize: lowSize)))
                    kinds.append(prompt.kind)
                }
                let step = trainer.step(samples)
                stepInEpoch += 1
                globalStep += 1
                if firstLoss == nil { firstLoss = step.loss }
                lastLoss = step.loss
                let record = Record(step: stepInEpoch, steps: steps, epoch: epoch + 1, loss: step.loss, bce: step.bce, dice: step.dice,
                                    a1: step.route.0, a2: step.route.1, prompts: kinds, images: embeddings.count)
                if stepInEpoch == steps {   // the state of a finished epoch points at the next one
                    epoch += 1
                    stepInEpoch = 0
                    epochRNG = rng.state
                }
                if saveEvery > 0, globalStep % saveEvery == 0 { _ = try saveState() }
                try progress(.step(record))
            }
        }

        trainer.writeBack()
        try plugin.save(to: output, base: sam.maskDecoder, baseModel: baseModel,
                        provenance: provenance(steps: globalStep, firstLoss: firstLoss, finalLoss: lastLoss))
        try? FileManager.default.removeItem(at: stateURL)
        return .finished(plugin: output)
    }

    /// train.py's provenance, with this trainer's name. Sorted keys, compact, so equal runs give equal bytes.
    func provenance(steps: Int, firstLoss: Float?, finalLoss: Float?) -> String {
        var p: [String: Any] = [
            "trainer": "stablesam train-plugin (RTS, Swift)", "data": data.root.lastPathComponent, "data_layout": data.layout.rawValue,
            "samples": data.stills.count, "epochs": settings.epochs, "steps": steps, "batch_size": settings.batchSize,
            "optimiser": "Adam", "lr": settings.lr, "seed": settings.seed, "loss": "BCE + Dice on low-res logits",
            "prompt_types": RTSPrompts.promptTypes, "noise_scale_max": RTSPrompts.noiseScaleMax,
            "point_weights": Dictionary(uniqueKeysWithValues: zip(RTSPrompts.pointCounts.map(String.init), RTSPrompts.pointWeights)),
            "rng": "SplitMix64", "embedding_cache": cache.encoder.cacheKey,
        ]
        if let firstLoss { p["first_loss"] = Double(firstLoss) }
        if let finalLoss { p["final_loss"] = Double(finalLoss) }
        if let clips {
            p["temporal"] = [
                "clips": clips.root.lastPathComponent, "clip_count": clips.clips.count, "clip_samples": clips.clipSamples.count,
                "share": settings.temporalShare, "offsets": RTSPrompts.temporalOffsets,
                "margin": [RTSPrompts.temporalMargin.0, RTSPrompts.temporalMargin.1],
                "shift_sigma": [RTSPrompts.temporalShift.0, RTSPrompts.temporalShift.1], "shift_cut_sigmas": 3,
                "cut_prob": RTSPrompts.temporalCutProb, "cut_max": RTSPrompts.temporalCutMax,
            ] as [String: Any]
            if settings.temporalLoose > 0, var t = p["temporal"] as? [String: Any] {
                t["loose"] = settings.temporalLoose
                t["loose_margin"] = [RTSPrompts.temporalLooseMargin.0, RTSPrompts.temporalLooseMargin.1]
                p["temporal"] = t
            }
        }
        guard let json = try? JSONSerialization.data(withJSONObject: p, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: json, as: UTF8.self)
    }
}
