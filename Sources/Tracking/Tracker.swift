// Frame-to-frame propagation: the previous mask's box, moved by a constant-velocity motion
// model and padded by a margin, is the next frame's box prompt. The model then corrects the
// mask; the tracker only decides whether to believe it.

/// Tunable parts of the tracker. Every default is a choice of this project, named so it can
/// be changed from the CLI or a test.
public struct TrackerSettings: Sendable, Codable, Hashable {
    /// Padding on each side of the prompt box, as a fraction of the box's width / height:
    /// room for motion the velocity model misses and for the object growing.
    public var margin: Double = 0.1
    /// Also give the model the previous frame's low-res logits as a mask prompt.
    public var useMaskPrompt = false
    /// Masks the model itself scores below this are rejected (quality collapse).
    public var minScore = 0.4
    /// Masks with fewer pixels are "vanished".
    public var minArea = 9
    /// Masks covering more of the frame are rejected: a whole-frame answer is SAM's usual
    /// failure on an empty prompt region, never a plausible tracked object.
    public var maxAreaFraction = 0.9
    /// A mask more than this many times the last good area has bled into the background.
    public var maxGrowth = 4.0
    /// Rejected frames in a row before `occluded` becomes `lost`.
    public var occludedFrames = 15
    /// Extra margin per rejected frame in a row, so the search widens while the object is gone.
    public var searchGrowth = 0.25
    /// Largest margin the search reaches.
    public var maxMargin = 1.5
    /// Weight of the newest displacement in the velocity estimate (exponential smoothing).
    public var velocitySmoothing = 0.5

    public init() {}
}

public enum ObjectState: String, Sendable, Codable {
    /// The mask of this frame was accepted.
    case tracked
    /// Recently rejected (mask vanished or collapsed): the object is probably hidden; the
    /// tracker searches around its predicted position.
    case occluded
    /// Rejected for more than `occludedFrames` frames; the search keeps widening.
    case lost
}

/// One object to follow: id (1...255, the palette index), optional name, box on the first frame.
public struct ObjectSpec: Sendable, Codable, Hashable {
    public var id: Int
    public var name: String?
    public var box: Box

    public init(id: Int, name: String? = nil, box: Box) {
        self.id = id
        self.name = name
        self.box = box
    }
}

/// The tracker's answer for one object on one frame.
public struct ObjectFrame: Sendable {
    public var id: Int
    public var name: String?
    public var state: ObjectState
    /// The box given to the model.
    public var promptBox: Box
    /// Tight box of the emitted mask; nil when the mask is empty.
    public var box: Box?
    public var area: Int
    /// The model's score for its answer (also when the answer was rejected).
    public var score: Double
    public var stability: Double?
    /// Stable-SAM's `[a1, a2]` for this answer when the plugin ran.
    public var route: [Double]?
    /// Why the model's answer was rejected; nil when tracked.
    public var rejection: String?
    /// The emitted mask, row-major at frame size; all false unless `state == .tracked`.
    public var mask: [Bool]
}

/// Follows objects through frames, one `step` per frame, encoding each frame once.
public final class Tracker<Model: Segmenting> {
    public let model: Model
    public let settings: TrackerSettings
    public let width: Int
    public let height: Int
    private var objects: [ObjectTrack<Model.MaskHint>]

    public init(model: Model, objects specs: [ObjectSpec], width: Int, height: Int, settings: TrackerSettings = .init()) {
        precondition(width > 0 && height > 0, "frame size \(width)x\(height)")
        self.model = model
        self.settings = settings
        self.width = width
        self.height = height
        objects = specs.map { ObjectTrack(spec: $0) }
    }

    /// Resumes from snapshots written by an earlier run (see `snapshot()`).
    public init(model: Model, resuming snapshots: [ObjectSnapshot], width: Int, height: Int,
                settings: TrackerSettings = .init()) {
        self.model = model
        self.settings = settings
        self.width = width
        self.height = height
        objects = snapshots.map { ObjectTrack(snapshot: $0) }
    }

