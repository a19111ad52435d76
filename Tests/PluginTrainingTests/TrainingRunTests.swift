import Foundation
import Imaging
import PluginTraining
import SegmentAnything
import Tensor
import Testing
import TestSupport
import VideoIO

/// The frozen encoder with a call counter: the embedding cache must keep it from running twice.
final class CountingEncoder: FrameEncoding {
    let inner: SamFrameEncoder
    private(set) var calls = 0
    init(_ sam: Sam) { inner = SamFrameEncoder(sam: sam) }
    var cacheKey: String { inner.cacheKey }
    func encode(_ image: RGBImage) -> Tensor {
        calls += 1
        return inner.encode(image)
    }
}

/// `PluginTrainingRun` on the `win` tiny SAM (C = 32) and a tiny generated data set.
@Suite("train-plugin runs: determinism, resume, embedding cache")
struct TrainingRunTests {
    static func sam() throws -> Sam { try SamLoader.load(Fixtures.url("sam_tiny_win.pth")) }

    /// 4 images x 2 objects = 8 samples; batch 3 -> 3 steps per epoch.
    static let settings = TrainPluginSettings(epochs: 2, seed: 7, batchSize: 3, lr: 1e-2)

    func run(_ data: TrainingDataset, out: URL, sam: Sam, encoder: CountingEncoder? = nil, settings: TrainPluginSettings = settings,
             resume: Bool = false, stopAfter: Int? = nil) throws -> (PluginTrainingRun.Outcome, [PluginTrainingRun.Record]) {
        let run = PluginTrainingRun(sam: sam, baseModel: "sam_tiny_win.pth", data: data, settings: settings, output: out, encoder: encoder)
        var records: [PluginTrainingRun.Record] = []
        let outcome = try run.run(resume: resume, shouldStop: { stopAfter.map { records.count >= $0 } ?? false }) { event in
            if case .step(let r) = event { records.append(r) }
        }
        return (outcome, records)
    }

    @Test("two runs with the same seed write byte-identical plugin files; another seed does not")
    func deterministic() throws {
        let dir = try temporaryFolder("train-det")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 4).path)
        let sam = try Self.sam()
        let a = dir.appendingPathComponent("a.safetensors"), b = dir.appendingPathComponent("b.safetensors")
        let c = dir.appendingPathComponent("c.safetensors")
        _ = try run(data, out: a, sam: sam)
        _ = try run(data, out: b, sam: sam)
        var other = Self.settings
        other.seed = 8
        _ = try run(data, out: c, sam: sam, settings: other)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        #expect(try Data(contentsOf: a) != Data(contentsOf: c))
        // The file is a plugin for this model (width and decoder fingerprint check).
        let plugin = try StableSAMPlugin.load(a, for: sam)
        #expect(plugin.info.baseModel == "sam_tiny_win.pth" && plugin.info.baseDecoderFingerprint == sam.maskDecoder.fingerprint())
        #expect(plugin.info.provenance.contains("\"trainer\":\"stablesam train-plugin (RTS, Swift)\""))
    }

    @Test("interrupted twice (mid-epoch and at an epoch boundary) and resumed, a run ends with the uninterrupted run's bytes")
    func resumeEqualsUninterrupted() throws {
        let dir = try temporaryFolder("train-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 4).path)
        let sam = try Self.sam()
        let whole = dir.appendingPathComponent("whole.safetensors"), pieces = dir.appendingPathComponent("pieces.safetensors")
        let (_, all) = try run(data, out: whole, sam: sam)
        #expect(all.count == 6)

        let (first, r1) = try run(data, out: pieces, sam: sam, stopAfter: 2)
        #expect(first == .interrupted(state: URL(fileURLWithPath: pieces.path + ".state"), step: 2))
        #expect(!FileManager.default.fileExists(atPath: pieces.path))
        let (second, r2) = try run(data, out: pieces, sam: sam, resume: true, stopAfter: 1)   // stops after step 3: epoch 1 ends
        #expect(second == .interrupted(state: URL(fileURLWithPath: pieces.path + ".state"), step: 3))
        let (third, r3) = try run(data, out: pieces, sam: sam, resume: true)
        #expect(third == .finished(plugin: pieces))
        #expect((r1 + r2 + r3).map(\.loss) == all.map(\.loss))
        #expect(try Data(contentsOf: pieces) == Data(contentsOf: whole))
        #expect(!FileManager.default.fileExists(atPath: pieces.path + ".state"), "a finished run removes its state")
    }

    @Test("embeddings are computed once: a second epoch and a second run read them from the cache")
    func embeddingCache() throws {
        let dir = try temporaryFolder("train-cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 4).path)
        let sam = try Self.sam()
        let out = dir.appendingPathComponent("p.safetensors")
        let encoder = CountingEncoder(sam)
        _ = try run(data, out: out, sam: sam, encoder: encoder)   // two epochs
        #expect(encoder.calls == 4)
        let again = CountingEncoder(sam)
        _ = try run(data, out: out, sam: sam, encoder: again)
        #expect(again.calls == 0)
        // Touching an image makes it stale: only that one is encoded again.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 10)],
                                              ofItemAtPath: data.images[1].path)
        let third = CountingEncoder(sam)
        _ = try run(data, out: out, sam: sam, encoder: third)
        #expect(third.calls == 1)
    }

    @Test("resuming with a model of another decoder width is refused, naming the state file")
    func resumeOtherWidth() throws {
        let dir = try temporaryFolder("train-width")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 2).path)
        let out = dir.appendingPathComponent("p.safetensors")
        _ = try run(data, out: out, sam: try Self.sam(), stopAfter: 1)
        let other = try SamLoader.load(Fixtures.url("sam_tiny_glob.pth"), decoderHeads: 4)   // C = 24
        let error = #expect(throws: TrainingStateError.self) { try run(data, out: out, sam: other, resume: true) }
        #expect(error == .widthMismatch(file: out.path + ".state", state: 32, decoder: 24))
        #expect(throws: TrainingStateError.noState(file: dir.appendingPathComponent("q.safetensors").path + ".state")) {
            try run(data, out: dir.appendingPathComponent("q.safetensors"), sam: try Self.sam(), resume: true)
        }
    }

    @Test("a mask of another size than its image is refused before training, naming both files")
    func sizeMismatch() throws {
        let dir = try temporaryFolder("train-size")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 2)
        let small = IndexedImage(width: 40, height: 30, indices: (0..<1200).map { $0 % 40 < 10 ? 1 : 0 })
        try ImageWriter.writePNG(small, to: root.appendingPathComponent("masks/scene01.png"))
        let data = try TrainingDataset.open(root.path)
        let error = #expect(throws: TrainingDataError.self) {
            try run(data, out: dir.appendingPathComponent("p.safetensors"), sam: try Self.sam())
        }
        #expect(error == .sizeMismatch(image: root.appendingPathComponent("images/scene01.png").path, width: 96, height: 72,
                                       mask: root.appendingPathComponent("masks/scene01.png").path, maskWidth: 40, maskHeight: 30))
    }

    @Test("with clips, the epoch mixes temporal prompts in at the share and a DAVIS folder trains")
    func clips() throws {
        let dir = try temporaryFolder("train-clips")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.davis(at: dir.appendingPathComponent("clips"), sequences: 1, frames: 3).path)
        let settings = TrainPluginSettings(epochs: 1, seed: 1, batchSize: 4, lr: 1e-3)
        let (outcome, records) = try run(data, out: dir.appendingPathComponent("p.safetensors"), sam: try Self.sam(), settings: settings)
        #expect(outcome == .finished(plugin: dir.appendingPathComponent("p.safetensors")))
        let kinds = records.flatMap(\.prompts)
        // 6 stills + round(6 * 0.5 / 0.5) = 6 clip samples.
        #expect(kinds.count == 12 && kinds.filter { $0 == "temporal" }.count == 6, "\(kinds)")
    }
}

