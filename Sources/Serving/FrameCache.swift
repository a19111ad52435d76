import Foundation
import VideoIO
import VideoTracking

/// The video's frames as PNG files in the run folder's `.serve/frames/`, decoded once, in order,
/// on a thread of their own: a request for frame N reads a file (never the decoder, never the
/// model), so requests stay fast while a propagation runs.
final class FrameCache: Sendable {
    struct Progress {
        var decoded = 0
        var finished = false
        var failure: String?
    }

    let folder: URL
    let info: VideoInfo
    private let progress = Locked(Progress())

    /// Opens the video (a bad file fails here, before the server starts) and starts decoding.
    init(video: URL, folderFrameRate: Rational, folder: URL) throws {
        let reader = try VideoReader(url: video, folderFrameRate: folderFrameRate)
        info = reader.info
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let progress = self.progress
        let handOff = UncheckedBox(reader)
        Thread.detachNewThread {
            do {
                while let frame = try handOff.value.next() {
                    try ImageWriter.writePNG(frame.image, to: Self.file(folder, frame.index))
                    progress.update { $0.decoded = frame.index + 1 }
                }
                progress.update { $0.finished = true }
            } catch {
                progress.update { $0.finished = true; $0.failure = "\(error)" }
            }
        }
    }

    static func file(_ folder: URL, _ index: Int) -> URL { folder.appendingPathComponent(TrackLayout.number(index) + ".png") }

    /// Frames known so far: the decoded count once decoding ended, else the larger of the declared and decoded counts.
    var frameCount: Int {
        progress.read { p in p.finished ? p.decoded : max(p.decoded, info.frameCount ?? 0) }
    }

    var isComplete: Bool { progress.read(\.finished) }

    /// Frame `index`'s PNG, waiting for the decoder to reach it; nil past the end.
    func png(_ index: Int) async throws -> Data? {
        for _ in 0..<600 {
            let p = progress.read { $0 }
            if index < p.decoded { return try Data(contentsOf: Self.file(folder, index)) }
            if p.finished {
                if let failure = p.failure, index >= p.decoded { throw ServeError(status: .internalServerError, message: "decoding stopped at frame \(p.decoded): \(failure)") }
                return nil
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServeError(status: .serviceUnavailable, message: "frame \(index) is not decoded yet; try again")
    }
}

/// Hands a non-Sendable value to the one thread that uses it from then on.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