    /// Encodes the frame once and answers every object against it.
    public func step(_ frame: FramePixels) throws -> [ObjectFrame] {
        precondition(frame.width == width && frame.height == height,
                     "frame \(frame.width)x\(frame.height) in a \(width)x\(height) track")
        try model.encode(frame)
        var results: [ObjectFrame] = []
        for i in objects.indices {
            results.append(try step(object: i))
        }
        return results
    }

    /// The prompt box object `i` gets on the next frame.
    public func nextPrompt(forObjectAt i: Int) -> Box {
        objects[i].prompt(settings: settings, width: width, height: height)
    }

    public var stability: [ObjectStability] { objects.map(\.stats) }

    /// Everything needed to continue after this frame in a later process (no model state:
    /// the mask hint is dropped, which costs at most one frame of refinement).
    public func snapshot() -> [ObjectSnapshot] { objects.map(\.snapshot) }

    private func step(object i: Int) throws -> ObjectFrame {
        let prompt = objects[i].prompt(settings: settings, width: width, height: height)
        let hint = settings.useMaskPrompt ? objects[i].hint : nil
        let answer = try model.segment(box: prompt, hint: hint)
        precondition(answer.mask.count == width * height,
                     "segmenter returned \(answer.mask.count) mask values for a \(width)x\(height) frame")
        let area = answer.mask.reduce(0) { $0 + ($1 ? 1 : 0) }
        let rejection = objects[i].judge(area: area, score: answer.score, settings: settings, frameArea: width * height)
        let spec = objects[i].spec
        if let rejection {
            objects[i].reject(settings: settings)
            return ObjectFrame(id: spec.id, name: spec.name, state: objects[i].state, promptBox: prompt, box: nil,
                               area: 0, score: answer.score, stability: answer.stability, route: answer.route, rejection: rejection,
                               mask: [Bool](repeating: false, count: width * height))
        }
        let box = Box.bounding(answer.mask, width: width, height: height)!
        objects[i].accept(box: box, mask: answer.mask, area: area, score: answer.score, stability: answer.stability,
                          hint: answer.hint, settings: settings)
        return ObjectFrame(id: spec.id, name: spec.name, state: .tracked, promptBox: prompt, box: box, area: area,
                           score: answer.score, stability: answer.stability, route: answer.route, rejection: nil, mask: answer.mask)
    }
}

/// Per-object state that survives a restart.
public struct ObjectSnapshot: Sendable, Codable {
    public var spec: ObjectSpec
    public var state: ObjectState
    /// Box of the last accepted mask (the user's box before the first frame).
    public var lastBox: Box
    public var lastArea: Int?
    /// Centre displacement per frame, pixels.
    public var velocityX: Double
    public var velocityY: Double
    /// Rejected frames in a row.
    public var missed: Int
    /// Whether any frame has been processed (the first frame uses the user's box as is).
    public var started: Bool
    public var stats: ObjectStability
}

/// The mutable per-object state and its rules.
struct ObjectTrack<Hint> {
    var snapshot: ObjectSnapshot
    var hint: Hint?
    /// Previous emitted mask, for the frame-to-frame IoU figure.
    var previousMask: [Bool]?

    var spec: ObjectSpec { snapshot.spec }
    var state: ObjectState { snapshot.state }
    var stats: ObjectStability { snapshot.stats }

    init(spec: ObjectSpec) {
        snapshot = ObjectSnapshot(spec: spec, state: .tracked, lastBox: spec.box, lastArea: nil, velocityX: 0,
                                  velocityY: 0, missed: 0, started: false, stats: ObjectStability(id: spec.id, name: spec.name))
    }

    init(snapshot: ObjectSnapshot) {
        self.snapshot = snapshot
    }

