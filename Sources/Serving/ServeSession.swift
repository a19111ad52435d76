import Foundation
import Imaging
import VideoIO
import VideoTracking

/// Everything `serve` holds for its one video and run folder: the decoded frames, the keyframes
/// (prompts.json), the undo history, each frame's states, and the propagation that may be running.
/// Routes call it from any task; the propagation runs on a thread of its own (`Propagation`).
final class ServeSession: Sendable {
    struct State {
        var document: PromptsDocument
        /// Documents before each change, newest last: what "undo" restores.
        var undo: [PromptsDocument] = []
        var states: FrameStates
        /// What a running propagation does ("propagate" or "export"); nil when none runs.
        var running: String?
        var stop: StopFlag?
        /// Frames whose masks a running propagation has answered: their overlay is in `.serve/live/`.
        var live: Set<Int> = []
    }

    let settings: ServeSettings
    let layout: TrackLayout
    let frames: FrameCache
    let progress = ProgressLog()
    let state: Locked<State>
    let modelSlot = UncheckedBox(ModelSlot())
    var liveFolder: URL { settings.cacheFolder.appendingPathComponent("live") }

    /// Opens the video and restores the run folder's keyframes; nothing is listening yet.
    init(settings: ServeSettings) throws {
        self.settings = settings
        layout = TrackLayout(root: settings.output)
        // The video opens first: a bad path costs no folder.
        frames = try FrameCache(video: settings.video, folderFrameRate: settings.folderFrameRate,
                                folder: settings.cacheFolder.appendingPathComponent("frames"))
        let document = try PromptsDocument.read(settings.promptsFile)
        let count = frames.info.frameCount ?? 0
        state = Locked(State(document: document, states: FrameStates.read(layout: layout, frameCount: count)))
        try? FileManager.default.removeItem(at: settings.cacheFolder.appendingPathComponent("live"))
    }

    // MARK: keyframes

    /// Sets a keyframe (box and/or points) of object `id` on `frame`, as `track --prompts` would take it.
    func setKeyframe(id: Int, name: String?, frame: Int, box: [Double]?, points: [[Double]]?) throws -> PromptsDocument {
        guard (1...255).contains(id) else { throw ServeError.bad("object id \(id): ids are 1...255 (the palette index)") }
        guard frame >= 0, frame < max(frames.frameCount, 1) else {
            throw ServeError.bad("frame \(frame) is outside the video (0...\(frames.frameCount - 1))")
        }
        if let name, name.count > 100 || name.contains(where: \.isNewline) {
            throw ServeError.bad("an object name is one line of at most 100 characters")
        }
        guard box != nil || !(points ?? []).isEmpty else { throw ServeError.bad("a keyframe needs a box or points") }
        return try change { $0.set(PromptsDocument.Keyframe(frame: frame, box: box, points: points?.isEmpty == true ? nil : points),
                                   id: id, name: name) }
    }

    func removeKeyframe(id: Int, frame: Int) throws -> PromptsDocument {
        try change { doc in
            guard doc.remove(id: id, frame: frame) else { throw ServeError(status: .notFound, message: "object \(id) has no keyframe on frame \(frame)") }
        }
    }

    /// Restores the keyframes before the last change.
    func undo() throws -> PromptsDocument {
        try state.update { s in
            guard let previous = s.undo.last else { throw ServeError(status: .conflict, message: "nothing to undo") }
            try previous.save(to: settings.promptsFile, info: frames.info, frameCount: frames.isComplete ? frames.frameCount : nil)
            s.undo.removeLast()
            s.document = previous
            return previous
        }
    }

    /// Applies `edit`, saves (only if `track` would accept the result) and remembers the old document.
    private func change(_ edit: (inout PromptsDocument) throws -> Void) throws -> PromptsDocument {
        try state.update { s in
            var doc = s.document
            try edit(&doc)
            try doc.save(to: settings.promptsFile, info: frames.info, frameCount: frames.isComplete ? frames.frameCount : nil)
            s.undo.append(s.document)
            s.document = doc
            return doc
        }
    }

    // MARK: masks and states

    /// Frame `index`'s masks as an indexed PNG (index = object id): a running propagation's answer
    /// where it has one, else the run folder's palette file; nil where no run reached the frame.
    func overlayPNG(_ index: Int) throws -> Data? {
        let live = state.read { $0.live.contains(index) }
        let file = live ? liveFile(index) : layout.paletteFile(number: index + settings.startNumber)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try Data(contentsOf: file)
    }

    func liveFile(_ index: Int) -> URL { liveFolder.appendingPathComponent(TrackLayout.number(index) + ".png") }

    /// A running propagation's answers on a frame: merged into the frame's live overlay (an
    /// object's pixels replaced, other objects' kept: the backward pass answers only the objects
    /// propagating backward) and its states.
    func landed(_ index: Int, results: [(id: Int, state: String, mask: [Bool])]) {
        let (w, h) = (frames.info.width, frames.info.height)
        let file = liveFile(index)
        let wasLive = state.read { $0.live.contains(index) }
        var indices = (wasLive ? try? ImageReader.readIndexed(file).indices : nil) ?? [UInt8](repeating: 0, count: w * h)
        for r in results {
            let id = UInt8(r.id)
            for i in indices.indices where indices[i] == id { indices[i] = 0 }
            if r.state == "tracked" { for i in indices.indices where r.mask[i] { indices[i] = id } }
        }
        try? FileManager.default.createDirectory(at: liveFolder, withIntermediateDirectories: true)
        guard (try? ImageWriter.writePNG(IndexedImage(width: w, height: h, indices: indices), to: file)) != nil else { return }
        state.update { s in
            s.live.insert(index)
            for r in results { s.states.byFrame[index, default: [:]][r.id] = r.state }
        }
    }
}
