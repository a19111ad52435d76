import DatasetBatch
import DefaultModel
import Evaluation
import Foundation
import Metrics
import SegmentAnything
import Testing
import TestSupport
import Tracking
import VideoIO
import VideoTracking

/// Whole batches with the bundled model on generated DAVIS sequences: the report equals tracking
/// and scoring each sequence by hand, shards equal one process, re-runs skip and resume, and one
/// bad sequence is recorded while the others finish.
@Suite("batch runs")
struct BatchRunnerTests {
    static let frames = 6

    func temporary(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(tag)-\(UUID().uuidString)")
    }

    func model() throws -> TrackModel {
        TrackModel(sam: try SamLoader.load(try #require(DefaultModel.modelURL)), name: "default", pluginFile: nil, route: .auto)
    }

    func settings(_ root: URL, _ sequences: [DatasetSequence], init mode: InitMode = .mask) -> BatchSettings {
        BatchSettings(dataset: root.path, sequences: sequences.map(\.name), initMode: mode, model: "default", plugin: nil,
                      route: "auto", precision: "fp32", tracker: TrackerSettings(), merge: "agreement")
    }

    func run(_ sequences: [DatasetSequence], _ settings: BatchSettings, out: URL, model: TrackModel,
             stop: StopFlag = StopFlag(), events: (BatchEvent) -> Void = { _ in }) throws -> [SequenceOutcome] {
        try BatchRunner(settings: settings, layout: BatchLayout(root: out)).run(sequences, model: model, stop: stop, events: events)
    }

    /// The outputs a run's results consist of (masks, palette, frames, prompts, record without `run`), by path.
    func results(_ out: URL, store: Bool = false) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let e = FileManager.default.enumerator(at: out, includingPropertiesForKeys: nil)!
        for case let url as URL in e {
            let rel = String(url.path.dropFirst(out.path.count))
            guard ["png", "json"].contains(url.pathExtension), store || !rel.contains("/.keyframes/"), !rel.hasSuffix("summary.json"),
                  !rel.contains("shard-") else { continue }
            var data = try Data(contentsOf: url)
            if url.lastPathComponent == "batch.json" {
                var o = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                o["run"] = nil
                data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
            }
            found[rel] = data
        }
        return found
    }

    func outcomeNames(_ outcomes: [SequenceOutcome]) -> [String] {
        outcomes.map {
            switch $0 {
            case .skipped(let r): "skipped \(r.sequence)"
            case .finished(let r): "\(r.status.rawValue) \(r.sequence)"
            case .interrupted: "interrupted"
            case .busy: "busy"
            }
        }
    }

    @Test("each sequence's scores equal `track --prompts` with its prompts.json, scored by hand")
    func reportEqualsByHand() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 2, frames: Self.frames)
        let sequences = try DatasetSource.load(root)
        let out = temporary("out"), model = try model()
        let s = settings(root, sequences)
        #expect(outcomeNames(try run(sequences, s, out: out, model: model)) == ["done seq0", "done seq1"])
        let report = try DatasetReport.build(s, layout: BatchLayout(root: out))
        #expect(report.evaluation.objects.count == 4)