extension TrainingRunTests {
    @Test("stills from images/ + masks/ with extra DAVIS clips (train.py --clips): the clip frames are encoded and give the temporal prompts")
    func extraClips() throws {
        let dir = try temporaryFolder("train-extra-clips")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 2).path)
        let clips = try TrainingDataset.open(try TinyTrainingData.davis(at: dir.appendingPathComponent("clips"), sequences: 1, frames: 3).path)
        let sam = try Self.sam()
        let encoder = CountingEncoder(sam)
        let run = PluginTrainingRun(sam: sam, baseModel: "sam_tiny_win.pth", data: data, clips: clips,
                                    settings: TrainPluginSettings(epochs: 1, seed: 2, batchSize: 4, temporalShare: 0.5),
                                    output: dir.appendingPathComponent("p.safetensors"), encoder: encoder)
        var kinds: [String] = []
        _ = try run.run(progress: { if case .step(let r) = $0 { kinds += r.prompts } })
        #expect(encoder.calls == 2 + 3)
        // 4 stills + round(4 * 0.5 / 0.5) = 4 temporal prompts.
        #expect(kinds.count == 8 && kinds.filter { $0 == "temporal" }.count == 4, "\(kinds)")
        #expect(run.dataSummary.contains("clips clips: 1 clips, 6 samples"))
    }
}

extension TrainingRunTests {
    struct Killed: Error {}

    @Test("a run that dies without Ctrl-C resumes from its last periodic state and ends with the uninterrupted run's bytes")
    func periodicState() throws {
        let dir = try temporaryFolder("train-periodic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TrainingDataset.open(try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 4).path)
        let sam = try Self.sam()
        let whole = dir.appendingPathComponent("whole.safetensors"), pieces = dir.appendingPathComponent("pieces.safetensors")
        _ = try run(data, out: whole, sam: sam)
        let run = PluginTrainingRun(sam: sam, baseModel: "sam_tiny_win.pth", data: data, settings: Self.settings, output: pieces)
        var steps = 0
        #expect(throws: Killed.self) {
            _ = try run.run(saveEvery: 2, progress: { event in
                if case .step = event { steps += 1; if steps == 5 { throw Killed() } }   // dies after step 5; the last save was step 4
            })
        }
        let state = try TrainingState.read(run.stateURL)
        #expect(state.globalStep == 4 && state.epoch == 1 && state.stepInEpoch == 1)
        let (outcome, rest) = try self.run(data, out: pieces, sam: sam, resume: true)
        #expect(outcome == .finished(plugin: pieces) && rest.count == 2)
        #expect(try Data(contentsOf: pieces) == Data(contentsOf: whole))
    }
}
