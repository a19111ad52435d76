import Evaluation
import Foundation
import Metrics
import Tracking
import VideoIO
import VideoTracking

/// What a batch tells its caller, in order, on the calling thread.
public enum BatchEvent: Sendable {
    /// `position` of `total` in this process's share; `resumed`: an earlier run left frames.
    case sequenceStarted(name: String, position: Int, total: Int, resumed: Bool)
    case track(TrackEvent)
    case sequenceEnded(name: String, outcome: SequenceOutcome)
}

public enum SequenceOutcome: Sendable {
    /// Finished by an earlier run (its record as found).
    case skipped(SequenceRecord)
    /// Done or failed in this run.
    case finished(SequenceRecord)
    /// Stopped by the stop flag: the folder is left to resume.
    case interrupted
    /// Another process is tracking it (its lock is held): left to that process.
    case busy
}

/// Runs a batch's sequences one after another in this process: for each, the prompts from its
/// ground truth (or manifest boxes), a keyframe `TrackJob` into its folder (reusing the frames an
/// interrupted run stored), its evaluation, and its record. A sequence that fails is recorded
/// with its error and the next one runs.
public struct BatchRunner {
    public let settings: BatchSettings
    public let layout: BatchLayout
    /// Applied to every sequence's track request (the frame rate image folders are given, matte video).
    public var folderFrameRate = Rational(24, 1)
    /// false: a sequence recorded as failed is skipped like a finished one (a worker restarted after
    /// crashing on it must not run it again); a plain re-run retries failures.
    public var retryFailed = true

    public init(settings: BatchSettings, layout: BatchLayout) {
        self.settings = settings
        self.layout = layout
    }

    /// Runs `sequences` in order until all are recorded or `stop` is raised; the outcomes in order
    /// (the last one `.interrupted` when stopped).
    public func run(_ sequences: [DatasetSequence], model: TrackModel, stop: StopFlag,
                    events: (BatchEvent) -> Void) throws -> [SequenceOutcome] {
        try settings.claim(layout)
        var outcomes: [SequenceOutcome] = []
        for (n, sequence) in sequences.enumerated() {
            if let record = try recorded(sequence) {
                events(.sequenceEnded(name: sequence.name, outcome: .skipped(record)))
                outcomes.append(.skipped(record))
                continue
            }
            guard !stop.isRequested else { outcomes.append(.interrupted); break }
            guard let lock = try SequenceLock(layout, sequence: sequence.name) else {
                events(.sequenceEnded(name: sequence.name, outcome: .busy))
                outcomes.append(.busy)
                continue
            }
            defer { withExtendedLifetime(lock) {} }
            // Finished by another process since the check above (it held the lock until its record was written).
            if let record = try recorded(sequence) {
                events(.sequenceEnded(name: sequence.name, outcome: .skipped(record)))
                outcomes.append(.skipped(record))
                continue
            }
            let resumed = FileManager.default.fileExists(atPath: layout.sequenceFolder(sequence.name).path)
            events(.sequenceStarted(name: sequence.name, position: n + 1, total: sequences.count, resumed: resumed))
            let outcome = try runOne(sequence, resumed: resumed, model: model, stop: stop, events: events)
            events(.sequenceEnded(name: sequence.name, outcome: outcome))
            outcomes.append(outcome)
            if case .interrupted = outcome { break }
        }
        return outcomes
    }

    /// The record that makes `sequence` skipped: done, or failed when failures are not retried.
    private func recorded(_ sequence: DatasetSequence) throws -> SequenceRecord? {
        guard let record = try SequenceRecord.read(layout, sequence: sequence.name) else { return nil }
        return record.status == .done || !retryFailed ? record : nil
    }

    private func runOne(_ sequence: DatasetSequence, resumed: Bool, model: TrackModel, stop: StopFlag,
                        events: (BatchEvent) -> Void) throws -> SequenceOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        var record = SequenceRecord(sequence: sequence.name, status: .failed, objects: [],
                                    run: .init(wallSeconds: 0, framesTracked: 0, resumed: resumed, host: Self.host, finished: ""))
        do {
            let video = URL(fileURLWithPath: sequence.video)
            let info = try VideoReader(url: video, folderFrameRate: folderFrameRate).info
            let groundTruth = try sequence.groundTruth.map {
                try GroundTruthFrames.read(URL(fileURLWithPath: $0, isDirectory: true), sequence: sequence.name, video: video,
                                           frameCount: info.frameCount)
            }
            let plan = try InitialPrompts.write(sequence, groundTruth: groundTruth, mode: settings.initMode, layout: layout,
                                                width: info.width, height: info.height)
            record.objects = plan.objects.map(\.id)
            var request = TrackRequest(video: video, folderFrameRate: folderFrameRate, objects: [], settings: settings.tracker,
                                       output: layout.sequenceFolder(sequence.name))
            request.prompts = plan
            request.merge = KeyframeMerge(rawValue: settings.merge) ?? .agreement
            // Reuses what an interrupted or failed run stored; a fresh folder has nothing to reuse.
            request.update = true
            let job = try TrackJob(request)
            let outcome = try job.run(model: model, stop: stop) { events(.track($0)) }
            if outcome.interrupted { return .interrupted }
            record.frames = outcome.framesSeen
            record.run.framesTracked = outcome.timings.framesProcessed
            let prompted = Set(plan.objects.flatMap { $0.keyframes.filter { !$0.absent }.map(\.frame) })
            record.evaluation = try groundTruth.flatMap { try evaluate(sequence.name, groundTruth: $0, prompted: prompted) }
            record.status = .done
        } catch {
            record.error = "\(error)"
        }
        record.run.wallSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        record.run.finished = ISO8601DateFormatter().string(from: Date())
        try record.write(layout)
        return .finished(record)
    }

    /// The sequence's track output (frames/*.json) against its ground truth, on the annotated
    /// frames; an object the run never found scores as empty masks. Where only some frames are
    /// annotated (YouTube-VOS, DAVIS test-dev), the frames whose annotation was a prompt are not
    /// scored (they would score the prompt itself); nil when no other frame is annotated.
    func evaluate(_ name: String, groundTruth: GroundTruthFrames, prompted: Set<Int>) throws -> [ObjectEvaluation]? {
        let folder = layout.sequenceFolder(name)
        guard let prediction = try MaskSequenceReader.readSequence(folder, name: name, voidIndex: false) else {
            throw EvalInputError.noMasks(path: folder.path)
        }
        guard let last = groundTruth.frameIndex.last, last < prediction.frameCount else {
            throw BatchError.annotationPastEnd(sequence: name, annotation: groundTruth.masks.frameFiles.last ?? "-",
                                               frame: groundTruth.frameIndex.last ?? 0, frames: prediction.frameCount)
        }
        var scored = Array(groundTruth.frameIndex.indices)
        if groundTruth.frameIndex.count < prediction.frameCount {
            scored.removeAll { prompted.contains(groundTruth.frameIndex[$0]) }
            guard !scored.isEmpty else { return nil }
        }
        var notes: [String] = []
        let tracks = try EvalPairing.tracks(prediction: [prediction.frames(scored.map { groundTruth.frameIndex[$0] })],
                                            groundTruth: [groundTruth.masks.frames(scored)],
                                            predictionRoot: folder.path, allowMissing: true, skipEnds: settings.skipEnds,
                                            notes: &notes)
        return tracks.map { VideoEvaluation.evaluate($0, boundaryThreshold: settings.boundaryThreshold, flickerWindow: settings.flickerWindow) }
    }

    static let host = ProcessInfo.processInfo.hostName
}