        var byHand: [ObjectEvaluation] = []
        for seq in sequences {
            let prompts = BatchLayout(root: out).prompts(seq.name)
            let mine = temporary("hand-\(seq.name)")
            var request = TrackRequest(video: URL(fileURLWithPath: seq.video), folderFrameRate: Rational(24, 1), objects: [], output: mine)
            request.prompts = try KeyframePlan.read(path: prompts.path)
            _ = try TrackJob(request).run(model: model, stop: StopFlag()) { _ in }
            var notes: [String] = []
            let tracks = try EvalPairing.tracks(
                prediction: MaskSequenceReader.read(mine.path, voidIndex: false),
                groundTruth: MaskSequenceReader.read(try #require(seq.groundTruth), voidIndex: true),
                predictionRoot: mine.path, allowMissing: false, skipEnds: false, notes: &notes)
            byHand += tracks.map { VideoEvaluation.evaluate($0) }
        }
        #expect(report.evaluation.objects.map { "\($0.sequence)/\($0.object)" } == byHand.map { "\($0.sequence)/\($0.object)" })
        #expect(report.evaluation.objects.map(\.jPerFrame) == byHand.map(\.jPerFrame))
        #expect(report.evaluation.objects.map(\.fPerFrame) == byHand.map(\.fPerFrame))
        #expect(report.evaluation.overall.jAndF == VideoEvaluation.group("overall", byHand).jAndF)
        // Mask prompts: each object's first frame is its annotation as given.
        let gt = try ImageReader.readIndexed(root.appendingPathComponent("Annotations/seq0/00000.png"))
        let first = try ImageReader.readGray(TrackLayout(root: out.appendingPathComponent("seq0")).maskFile(id: 1, number: 0))
        #expect(first.pixels.map { $0 > 127 } == gt.indices.map { $0 == 1 })
        #expect((report.evaluation.overall.jAndF ?? 0) > 0.5, "the bundled model tracks these simple shapes")
    }

    @Test("three shards into one folder build the same report and files as one process")
    func shardsEqualOneProcess() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 4, frames: Self.frames)
        let sequences = try DatasetSource.load(root)
        let model = try model(), s = settings(root, sequences, init: .box)
        let one = temporary("one"), sharded = temporary("sharded")
        _ = try run(sequences, s, out: one, model: model)
        try DatasetReport.build(s, layout: BatchLayout(root: one)).write(BatchLayout(root: one))
        for k in [2, 0, 1] {
            let shard = try Shard(index: k, count: 3)
            let outcomes = try run(shard.share(of: sequences), s, out: sharded, model: model)
            try ShardSummary(shard: shard, outcomes: outcomes, share: shard.share(of: sequences).map(\.name)).write(BatchLayout(root: sharded))
            // Before the last shard, the report is partial: the sequences not run yet are listed.
            if k != 1 { #expect(!(try DatasetReport.build(s, layout: BatchLayout(root: sharded)).missing.isEmpty)) }
        }
        try DatasetReport.build(s, layout: BatchLayout(root: sharded)).write(BatchLayout(root: sharded))
        let (a, b) = (try results(one), try results(sharded))
        #expect(a.keys.sorted() == b.keys.sorted())
        #expect(a.keys.filter { a[$0] != b[$0] }.sorted() == [])
        #expect(a["/report.json"] != nil && a["/seq3/prompts.json"] != nil)
        #expect(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("shard-1-of-3.json").path))
    }

    @Test("a re-run skips finished sequences; a stopped one resumes from its stored frames to the same files")
    func skipAndResume() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 2, frames: Self.frames)
        let sequences = try DatasetSource.load(root)
        let model = try model(), s = settings(root, sequences)
        let whole = temporary("whole"), stopped = temporary("stopped")
        _ = try run(sequences, s, out: whole, model: model)

        // Stop during seq1's third frame.
        let stop = StopFlag()
        var frames = 0
        let first = try run(sequences, s, out: stopped, model: model, stop: stop) { event in
            if case .track(.frame) = event { frames += 1; if frames == Self.frames + 3 { stop.request() } }
        }
        #expect(outcomeNames(first) == ["done seq0", "interrupted"])
        #expect(!FileManager.default.fileExists(atPath: BatchLayout(root: stopped).record("seq1").path))
        var started: [(String, Bool)] = []
        let second = try run(sequences, s, out: stopped, model: model) { event in
            if case let .sequenceStarted(name, _, _, resumed) = event { started.append((name, resumed)) }
        }
        #expect(outcomeNames(second) == ["skipped seq0", "done seq1"])
        #expect(started.map(\.0) == ["seq1"] && started.map(\.1) == [true])
        guard case .finished(let record) = second[1] else { Issue.record("seq1 did not finish"); return }
        #expect(record.run.framesTracked < Self.frames, "resumed from the stored frames: \(record.run.framesTracked) computed")
        #expect(try results(stopped) == results(whole))
        // The keyframe store too: the tracker rebuilt from its snapshot continues every figure
        // (the consecutive-IoU sums once lost the first frame after the restart).
        let (a, b) = (try results(stopped, store: true), try results(whole, store: true))
        #expect(a.keys.filter { $0.contains("/.keyframes/") }.count > 2 * Self.frames)
        #expect(a.keys.sorted() == b.keys.sorted() && a.keys.filter { a[$0] != b[$0] }.isEmpty)
    }

    @Test("a sequence without annotations and a missing video are recorded with their errors; the others finish")
    func failuresAreRecorded() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 3, frames: 4)
        try FileManager.default.removeItem(at: root.appendingPathComponent("Annotations/seq1"))
        var sequences = try DatasetSource.load(root)
        sequences.append(DatasetSequence(name: "gone", video: root.appendingPathComponent("gone.mp4").path, groundTruth: nil,
                                         objects: [ObjectSpec(id: 1, box: .init(x0: 1, y0: 1, x1: 9, y1: 9))]))
        let out = temporary("out"), s = settings(root, sequences)
        let outcomes = try run(sequences, s, out: out, model: try model())
        #expect(outcomeNames(outcomes) == ["done seq0", "failed seq1", "done seq2", "failed gone"])
        let report = try DatasetReport.build(s, layout: BatchLayout(root: out))
        #expect(report.failed.map(\.sequence) == ["seq1", "gone"])
        #expect(report.failed[0].error?.contains("no annotations in \(root.path)/Annotations/seq1") == true)
        #expect(report.failed[1].error?.contains("gone.mp4") == true)
        #expect(Set(report.evaluation.objects.map(\.sequence)) == ["seq0", "seq2"])
        #expect(report.text.contains("failed: seq1: ") && report.html.contains("Not scored"))
        // A re-run retries what failed, and skips what is done.
        let again = try run(sequences, s, out: out, model: try model())
        #expect(outcomeNames(again) == ["skipped seq0", "failed seq1", "skipped seq2", "failed gone"])
    }

    @Test("a folder started with other settings is refused, naming the setting")
    func otherSettings() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 1, frames: 2)
        let sequences = try DatasetSource.load(root)
        let out = temporary("out")
        try settings(root, sequences).claim(BatchLayout(root: out))
        let error = #expect(throws: BatchError.self) { try settings(root, sequences, init: .box).claim(BatchLayout(root: out)) }
        #expect(error?.description.contains("init_mode: \"mask\" there, \"box\" now") == true)
        #expect(throws: BatchError.noPlan(path: root.path)) { try BatchSettings.read(BatchLayout(root: root)) }
    }
}

