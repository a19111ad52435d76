import Imaging
import Metrics

// What a track run records: one `FrameRecord` per frame (frames/NNNNNN.json) and one
// `ObjectStability` per object (summary.json). Keys are written snake_case by the CLI.

/// `frames/NNNNNN.json`.
public struct FrameRecord: Sendable, Codable {
    /// 0-based index of the frame in the source.
    public var frame: Int
    /// Presentation time in seconds, as the source stamps it.
    public var time: Double
    public var objects: [ObjectRecord]

    public init(frame: Int, time: Double, objects: [ObjectRecord]) {
        self.frame = frame
        self.time = time
        self.objects = objects
    }
}

public struct ObjectRecord: Sendable, Codable {
    public var id: Int
    public var name: String?
    public var state: ObjectState
    /// `[x0, y0, x1, y1]` given to the model.
    public var promptBox: Box
    /// `[x0, y0, x1, y1]` around the mask; null when the mask is empty.
    public var box: Box?
    public var area: Int
    /// The model's predicted IoU.
    public var score: Double
    public var stability: Double?
    /// Stable-SAM's routing weights `[a1, a2]` when the plugin runs; null for plain SAM.
    public var route: [Double]?
    public var rejection: String?
    /// COCO RLE (column-major counts, pycocotools string form).
    public var mask: RLE
    /// The candidate the tracker chose (also when it was rejected) and its figures; null when the
    /// model gave none. Null in records written before candidates existed.
    public var choice: CandidateScores?
    /// `[x0, y0, x1, y1]` the Kalman filter predicted (the prompt is this, padded); null on the first frame.
    public var predictedBox: Box?
    /// `[dx, dy]`: global camera motion from the previous frame, pixels; null when not estimated.
    public var cameraMotion: [Double]?

    public init(_ object: ObjectFrame, width: Int, height: Int) {
        id = object.id
        name = object.name
        state = object.state
        promptBox = object.promptBox
        box = object.box
        area = object.area
        score = object.score
        stability = object.stability
        route = object.route
        rejection = object.rejection
        mask = RLE.encode(mask: object.mask, height: height, width: width)
        choice = object.choice
        predictedBox = object.predictedBox
        cameraMotion = object.cameraMotion.map { [$0.dx, $0.dy] }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, state, promptBox, box, area, score, stability, route, rejection, mask, choice, predictedBox, cameraMotion
    }

    /// Records written before `choice`, `predicted_box` and `camera_motion` existed still decode (`--resume` replays them).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        state = try c.decode(ObjectState.self, forKey: .state)
        promptBox = try c.decode(Box.self, forKey: .promptBox)
        box = try c.decodeIfPresent(Box.self, forKey: .box)
        area = try c.decode(Int.self, forKey: .area)
        score = try c.decode(Double.self, forKey: .score)
        stability = try c.decodeIfPresent(Double.self, forKey: .stability)
        route = try c.decodeIfPresent([Double].self, forKey: .route)
        rejection = try c.decodeIfPresent(String.self, forKey: .rejection)
        mask = try c.decode(RLE.self, forKey: .mask)
        choice = try c.decodeIfPresent(CandidateScores.self, forKey: .choice)
        predictedBox = try c.decodeIfPresent(Box.self, forKey: .predictedBox)
        cameraMotion = try c.decodeIfPresent([Double].self, forKey: .cameraMotion)
    }

    /// Keeps `null` for absent optionals so every record has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(state, forKey: .state)
        try c.encode(promptBox, forKey: .promptBox)
        try c.encode(box, forKey: .box)
        try c.encode(area, forKey: .area)
        try c.encode(score, forKey: .score)
        try c.encode(stability, forKey: .stability)
        try c.encode(route, forKey: .route)
        try c.encode(rejection, forKey: .rejection)
        try c.encode(mask, forKey: .mask)
        try c.encode(choice, forKey: .choice)
        try c.encode(predictedBox, forKey: .predictedBox)
        try c.encode(cameraMotion, forKey: .cameraMotion)
    }
}

