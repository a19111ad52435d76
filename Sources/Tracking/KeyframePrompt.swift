// A person's prompt for one object on one frame (a keyframe): what the tracker restarts from.
// Box and points are the model's to answer; a mask is the answer itself.

import Imaging

/// A clicked point: positive (on the object) or negative (not on it), frame pixels.
public struct PromptPoint: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public var positive: Bool

    public init(x: Double, y: Double, positive: Bool) {
        self.x = x
        self.y = y
        self.positive = positive
    }
}

/// What a keyframe gives: a box, points, or both; or a mask, which is taken as it is.
public struct KeyframePrompt: Sendable, Hashable {
    public var box: Box?
    public var points: [PromptPoint]
    /// Row-major at frame size; when set, box and points are ignored.
    public var mask: [Bool]?

    public init(box: Box? = nil, points: [PromptPoint] = [], mask: [Bool]? = nil) {
        self.box = box
        self.points = points
        self.mask = mask
    }
}

extension Segmenting {
    /// The default for models that only answer boxes: the prompt's box (or the mask's box) through
    /// `candidates`, first answer; a mask is returned as it is, scored 1. Models that take points
    /// and masks (TrackSegmenter for SAM) answer keyframes properly.
    public func answer(_ prompt: KeyframePrompt, width: Int, height: Int) throws -> Segmentation<MaskHint>? {
        if let mask = prompt.mask { return Segmentation(mask: mask, score: 1) }
        // A few pixels around the positive points, for a model that only takes boxes.
        guard let box = prompt.box ?? Box.around(prompt.points, padding: 8) else { return nil }
        return try candidates(box: box, hint: nil).first
    }
}

extension Box {
    /// The box around the positive points, `padding` pixels wider on each side, at least one pixel
    /// across; nil without a positive point.
    public static func around(_ points: [PromptPoint], padding: Double = 0) -> Box? {
        let positive = points.filter(\.positive)
        guard let x0 = positive.map(\.x).min(), let x1 = positive.map(\.x).max(),
              let y0 = positive.map(\.y).min(), let y1 = positive.map(\.y).max() else { return nil }
        return Box(x0: x0 - padding, y0: y0 - padding, x1: max(x1 + padding, x0 + 1), y1: max(y1 + padding, y0 + 1))
    }
}