extension BatchRunnerTests {
    @Test("an object first annotated on frame 2 starts there: absent before it, nothing propagated back")
    func lateObject() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 1, frames: Self.frames)
        for t in 0..<2 {     // object 2 is not annotated on frames 0 and 1
            let url = root.appendingPathComponent(String(format: "Annotations/seq0/%05d.png", t))
            let gt = try ImageReader.readIndexed(url)
            try ImageWriter.writePNG(IndexedImage(width: gt.width, height: gt.height, indices: gt.indices.map { $0 == 2 ? 0 : $0 }), to: url)
        }
        let sequences = try DatasetSource.load(root)
        let out = temporary("out")
        _ = try run(sequences, settings(root, sequences), out: out, model: try model())
        let plan = try KeyframePlan.read(path: BatchLayout(root: out).prompts("seq0").path)
        #expect(plan.objects.map { $0.keyframes.map(\.frame) } == [[0], [1, 2]])
        #expect(plan.objects[1].keyframes.map(\.absent) == [true, false])
        let layout = TrackLayout(root: out.appendingPathComponent("seq0"))
        for t in 0..<2 { #expect(try ImageReader.readGray(layout.maskFile(id: 2, number: t)).pixels.allSatisfy { $0 == 0 }, "frame \(t)") }
        #expect(try ImageReader.readGray(layout.maskFile(id: 2, number: 2)).pixels.contains(255))
    }
}

