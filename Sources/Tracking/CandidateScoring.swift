import Imaging
import Metrics

// How the tracker judges one candidate mask: agreement with the motion model (box), with the
// previous mask moved by that motion (shape), with the object's look (appearance), and the
// model's own confidence; plus the evidence that the mask merely filled its prompt box.

/// The figures behind one candidate, recorded for the chosen one in frames/NNNNNN.json.
public struct CandidateScores: Sendable, Hashable {
    public var output: CandidateOutput
    /// IoU of the candidate's box with the Kalman prediction.
    public var kfBoxIoU: Double?
    /// IoU of the candidate's mask with the previous accepted mask, warped by the predicted motion;
    /// nil when there is no previous mask (first frame, after a resume or an unseen stretch).
    public var maskIoU: Double?
    /// Cosine of the candidate's pooled features with the object's templates; nil without features.
    public var appearance: Double?
    /// The model's predicted IoU.
    public var predictedIoU: Double
    /// Mask area over prompt-box area (the prompt clipped to the frame).
    public var fillRatio: Double?
    /// Whether the mask filled its padded prompt box (see `TrackerSettings.fillSides`).
    public var fillsPrompt: Bool
    /// Share of the mask's pixels where another object is expected on this frame (its previous
    /// mask moved by its prediction) and this one is not; nil when the track has one object.
    public var shared: Double?
    /// Weighted mean of the terms present, minus the fill and shared-pixel penalties: the
    /// candidate with the highest wins.
    public var combined: Double
}

extension CandidateScores: Codable {
    enum CodingKeys: String, CodingKey {
        case output, kfBoxIoU = "kfBoxIou", maskIoU = "maskIou", appearance, predictedIoU = "predictedIou"
        case fillRatio, fillsPrompt, shared, combined
    }

    /// Keeps `null` for absent figures so every record has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(output, forKey: .output)
        try c.encode(kfBoxIoU, forKey: .kfBoxIoU)
        try c.encode(maskIoU, forKey: .maskIoU)
        try c.encode(appearance, forKey: .appearance)
        try c.encode(predictedIoU, forKey: .predictedIoU)
        try c.encode(fillRatio, forKey: .fillRatio)
        try c.encode(fillsPrompt, forKey: .fillsPrompt)
        try c.encode(shared, forKey: .shared)
        try c.encode(combined, forKey: .combined)
    }
}

/// Area and tight box of a row-major mask, in one pass.
struct MaskSummary {
    var area: Int
    /// nil when the mask is empty.
    var box: Box?

    init(_ mask: [Bool], width: Int, height: Int) {
        var minX = width, minY = height, maxX = -1, maxY = -1, area = 0
        mask.withUnsafeBufferPointer { m in
            for y in 0..<height {
                let row = y * width
                var rowMin = width, rowMax = -1, rowArea = 0
                for x in 0..<width where m[row + x] {
                    if x < rowMin { rowMin = x }
                    rowMax = x
                    rowArea += 1
                }
                guard rowArea > 0 else { continue }
                area += rowArea
                minX = min(minX, rowMin)
                maxX = max(maxX, rowMax)
                if y < minY { minY = y }
                maxY = y
            }
        }
        self.area = area
        box = maxX >= 0 ? Box(x0: Double(minX), y0: Double(minY), x1: Double(maxX + 1), y1: Double(maxY + 1)) : nil
    }
}

/// An accepted mask cut to its tight box: what the next frame's shape comparison needs, small
/// enough to keep in a resume snapshot.
public struct MaskCrop: Sendable, Codable, Hashable {
    /// Top-left pixel of the crop in the frame.
    public var x: Int
    public var y: Int
    /// The pixels inside the tight box (its size is the RLE's).
    public var mask: RLE
    public var area: Int

    /// nil when the mask is empty.
    init?(_ full: [Bool], box: Box?, area: Int, frameWidth: Int) {
        guard let box, area > 0 else { return nil }
        let (x0, y0, w, h) = (Int(box.x0), Int(box.y0), Int(box.width), Int(box.height))
        var bits = [Bool](repeating: false, count: w * h)
        for r in 0..<h {
            let src = (y0 + r) * frameWidth + x0
            for c in 0..<w { bits[r * w + c] = full[src + c] }
        }
        x = x0
        y = y0
        mask = RLE.encode(mask: bits, height: h, width: w)
        self.area = area
    }

