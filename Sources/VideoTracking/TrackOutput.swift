import Foundation
import Imaging
import Metrics
import Tracking
import VideoIO

/// What the model thread hands the writer thread for one source frame.
enum WriteItem: Sendable {
    /// Before the start frame: copied into the overlay (and matte video, fully transparent).
    case passThrough(VideoFrame)
    /// Done by an earlier, interrupted run: the overlay is redrawn from its JSON.
    case replay(VideoFrame)
    case tracked(VideoFrame, [ObjectFrame], [ObjectSnapshot])
}

/// `.resume.json`: the tracker after `frame`, and what the run was asked, so a resume with
/// other inputs is refused rather than mixed in.
struct ResumeState: Codable {
    var input: String
    var objects: [ObjectSpec]
    var startFrame: Int
    var frame: Int
    var tracker: [ObjectSnapshot]
    /// The run's soft-matte settings (absent in state files of runs without them).
    var softMatte: SoftMatteRequest? = nil
}

/// Writes every per-frame output. Lives on the writer thread: PNG and video encoding
/// overlap with the model's work on the next frame.
final class TrackWriter {
    let layout: TrackLayout
    let info: VideoInfo
    let objects: [ObjectSpec]
    let startNumber: Int
    let startFrame: Int
    private var overlay: VideoWriter
    private var matte: VideoWriter?
    private let soft: SoftMatteWriter?
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder
    private(set) var lastWritten: Int?

    init(layout: TrackLayout, info: VideoInfo, objects: [ObjectSpec], startFrame: Int, startNumber: Int,
         matteVideo: Bool, softMatte: SoftMatteRequest? = nil) throws {
        self.layout = layout
        self.info = info
        self.objects = objects
        self.startFrame = startFrame
        self.startNumber = startNumber
        overlay = try VideoWriter(url: layout.overlay, width: info.width, height: info.height, codec: .h264,
                                  timeBase: info.timeBase, frameRate: info.frameRate)
        if matteVideo {
            matte = try VideoWriter(url: layout.matteVideo, width: info.width, height: info.height, codec: .prores4444,
                                    timeBase: info.timeBase, frameRate: info.frameRate)
        }
        soft = try softMatte.map {
            try SoftMatteWriter(request: $0, layout: layout, width: info.width, height: info.height, objects: objects)
        }
        encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
    }

    func write(_ item: WriteItem) throws {
        switch item {
        case .passThrough(let frame):
            try addVideoFrames(frame, masks: [])
        case .replay(let frame):
            let data = try Data(contentsOf: layout.frameFile(frame.index))
            let record = try decoder.decode(Tracking.FrameRecord.self, from: data)
            // The matte video's soft alpha comes back from the earlier run's 16-bit PNGs.
            let softAlpha = try matte == nil ? nil : soft?.union(number: startNumber + frame.index, ids: record.objects.map(\.id))
            try addVideoFrames(frame, masks: record.objects.map { ($0.id, $0.box, $0.mask.decode()) }, softAlpha: softAlpha)
        case let .tracked(frame, results, snapshot):
            let softAlpha = try writeFiles(frame, results)
            let state = ResumeState(input: info.path, objects: objects, startFrame: startFrame, frame: frame.index,
                                    tracker: snapshot, softMatte: soft?.request)
            // After the frame's own files: a state file never points past complete outputs.
            try AtomicFile.write(try encoder.encode(state), to: layout.resumeState)
            try addVideoFrames(frame, masks: results.map { ($0.id, $0.box, $0.mask) }, softAlpha: softAlpha)
            lastWritten = frame.index
        }
    }

    /// Mattes, soft mattes, palette image, then the frame JSON last: a JSON file means the frame
    /// is complete. Returns the union of the soft mattes (nil without soft mattes).
    @discardableResult
    func writeFiles(_ frame: VideoFrame, _ results: [ObjectFrame]) throws -> [Float]? {
        let (w, h) = (info.width, info.height)
        let number = startNumber + frame.index
        var indices = [UInt8](repeating: 0, count: w * h)
        for r in results {
            var matte = [UInt8](repeating: 0, count: w * h)
            for i in r.mask.indices where r.mask[i] {
                matte[i] = 255
                indices[i] = UInt8(r.id)  // later objects are drawn over earlier ones where masks overlap
            }
            try ImageWriter.writePNG(GrayImage(width: w, height: h, pixels: matte), to: layout.maskFile(id: r.id, number: number))
        }
        let softAlpha = try soft?.write(frame, results, number: number)
        try ImageWriter.writePNG(IndexedImage(width: w, height: h, indices: indices), to: layout.paletteFile(number: number))
        let record = Tracking.FrameRecord(frame: frame.index, time: frame.time,
                                 objects: results.map { ObjectRecord($0, width: w, height: h) })
        try AtomicFile.write(try encoder.encode(record), to: layout.frameFile(frame.index))
        return softAlpha
    }

    /// `softAlpha` (with soft mattes): the matte video's alpha instead of the binary masks' union.
    func addVideoFrames(_ frame: VideoFrame, masks: [(id: Int, box: Box?, mask: [Bool])], softAlpha: [Float]? = nil) throws {
        var picture = frame.image
        for m in masks where m.box != nil {
            let b = m.box!
            picture.drawObject(id: m.id, mask: m.mask, box: (b.x0, b.y0, b.x1 - 1, b.y1 - 1))
        }
        try overlay.append(picture, pts: frame.pts, duration: frame.duration)
        if let matte {
            if let softAlpha {
                try matte.append(frame.image, alpha: Gray16Image(width: info.width, height: info.height, alpha: softAlpha),
                                 pts: frame.pts, duration: frame.duration)
                return
            }
            var alpha = [UInt8](repeating: 0, count: info.width * info.height)
            for m in masks {
                for i in m.mask.indices where m.mask[i] { alpha[i] = 255 }
            }
            try matte.append(frame.image, alpha: GrayImage(width: info.width, height: info.height, pixels: alpha),
                             pts: frame.pts, duration: frame.duration)
        }
    }

    /// Finishes the videos (renamed into place). Not called for an interrupted run, whose
    /// partial videos are discarded and rebuilt by a resumed run.
    func finish() throws {
        try overlay.finish()
        try matte?.finish()
    }
}