extension BatchRunnerTests {
    @Test("a sequence another process holds is left to it; once released, the next run tracks it")
    func busySequence() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 2, frames: 3)
        let sequences = try DatasetSource.load(root)
        let out = temporary("out"), s = settings(root, sequences), model = try model()
        var held = try SequenceLock(BatchLayout(root: out), sequence: "seq0")
        #expect(held != nil)
        #expect(try SequenceLock(BatchLayout(root: out), sequence: "seq0") == nil, "a second holder is refused")
        #expect(outcomeNames(try run(sequences, s, out: out, model: model)) == ["busy", "done seq1"])
        #expect(!FileManager.default.fileExists(atPath: BatchLayout(root: out).sequenceFolder("seq0").path))
        held = nil
        #expect(outcomeNames(try run(sequences, s, out: out, model: model)) == ["done seq0", "skipped seq1"])
    }
}

extension BatchRunnerTests {
    @Test("sparse annotations: the prompt's frame is not scored; a sequence annotated on its first frame only is done, not scored")
    func sparseScoring() throws {
        let root = try TinyTrainingData.davis(at: temporary("data"), sequences: 2, frames: Self.frames)
        let fm = FileManager.default
        for t in 1..<Self.frames where t != 3 {      // seq0 keeps frames 0 and 3 annotated, seq1 frame 0 only
            try fm.removeItem(at: root.appendingPathComponent(String(format: "Annotations/seq0/%05d.png", t)))
        }
        for t in 1..<Self.frames { try fm.removeItem(at: root.appendingPathComponent(String(format: "Annotations/seq1/%05d.png", t))) }
        let sequences = try DatasetSource.load(root)
        let out = temporary("out"), s = settings(root, sequences)
        #expect(outcomeNames(try run(sequences, s, out: out, model: try model())) == ["done seq0", "done seq1"])
        let report = try DatasetReport.build(s, layout: BatchLayout(root: out))
        #expect(report.evaluation.objects.map(\.sequence) == ["seq0", "seq0"])
        #expect(report.evaluation.objects.map(\.jPerFrame.count) == [1, 1], "frame 3 alone is scored")
        #expect(report.sequences.map(\.evaluated) == [true, false])
        #expect(report.tally.contains("1 not scored"))
    }
}

extension BatchRunnerTests {
    @Test("a worker that dies while retrying a sequence that failed before is blamed for that one, not the next")
    func workerDiesOnRetriedFailure() throws {
        let out = temporary("pool")
        let layout = BatchLayout(root: out)
        let sequences = ["a", "b"].map { DatasetSequence(name: $0, video: "/none/\($0)", groundTruth: nil) }
        // `a` failed in an earlier run; `b` has never run.
        try FileManager.default.createDirectory(at: layout.sequenceFolder("a"), withIntermediateDirectories: true)
        try Data(#"""
            {"sequence": "a", "status": "failed", "error": "an earlier failure", "objects": [],
             "run": {"wall_seconds": 0, "frames_tracked": 0, "resumed": false, "host": "h", "finished": ""}}
            """#.utf8).write(to: layout.record("a"))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: layout.record("a").path)
        var launches: [Bool] = []
        let pool = WorkerPool(layout: layout, share: sequences, count: 1) { _, retryFailed in
            launches.append(retryFailed)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            // First the worker dies by SIGKILL on the retried `a`; restarted, it ends at once.
            p.arguments = ["-c", launches.count == 1 ? "kill -9 $$" : "exit 0"]
            try p.run()
            return p
        }
        let outcomes = try pool.run(stop: { false }, log: { _ in })
        #expect(launches == [true, false], "started once retrying failures, restarted skipping them")
        #expect(outcomeNames(outcomes) == ["failed a", "busy"])
        #expect(try SequenceRecord.read(layout, sequence: "a")?.error?.contains("killed by signal 9") == true)
        #expect(try SequenceRecord.read(layout, sequence: "b") == nil, "b never ran, so it is not blamed")
    }
}