    /// Last good box moved by the velocity over the frames since it was seen, padded by the
    /// margin (wider for each missed frame), then clipped to the frame. A box the motion
    /// model pushed entirely off-frame is slid back to the nearest edge, so the model is
    /// always asked about pixels that exist.
    func prompt(settings: TrackerSettings, width: Int, height: Int) -> Box {
        let s = snapshot
        guard s.started else { return s.spec.box.clipped(width: width, height: height) ?? s.spec.box }
        let frames = Double(s.missed + 1)
        let pad = min(settings.margin + settings.searchGrowth * Double(s.missed), settings.maxMargin)
        var box = Box(centerX: s.lastBox.centerX + s.velocityX * frames, centerY: s.lastBox.centerY + s.velocityY * frames,
                      width: s.lastBox.width * (1 + 2 * pad), height: s.lastBox.height * (1 + 2 * pad))
        let (w, h) = (Double(width), Double(height))
        let slideX = box.x1 < 1 ? 1 - box.x1 : (box.x0 > w - 1 ? w - 1 - box.x0 : 0)
        let slideY = box.y1 < 1 ? 1 - box.y1 : (box.y0 > h - 1 ? h - 1 - box.y0 : 0)
        box = Box(x0: box.x0 + slideX, y0: box.y0 + slideY, x1: box.x1 + slideX, y1: box.y1 + slideY)
        return box.clipped(width: width, height: height) ?? Box(x0: 0, y0: 0, x1: w, y1: h)
    }

    /// Why this answer cannot be the object, or nil when it is acceptable.
    func judge(area: Int, score: Double, settings: TrackerSettings, frameArea: Int) -> String? {
        if area < settings.minArea { return "vanished" }
        if Double(area) > settings.maxAreaFraction * Double(frameArea) { return "whole frame" }
        if !(score >= settings.minScore) { return "low score" }
        if let last = snapshot.lastArea, Double(area) > settings.maxGrowth * Double(last) { return "grew too fast" }
        return nil
    }

    mutating func accept(box: Box, mask: [Bool], area: Int, score: Double, stability: Double?, hint: Hint?,
                         settings: TrackerSettings) {
        let frames = Double(snapshot.missed + 1)
        if snapshot.started, snapshot.lastArea != nil {
            let vx = (box.centerX - snapshot.lastBox.centerX) / frames
            let vy = (box.centerY - snapshot.lastBox.centerY) / frames
            // After a gap the averaged displacement is the only estimate we have; while
            // tracking, smooth it so one jittery mask does not throw the next prompt.
            let a = snapshot.missed == 0 ? settings.velocitySmoothing : 1
            snapshot.velocityX = a * vx + (1 - a) * snapshot.velocityX
            snapshot.velocityY = a * vy + (1 - a) * snapshot.velocityY
        }
        if snapshot.started && snapshot.state != .tracked { snapshot.stats.recoveries += 1 }
        if let previousMask, snapshot.missed == 0 {
            snapshot.stats.addConsecutive(iou: maskIoU(previousMask, mask))
        }
        snapshot.stats.addTracked(area: area, score: score, stability: stability)
        previousMask = mask
        snapshot.lastBox = box
        snapshot.lastArea = area
        snapshot.missed = 0
        snapshot.state = .tracked
        snapshot.started = true
        self.hint = hint
    }

    mutating func reject(settings: TrackerSettings) {
        snapshot.missed += 1
        snapshot.state = snapshot.missed <= settings.occludedFrames ? .occluded : .lost
        snapshot.stats.addMissed(snapshot.state)
        snapshot.started = true
        hint = nil
        previousMask = nil
    }
}

func maskIoU(_ a: [Bool], _ b: [Bool]) -> Double {
    var intersection = 0, union = 0
    for i in a.indices {
        if a[i] && b[i] { intersection += 1 }
        if a[i] || b[i] { union += 1 }
    }
    return union == 0 ? 1 : Double(intersection) / Double(union)
}
