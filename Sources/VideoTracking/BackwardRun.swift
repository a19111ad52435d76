import Foundation
import Imaging
import Tracking
import VideoIO

/// A backward run: track from the start frame towards frame 0.
///
/// Decoders only run forwards, so frames 0...start are first spooled as raw RGB to a hidden
/// file in the output folder (disk, not memory, grows with the range), tracked in reverse from there, and
/// the overlay is rendered in a second forward decode from the frames' JSON.
struct BackwardRun<Model: Segmenting> {
    let videoURL: URL
    let folderFrameRate: Rational
    let tracker: Tracker<Model>
    let layout: TrackLayout
    let info: VideoInfo
    let specs: [ObjectSpec]
    let startFrame: Int
    let startNumber: Int
    let matteVideo: Bool
    let stop: StopFlag
    var softMatte: SoftMatteRequest? = nil

    func run(events: (TrackEvent) -> Void) throws -> TrackOutcome {
        var outcome = TrackOutcome()
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let started = clock()
        let frameBytes = info.width * info.height * 3
        let spool = layout.root.appendingPathComponent(".backward-\(UUID().uuidString).spool")
        guard FileManager.default.createFile(atPath: spool.path, contents: nil),
              let handle = try? FileHandle(forUpdating: spool) else {
            throw OutputFolderError(path: layout.root.path, reason: "cannot create a spool file")
        }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(at: spool)
        }
        var timing: [(pts: Int64, duration: Int64, time: Double)] = []
        let reader = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
        while timing.count <= startFrame, let frame = try reader.next() {
            try handle.write(contentsOf: frame.image.pixels)
            timing.append((frame.pts, frame.duration, frame.time))
        }
        outcome.framesSeen = timing.count
        if timing.isEmpty { throw VideoIOError.noFrames(path: info.path) }
        if timing.count <= startFrame {
            throw TrackError.startPastEnd(start: startFrame, frames: timing.count, path: info.path)
        }

        let writer = try TrackWriter(layout: layout, info: info, objects: specs, startFrame: startFrame,
                                     startNumber: startNumber, matteVideo: matteVideo, softMatte: softMatte)
        for index in stride(from: startFrame, through: 0, by: -1) {
            if stop.isRequested { outcome.interrupted = true; break }
            try handle.seek(toOffset: UInt64(index * frameBytes))
            guard let bytes = try handle.read(upToCount: frameBytes), bytes.count == frameBytes else {
                throw OutputFolderError(path: spool.path, reason: "the spool file is short")
            }
            let t = timing[index]
            let frame = VideoFrame(index: index, pts: t.pts, duration: t.duration, time: t.time,
                                   image: RGBImage(width: info.width, height: info.height, pixels: [UInt8](bytes)))
            let t0 = clock()
            let results = try tracker.step(frame.image)
            outcome.timings.modelSeconds += clock() - t0
            outcome.timings.framesProcessed += 1
            outcome.firstFrame = index
            outcome.lastFrame = outcome.lastFrame ?? index
            try writer.writeFiles(frame, results)
            events(.frame(FrameEvent(index: index, done: startFrame - index + 1, tracked: true, results: results)))
        }
        events(.trackingEnded)
        if !outcome.interrupted {
            // Second pass: the overlay in source order, every frame of the source.
            let again = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
            while let frame = try again.next() {
                try writer.write(frame.index <= startFrame ? .replay(frame) : .passThrough(frame))
            }
            try writer.finish()
        }
        outcome.timings.wallSeconds = clock() - started
        return outcome
    }
}
