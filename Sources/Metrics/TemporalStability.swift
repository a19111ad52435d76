// Temporal stability of one object's mask sequence: how much the prediction moves, grows and
// flickers from frame to frame, with or without ground truth. Definitions are this project's
// (DAVIS 2017 dropped its temporal measure T); each is exact and cheap so that runs compare.

import Imaging

/// Stability figures of one object; nil where the sequence is too short for the measure.
public struct TemporalStability: Hashable, Sendable, Codable {
    /// Mean IoU of consecutive masks (1 = the mask never changes; both empty counts as 1).
    public var consecutiveIoU: Double?
    /// Lowest consecutive IoU: the worst single jump.
    public var minConsecutiveIoU: Double?
    /// Mean symmetric relative area change between consecutive frames (see `areaVolatility`).
    public var areaVolatility: Double?
    /// RMS high-pass residual of the box-centre trajectory in pixels (see `centreJitter`).
    public var centreJitter: Double?
    /// Mean share of the object's pixels that flip and flip back within `flickerWindow` frames.
    public var flicker: Double?
    public var flickerWindow: Int
    /// With ground truth: half the mean squared change of J between consecutive frames (see `temporalVariance`).
    public var jTemporalVariance: Double?
}

public enum StabilityMeasures {
    /// Default flicker window: a flip that reverts within 3 frames (0.1 s at 30 fps) is flicker,
    /// a longer-lived change is treated as real motion.
    public static let defaultFlickerWindow = 3

    /// All measures for `masks` (one per frame); `j` adds the ground-truth measure.
    public static func measure(_ masks: [BinaryMask], j: [Double]? = nil, flickerWindow: Int = defaultFlickerWindow) -> TemporalStability {
        let ious = consecutiveIoU(masks)
        return TemporalStability(
            consecutiveIoU: SequenceStatistics.nanMean(ious[...]), minConsecutiveIoU: ious.min(),
            areaVolatility: areaVolatility(masks.map(\.area)),
            centreJitter: centreJitter(masks.map(\.boundingBox)),
            flicker: SequenceStatistics.nanMean(flicker(masks, window: flickerWindow)[...]),
            flickerWindow: flickerWindow,
            jTemporalVariance: j.flatMap(temporalVariance))
    }

    /// IoU of each mask with the next: `T - 1` values for `T` frames.
    public static func consecutiveIoU(_ masks: [BinaryMask]) -> [Double] {
        guard masks.count >= 2 else { return [] }
        return (1..<masks.count).map { MaskMetrics.iou(masks[$0 - 1], masks[$0]) }
    }

    /// Mean over consecutive frames of `|A[t] - A[t-1]| / ((A[t] + A[t-1]) / 2)`: relative area change
    /// measured against the pair's mean, so growing and shrinking by the same amount score alike; it lies in
    /// [0, 2] (2 = appears from or vanishes to nothing). Two empty frames contribute 0. nil for < 2 frames.
    public static func areaVolatility(_ areas: [Int]) -> Double? {
        guard areas.count >= 2 else { return nil }
        var sum = 0.0
        for t in 1..<areas.count {
            let (a, b) = (Double(areas[t - 1]), Double(areas[t]))
            if a + b > 0 { sum += abs(b - a) / ((a + b) / 2) }
        }
        return sum / Double(areas.count - 1)
    }

    /// Box-centre jitter in pixels: the trajectory `c[t]` (centre of the tight box, `x + w/2`,
    /// `y + h/2`) goes through the high-pass FIR filter `[-1/2, 1, -1/2]`,
    /// `e[t] = c[t] - (c[t-1] + c[t+1]) / 2`: the distance from where the neighbours put the centre.
    /// It is 0 for a still or constant-velocity box, and a single frame displaced by `d` gives
    /// `|e| = d` at that frame (and `d/2` at each neighbour). The result is `sqrt(mean |e[t]|²)` over
    /// interior frames whose box and both neighbours' boxes are non-empty; nil when there is none.
    public static func centreJitter(_ boxes: [Box]) -> Double? {
        guard boxes.count >= 3 else { return nil }
        func centre(_ b: Box) -> (Double, Double)? {
            b.width == 0 ? nil : (b.centerX, b.centerY)
        }
        var sum = 0.0, count = 0
        for t in 1..<(boxes.count - 1) {
            guard let p = centre(boxes[t - 1]), let c = centre(boxes[t]), let n = centre(boxes[t + 1]) else { continue }
            let ex = c.0 - (p.0 + n.0) / 2, ey = c.1 - (p.1 + n.1) / 2
            sum += ex * ex + ey * ey
            count += 1
        }
        return count == 0 ? nil : (sum / Double(count)).squareRoot()
    }

    /// Flicker per transition `t` (frames `t-1 -> t`, `t` in `1..<T`): among the pixels that change
    /// at `t`, those that return to their frame-`t-1` value at some frame `t + k`, `1 <= k <= window`,
    /// i.e. whose new value lasts at most `window` frames; divided by `|m[t-1] ∪ m[t]|`, the object's
    /// extent over the pair (0 when both are empty). A change too close to the end to tell is not counted.
    /// Example, window 3: a pixel on at frames 0, 2, 3 and off at 1 flickers once, at t = 1.
    /// Being pixel-wise, it cannot tell flicker from motion of structures thinner than `window` times
    /// their speed (a pixel they cover for <= `window` frames): keep the window short for fast thin objects.
    public static func flicker(_ masks: [BinaryMask], window: Int = defaultFlickerWindow) -> [Double] {
        precondition(window >= 1, "flicker window must be at least 1 frame, got \(window)")
        guard masks.count >= 2 else { return [] }
        let n = masks[0].bits.count
        for m in masks { precondition(m.bits.count == n, "masks differ in size") }
        return (1..<masks.count).map { t in
            let before = masks[t - 1].bits, now = masks[t].bits
            var flips = 0, extent = 0
            for p in 0..<n {
                if before[p] || now[p] { extent += 1 }
                guard before[p] != now[p] else { continue }
                var k = 1
                while k <= window, t + k < masks.count {
                    if masks[t + k].bits[p] == before[p] { flips += 1; break }
                    k += 1
                }
            }
            return extent == 0 ? 0 : Double(flips) / Double(extent)
        }
    }

    /// Frame-to-frame variance of a per-frame score (Allan variance): `mean((x[t] - x[t-1])²) / 2`.
    /// For independent frame-to-frame noise it equals the ordinary variance, but a slow drift (an
    /// object getting harder to see) barely raises it, so it isolates jumpiness. nil for < 2 frames.
    public static func temporalVariance(_ values: [Double]) -> Double? {
        guard values.count >= 2 else { return nil }
        var sum = 0.0
        for t in 1..<values.count { let d = values[t] - values[t - 1]; sum += d * d }
        return sum / Double(values.count - 1) / 2
    }
}
