// A person's prompt for one object on one frame (a keyframe): what the tracker restarts from.
// Box and points are the model's to answer; a mask is the answer itself.

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
        guard let box = prompt.box ?? Self.pointsBox(prompt.points) else { return nil }
        return try candidates(box: box, hint: nil).first
    }

    /// A box around positive points (a few pixels around one point), for box-only models.
    static func pointsBox(_ points: [PromptPoint]) -> Box? {
        let positive = points.filter(\.positive)
        guard !positive.isEmpty else { return nil }
        let xs = positive.map(\.x), ys = positive.map(\.y)
        return Box(x0: xs.min()! - 8, y0: ys.min()! - 8, x1: xs.max()! + 8, y1: ys.max()! + 8)
    }
}