    var box: Box { Box(x0: Double(x), y0: Double(y), x1: Double(x + mask.width), y1: Double(y + mask.height)) }

    /// The whole-frame mask the crop was cut from (`bits`: the crop decoded).
    func full(_ bits: [Bool], width: Int, height: Int) -> [Bool] {
        var out = [Bool](repeating: false, count: width * height)
        for r in 0..<mask.height where y + r < height {
            for c in 0..<mask.width where x + c < width && bits[r * mask.width + c] { out[(y + r) * width + x + c] = true }
        }
        return out
    }
}

/// The predicted motion of an object between its last accepted frame and this one: its Kalman
/// box then (`from`) and now (`to`), camera motion included. Points move with the centre and
/// scale with the size.
struct BoxMotion {
    var from: Box
    var to: Box

    var scaleX: Double { to.width / max(from.width, 1e-6) }
    var scaleY: Double { to.height / max(from.height, 1e-6) }

    func apply(_ b: Box) -> Box {
        Box(x0: to.centerX + (b.x0 - from.centerX) * scaleX, y0: to.centerY + (b.y0 - from.centerY) * scaleY,
            x1: to.centerX + (b.x1 - from.centerX) * scaleX, y1: to.centerY + (b.y1 - from.centerY) * scaleY)
    }
}

/// IoU of `mask` (frame size, tight box `box`, `area` pixels) with the previous mask `warped`.
/// Only the overlap of the two boxes is visited; the warped area is the crop's area times the
/// scale, so no full-frame pass is needed.
func warpedMaskIoU(_ mask: [Bool], box: Box, area: Int, width: Int, warped: WarpedSupport) -> Double {
    let motion = warped.motion
    let warpedArea = Double(warped.crop.area) * motion.scaleX * motion.scaleY
    let x0 = max(Int(box.x0), Int(warped.bounds.x0.rounded(.down))), x1 = min(Int(box.x1), Int(warped.bounds.x1.rounded(.up)))
    let y0 = max(Int(box.y0), Int(warped.bounds.y0.rounded(.down))), y1 = min(Int(box.y1), Int(warped.bounds.y1.rounded(.up)))
    var intersection = 0
    if x1 > x0 && y1 > y0 {
        for py in y0..<y1 {
            for px in x0..<x1 where mask[py * width + px] && warped.contains(x: px, y: py) { intersection += 1 }
        }
    }
    let union = Double(area) + warpedArea - Double(intersection)
    return union > 0 ? min(1, Double(intersection) / union) : 0
}

/// Whether a mask filled its prompt box: its box touches `fillSides` padded sides, or it covers
/// `maxFillRatio` of a padded prompt. `padX`/`padY` are the padding the prompt was given on each
/// side; sides where the prompt was cut by the frame edge do not count (an object leaving the
/// frame touches it legitimately), nor do sides padded by less than a pixel.
func fillEvidence(mask: Box, area: Int, prompt: Box, padX: Double, padY: Double, width: Int, height: Int,
                  settings: TrackerSettings) -> (ratio: Double, fills: Bool) {
    let ratio = prompt.area > 0 ? Double(area) / prompt.area : 0
    let (w, h) = (Double(width), Double(height))
    var touched = 0
    if padX >= 1 {
        let tolerance = settings.fillTolerance * padX
        if prompt.x0 > 0.5 && mask.x0 - prompt.x0 <= tolerance { touched += 1 }
        if prompt.x1 < w - 0.5 && prompt.x1 - mask.x1 <= tolerance { touched += 1 }
    }
    if padY >= 1 {
        let tolerance = settings.fillTolerance * padY
        if prompt.y0 > 0.5 && mask.y0 - prompt.y0 <= tolerance { touched += 1 }
        if prompt.y1 < h - 0.5 && prompt.y1 - mask.y1 <= tolerance { touched += 1 }
    }
    let padded = padX >= 1 || padY >= 1
    return (ratio, touched >= settings.fillSides || (padded && ratio > settings.maxFillRatio))
}

