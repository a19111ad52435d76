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

/// The writer thread's error, read by the model thread after the join.
final class FailureSlot: Sendable {
    let value = Mutex<(any Error)?>(nil)
}

/// The forward pass: decode thread -> model (this thread) -> writer thread, joined by
/// bounded queues so decoding the next frame and writing the last one overlap the model.
struct TrackRun<Model: Segmenting> {
    let reader: VideoReader
    let tracker: Tracker<Model>
    let writer: TrackWriter
    let startFrame: Int
    /// Last frame an earlier run completed (`resume`), or nil.
    let resumedThrough: Int?
    let stop: StopFlag

    func run(events: (TrackEvent) -> Void) throws -> TrackOutcome {
        var outcome = TrackOutcome()
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
        let stop = self.stop
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
        var warnedRescale = false
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
            if let from = frame.rescaledFrom, !warnedRescale {
                warnedRescale = true
                events(.log("warning: the stream changes size at frame \(frame.index) (\(from.width)x\(from.height)); "
                    + "frames of another size are rescaled to the first's \(reader.info.width)x\(reader.info.height)"))
            }
            let work: WriteItem
            var results: [ObjectFrame] = []
            if frame.index < startFrame {
                work = .passThrough(frame)
            } else if let resumedThrough, frame.index <= resumedThrough {
                work = .replay(frame)
                // The camera-motion estimate of the first resumed frame compares with this one,
                // as it did in the run that was stopped: a resumed run writes the same files.
                if frame.index == resumedThrough { tracker.prime(frame.image) }
            } else {
                let t0 = clock()
                results = try tracker.step(frame.image)
                outcome.timings.modelSeconds += clock() - t0
                outcome.timings.framesProcessed += 1
                outcome.firstFrame = outcome.firstFrame ?? frame.index
                outcome.lastFrame = frame.index
                work = .tracked(frame, results, tracker.snapshot())
            }
            let putStart = clock()
            guard writes.put(work) else { break }
            outcome.timings.writeWaitSeconds += clock() - putStart
            let isTracked = if case .tracked = work { true } else { false }
            events(.frame(FrameEvent(index: frame.index, done: frame.index + 1, tracked: isTracked, results: results)))
        }
        // Let the writer drain what it was given, then stop the decoder.
        writes.close()
        writing.join()
        frames.close()
        decoding.join()
        joined = true
        events(.trackingEnded)
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
