import Foundation
import Synchronization
import Tracking
import VideoIO

/// What the decode thread hands the model thread.
enum DecodeItem: Sendable {
    case frame(VideoFrame)
    case end
    case failed(any Error)
}

/// Figures of one run, for summary.json.
struct RunTimings: Codable {
    var wallSeconds = 0.0
    /// Image encoder + prompt encoder + mask decoder, all objects.
    var modelSeconds = 0.0
    /// Time the model thread waited for a decoded frame / for room in the writer's queue.
    var decodeWaitSeconds = 0.0
    var writeWaitSeconds = 0.0
    var framesProcessed = 0
    var framesPerSecond: Double { wallSeconds > 0 ? Double(framesProcessed) / wallSeconds : 0 }
    var outsideModelShare: Double { wallSeconds > 0 ? max(0, 1 - modelSeconds / wallSeconds) : 0 }

    enum CodingKeys: String, CodingKey {
        case wallSeconds, modelSeconds, decodeWaitSeconds, writeWaitSeconds, framesProcessed, framesPerSecond, outsideModelShare
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(modelSeconds, forKey: .modelSeconds)
        try c.encode(decodeWaitSeconds, forKey: .decodeWaitSeconds)
        try c.encode(writeWaitSeconds, forKey: .writeWaitSeconds)
        try c.encode(framesProcessed, forKey: .framesProcessed)
        try c.encode(framesPerSecond, forKey: .framesPerSecond)
        try c.encode(outsideModelShare, forKey: .outsideModelShare)
    }

    init() {}
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        modelSeconds = try c.decode(Double.self, forKey: .modelSeconds)
        decodeWaitSeconds = try c.decode(Double.self, forKey: .decodeWaitSeconds)
        writeWaitSeconds = try c.decode(Double.self, forKey: .writeWaitSeconds)
        framesProcessed = try c.decode(Int.self, forKey: .framesProcessed)
    }
}

/// The writer thread's error, read by the model thread after the join.
final class FailureSlot: Sendable {
    let value = Mutex<(any Error)?>(nil)
}

struct RunOutcome {
    var timings = RunTimings()
    var interrupted = false
    var firstFrame: Int?
    var lastFrame: Int?
    var framesSeen = 0
}

/// The forward pass: decode thread -> model (this thread) -> writer thread, joined by
/// bounded queues so decoding the next frame and writing the last one overlap the model.
struct TrackRun<Model: Segmenting> {
    let reader: VideoReader
    let tracker: Tracker<Model>
    let writer: TrackWriter
    let startFrame: Int
    /// Last frame an earlier run completed (`--resume`), or nil.
    let resumedThrough: Int?
    let progress: ProgressReporter
    let stop: StopSignal

    func run() throws -> RunOutcome {
        var outcome = RunOutcome()
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let started = clock()
        let frames = BlockingQueue<DecodeItem>(capacity: 3)
        let writes = BlockingQueue<WriteItem>(capacity: 3)
        let writerFailure = FailureSlot()

        let readerHandOff = HandOff(value: reader)
        let decoding = WorkerThread(name: "decode") {
            do {
                while let frame = try readerHandOff.value.next() {
                    if !frames.put(.frame(frame)) { return }
                }
                frames.put(.end)
            } catch {
                frames.put(.failed(error))
            }
        }
        // The writer is used by the writer thread alone until `writing.join()` returns.
        let writerHandOff = HandOff(value: writer)
        let stop = self.stop.flag
        let writing = WorkerThread(name: "write") {
            while let item = writes.take() {
                do {
                    try writerHandOff.value.write(item)
                } catch {
                    writerFailure.value.withLock { $0 = error }
                    stop.request()
                    writes.close()
                    return
                }
            }
        }
        // Stops both threads whatever way this function leaves.
        var joined = false
        func shutDown() {
            guard !joined else { return }
            joined = true
            frames.close()
            writes.close()
            decoding.join()
            writing.join()
        }
        defer { shutDown() }

        var reachedEnd = false
        loop: while true {
            if stop.isRequested { outcome.interrupted = true; break }
            let waitStart = clock()
            guard let item = frames.take() else { break }
            outcome.timings.decodeWaitSeconds += clock() - waitStart
            let frame: VideoFrame
            switch item {
            case .end: reachedEnd = true; break loop
            case .failed(let error): throw error
            case .frame(let f): frame = f
            }
            outcome.framesSeen = frame.index + 1
            let work: WriteItem
            var detail = ""
            if frame.index < startFrame {
                work = .passThrough(frame)
            } else if let resumedThrough, frame.index <= resumedThrough {
                work = .replay(frame)
            } else {
                let t0 = clock()
                let results = try tracker.step(FramePixels(width: frame.image.width, height: frame.image.height,
                                                           rgb: frame.image.pixels))
                outcome.timings.modelSeconds += clock() - t0
                outcome.timings.framesProcessed += 1
                outcome.firstFrame = outcome.firstFrame ?? frame.index
                outcome.lastFrame = frame.index
                work = .tracked(frame, results, tracker.snapshot())
                if progress.level == .verbose {
                    detail = results.map { r in
                        "id \(r.id) \(r.state.rawValue) area \(r.area) score \(String(format: "%.3f", r.score))"
                            + (r.rejection.map { " (\($0))" } ?? "")
                    }.joined(separator: "; ")
                }
            }
            let putStart = clock()
            guard writes.put(work) else { break }
            outcome.timings.writeWaitSeconds += clock() - putStart
            let isTracked = if case .tracked = work { true } else { false }
            progress.frameDone(frame.index + 1, processedNow: isTracked, detail: "frame \(frame.index) \(detail)")
        }
        // Let the writer drain what it was given, then stop the decoder.
        writes.close()
        writing.join()
        frames.close()
        decoding.join()
        joined = true
        progress.finish()
        if let error = writerFailure.value.withLock({ $0 }) { throw error }

        if reachedEnd {
            if outcome.framesSeen == 0 { throw VideoIOError.noFrames(path: reader.info.path) }
            if startFrame >= outcome.framesSeen {
                throw TrackError.startPastEnd(start: startFrame, frames: outcome.framesSeen, path: reader.info.path)
            }
        } else if stop.isRequested {
            outcome.interrupted = true
        }
        if !outcome.interrupted {
            try writer.finish()
        }
        outcome.timings.wallSeconds = clock() - started
        return outcome
    }
}

enum TrackError: Error, CustomStringConvertible {
    case startPastEnd(start: Int, frames: Int, path: String)
    case badBox(id: Int, box: Box, reason: String)
    case badObjects(path: String, reason: String)
    case previousRun(path: String)
    case cannotResume(path: String, reason: String)

    var description: String {
        switch self {
        case let .startPastEnd(start, frames, path):
            "--start-frame \(start) is past the end: \(path) has \(frames) frames (0...\(frames - 1))"
        case let .badBox(id, box, reason):
            "object \(id): box \(box.x0),\(box.y0),\(box.x1),\(box.y1) \(reason); boxes are x0,y0,x1,y1 in pixels, origin top-left"
        case let .badObjects(path, reason):
            "\(path): \(reason); expected a JSON array like [{\"id\": 1, \"name\": \"car\", \"box\": [x0, y0, x1, y1]}]"
        case let .previousRun(path):
            "\(path) already holds a track run (summary.json): pass --resume to continue it, or choose another --out"
        case let .cannotResume(path, reason):
            "cannot resume in \(path): \(reason)"
        }
    }
}