/// Temporal figures for one object over a run: how often it was held, and how steady its
/// mask was while held.
public struct ObjectStability: Sendable, Codable, Hashable {
    public var id: Int
    public var name: String?
    public var trackedFrames = 0
    public var occludedFrames = 0
    public var lostFrames = 0
    /// Times the object was found again after occluded/lost frames.
    public var recoveries = 0
    public var meanScore: Double? { trackedFrames > 0 ? scoreSum / Double(trackedFrames) : nil }
    public var meanStability: Double? { stabilityCount > 0 ? stabilitySum / Double(stabilityCount) : nil }
    /// Mean IoU between masks of consecutive tracked frames: 1 for a still, steady mask;
    /// flicker and drift lower it (so does fast motion, which a reader of the figure must allow for).
    public var meanConsecutiveIoU: Double? { iouCount > 0 ? iouSum / Double(iouCount) : nil }
    /// Lowest consecutive-frame IoU: the worst flicker of the run.
    public var minConsecutiveIoU: Double?
    /// Coefficient of variation of the mask area over tracked frames (std / mean).
    public var areaVariation: Double? {
        guard trackedFrames > 1, areaSum > 0 else { return nil }
        let n = Double(trackedFrames), mean = areaSum / n
        return (max(0, areaSquareSum / n - mean * mean)).squareRoot() / mean
    }

    // Running sums, kept so a resumed run continues the same figures.
    var scoreSum = 0.0
    var stabilitySum = 0.0
    var stabilityCount = 0
    var iouSum = 0.0
    var iouCount = 0
    var areaSum = 0.0
    var areaSquareSum = 0.0

    public init(id: Int, name: String?) {
        self.id = id
        self.name = name
    }

    public mutating func addTracked(area: Int, score: Double, stability: Double?) {
        trackedFrames += 1
        scoreSum += score
        if let stability { stabilitySum += stability; stabilityCount += 1 }
        areaSum += Double(area)
        areaSquareSum += Double(area) * Double(area)
    }

    public mutating func addConsecutive(iou: Double) {
        iouSum += iou
        iouCount += 1
        minConsecutiveIoU = min(minConsecutiveIoU ?? iou, iou)
    }

    public mutating func addMissed(_ state: ObjectState) {
        if state == .lost { lostFrames += 1 } else { occludedFrames += 1 }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, trackedFrames, occludedFrames, lostFrames, recoveries, meanScore, meanStability
        case meanConsecutiveIoU = "meanConsecutiveIou", minConsecutiveIoU = "minConsecutiveIou", areaVariation
        case scoreSum, stabilitySum, stabilityCount, iouSum, iouCount, areaSum, areaSquareSum
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        trackedFrames = try c.decode(Int.self, forKey: .trackedFrames)
        occludedFrames = try c.decode(Int.self, forKey: .occludedFrames)
        lostFrames = try c.decode(Int.self, forKey: .lostFrames)
        recoveries = try c.decode(Int.self, forKey: .recoveries)
        minConsecutiveIoU = try c.decodeIfPresent(Double.self, forKey: .minConsecutiveIoU)
        scoreSum = try c.decodeIfPresent(Double.self, forKey: .scoreSum) ?? 0
        stabilitySum = try c.decodeIfPresent(Double.self, forKey: .stabilitySum) ?? 0
        stabilityCount = try c.decodeIfPresent(Int.self, forKey: .stabilityCount) ?? 0
        iouSum = try c.decodeIfPresent(Double.self, forKey: .iouSum) ?? 0
        iouCount = try c.decodeIfPresent(Int.self, forKey: .iouCount) ?? 0
        areaSum = try c.decodeIfPresent(Double.self, forKey: .areaSum) ?? 0
        areaSquareSum = try c.decodeIfPresent(Double.self, forKey: .areaSquareSum) ?? 0
    }

    /// Writes the figures and the running sums (the sums let `--resume` continue them).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(trackedFrames, forKey: .trackedFrames)
        try c.encode(occludedFrames, forKey: .occludedFrames)
        try c.encode(lostFrames, forKey: .lostFrames)
        try c.encode(recoveries, forKey: .recoveries)
        try c.encode(meanScore, forKey: .meanScore)
        try c.encode(meanStability, forKey: .meanStability)
        try c.encode(meanConsecutiveIoU, forKey: .meanConsecutiveIoU)
        try c.encode(minConsecutiveIoU, forKey: .minConsecutiveIoU)
        try c.encode(areaVariation, forKey: .areaVariation)
        try c.encode(scoreSum, forKey: .scoreSum)
        try c.encode(stabilitySum, forKey: .stabilitySum)
        try c.encode(stabilityCount, forKey: .stabilityCount)
        try c.encode(iouSum, forKey: .iouSum)
        try c.encode(iouCount, forKey: .iouCount)
        try c.encode(areaSum, forKey: .areaSum)
        try c.encode(areaSquareSum, forKey: .areaSquareSum)
    }
}