/// Where an object is expected on this frame: its last accepted mask moved by the predicted
/// motion (nearest-neighbour inverse warp of pixel centres into the crop).
struct WarpedSupport {
    let crop: MaskCrop
    let bits: [Bool]
    let motion: BoxMotion
    /// The model's score for that mask: a claim only stands against candidates scored no higher.
    let score: Double
    /// The warped crop's bounds, pixels.
    let bounds: Box

    init(crop: MaskCrop, bits: [Bool], motion: BoxMotion, score: Double) {
        self.crop = crop
        self.bits = bits
        self.motion = motion
        self.score = score
        bounds = motion.apply(crop.box)
    }

    func contains(x px: Int, y py: Int) -> Bool {
        let (x, y) = (Double(px) + 0.5, Double(py) + 0.5)
        guard x >= bounds.x0 && x < bounds.x1 && y >= bounds.y0 && y < bounds.y1 else { return false }
        let cx = Int((motion.from.centerX + (x - motion.to.centerX) / motion.scaleX - Double(crop.x)).rounded(.down))
        let cy = Int((motion.from.centerY + (y - motion.to.centerY) / motion.scaleY - Double(crop.y)).rounded(.down))
        guard cx >= 0 && cx < crop.mask.width && cy >= 0 && cy < crop.mask.height else { return false }
        return bits[cy * crop.mask.width + cx]
    }
}

/// The share of a mask's pixels (tight box `box`, `area` pixels) where another object is expected
/// and this one is not: in a video segmentation every pixel belongs to one object, so such a
/// mask is a spill onto a neighbour, or the neighbour found a second time. Pixels this object's
/// own expected support covers do not count, so a neighbour's earlier spill onto it cannot push
/// it off its own pixels; nor do those of a neighbour the model was less sure of than of this
/// candidate (as SAM 2 gives a contested pixel to the surer object), so one object's bad mask
/// cannot knock a well-segmented neighbour out.
func sharedFraction(_ mask: [Bool], box: Box, area: Int, score: Double, width: Int, own: WarpedSupport?,
                    others: [WarpedSupport]) -> Double {
    let near = others.filter { box.iou($0.bounds) > 0 && $0.score >= score }
    guard area > 0, !near.isEmpty else { return 0 }
    var shared = 0
    for y in Int(box.y0)..<Int(box.y1) {
        for x in Int(box.x0)..<Int(box.x1) where mask[y * width + x] {
            guard near.contains(where: { $0.contains(x: x, y: y) }) else { continue }
            if let own, own.contains(x: x, y: y) { continue }
            shared += 1
        }
    }
    return Double(shared) / Double(area)
}

/// Cosine similarity; nil when either vector is missing, empty, of another length or zero.
func cosine(_ a: [Float]?, _ b: [Float]?) -> Double? {
    guard let a, let b, a.count == b.count, !a.isEmpty else { return nil }
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    guard na > 0, nb > 0 else { return nil }
    return Double(dot / (na.squareRoot() * nb.squareRoot()))
}

/// Unit-length copy (templates are averaged, so every contribution counts by direction only).
func normalized(_ v: [Float]) -> [Float] {
    let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return n > 0 ? v.map { $0 / n } : v
}

/// The weighted mean of the terms present minus the fill penalty.
func combinedScore(kfBoxIoU: Double?, maskIoU: Double?, appearance: Double?, predictedIoU: Double, fills: Bool,
                   settings: TrackerSettings) -> Double {
    let terms: [(Double, Double?)] = [
        (settings.boxAgreementWeight, kfBoxIoU), (settings.maskAgreementWeight, maskIoU),
        (settings.appearanceWeight, appearance.map { max(0, $0) }), (settings.predictedIoUWeight, predictedIoU),
    ]
    var sum = 0.0, weights = 0.0
    for (w, v) in terms {
        guard let v, w > 0 else { continue }
        sum += w * v
        weights += w
    }
    return (weights > 0 ? sum / weights : 0) - (fills ? settings.fillPenalty : 0)
}
