// RTS's prompt mix and epoch stream, as Scripts/stable_sam/train.py draws them (`draw_prompt`,
// `noisy_box`, `temporal_prompt`, `epoch_stream`), constant for constant. The random stream is
// TrainingRandom's, not numpy's: same distributions, not the same numbers.
import Foundation
import Imaging
import Metrics

/// A training prompt in original-image pixels.
public struct TrainingPrompt: Sendable, Equatable {
    /// `box`, `noisy_box`, `points<k>` or `temporal`, as train.py logs them.
    public var kind: String
    public var box: Box?
    /// Positive points (pixel coordinates, as train.py: the integer position of a mask pixel).
    public var points: [(x: Double, y: Double)]

    public init(kind: String, box: Box?, points: [(x: Double, y: Double)]) {
        self.kind = kind
        self.box = box
        self.points = points
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.kind == b.kind && a.box == b.box && a.points.elementsEqual(b.points) { $0.x == $1.x && $0.y == $1.y }
    }
}

public enum RTSPrompts {
    /// Drawn uniformly per still sample.
    public static let promptTypes = ["box", "noisy_box", "points"]
    /// Noisy box: s ~ U(0, 0.5).
    public static let noiseScaleMax = 0.5
    /// k positive points, weighted towards 1 and 3.
    public static let pointCounts = Array(1...10)
    public static let pointWeights = pointCounts.map { $0 == 1 || $0 == 3 ? 0.3 : 0.05 }
    /// Temporal prompts (clip samples): source frame offsets, margin, shift sigma, cut.
    public static let temporalOffsets = [-3, -2, -1, 1, 2, 3]
    public static let temporalMargin = (0.0, 0.3)
    public static let temporalShift = (0.05, 0.1)
    public static let temporalCutProb = 0.25
    public static let temporalCutMax = 0.3
    public static let temporalShare = 0.5
    /// `--temporal-loose`: the margin of "grown" temporal prompts, the box a tracker gives after
    /// its previous masks spilled into the background (train.py TEMPORAL_LOOSE_MARGIN).
    public static let temporalLooseMargin = (0.3, 0.8)

    /// train.py `draw_prompt`: the GT box, a noisy box, or k positive points inside the mask.
    public static func still(_ object: BinaryMask, rng: inout TrainingRandom) -> TrainingPrompt {
        guard let box = Box(object) else { preconditionFailure("an empty object has no prompt") }
        switch promptTypes[rng.below(promptTypes.count)] {
        case "box":
            return TrainingPrompt(kind: "box", box: box, points: [])
        case "noisy_box":
            let s = rng.uniform(0, noiseScaleMax)
            return TrainingPrompt(kind: "noisy_box", box: noisyBox(box, scale: s, rng: &rng, width: object.width, height: object.height),
                                  points: [])
        default:
            let k = pointCounts[rng.weighted(pointWeights)]
            var inside: [Int] = []
            for (i, b) in object.bits.enumerated() where b { inside.append(i) }
            // rng.choice(len(xs), size=k, replace=len(xs) < k)
            var picks: [Int]
            if inside.count < k {
                picks = (0..<k).map { _ in rng.below(inside.count) }
            } else {
                picks = []
                var pool = Array(inside.indices)
                for i in 0..<k {   // partial Fisher-Yates: k distinct picks
                    let j = i + rng.below(pool.count - i)
                    pool.swapAt(i, j)
                    picks.append(pool[i])
                }
            }
            let points = picks.map { (x: Double(inside[$0] % object.width), y: Double(inside[$0] / object.width)) }
            return TrainingPrompt(kind: "points\(k)", box: nil, points: points)
        }
    }

    /// HQ-SAM / DN-DETR box noise: centre jittered by u·(w/2)·s, size by u·w·s, u ~ U(-1, 1); clamped,
    /// keeping a positive area.
    public static func noisyBox(_ box: Box, scale s: Double, rng: inout TrainingRandom, width: Int, height: Int) -> Box {
        var cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2, w = box.x1 - box.x0, h = box.y1 - box.y0
        let u = (0..<4).map { _ in rng.uniform(-1, 1) }
        cx += u[0] * (w / 2) * s
        cy += u[1] * (h / 2) * s
        w += u[2] * w * s
        h += u[3] * h * s
        let W = Double(width), H = Double(height)
        var out = Box(x0: min(max(cx - w / 2, 0), W), y0: min(max(cy - h / 2, 0), H),
                           x1: min(max(cx + w / 2, 0), W), y1: min(max(cy + h / 2, 0), H))
        out.x1 = max(out.x1, out.x0 + 1)
        out.y1 = max(out.y1, out.y0 + 1)
        return roundedToFloat(out)
    }

    /// train.py `temporal_prompt`: the tight box of the object at frame t + d (d among the visible
    /// offsets, else 0), one side cut short with probability 0.25, padded by the tracker's margin,
    /// shifted by a truncated normal motion error, clamped. Returns (box, source frame). With
    /// `loose` > 0, that share of prompts is padded by `temporalLooseMargin` instead; the extra
    /// draw happens only then, so `loose` 0 keeps the random stream (and the plugin bytes).
    public static func temporal(boxes: [Int: Box], frame t: Int, rng: inout TrainingRandom,
                                width: Int, height: Int, loose: Double = 0) -> (box: Box, source: Int) {
        let visible = temporalOffsets.filter { boxes[t + $0] != nil }
        let src = t + (visible.isEmpty ? 0 : visible[rng.below(visible.count)])
        guard var b = boxes[src] else { preconditionFailure("object not visible at frame \(src)") }
        if rng.unit() < temporalCutProb {
            let side = rng.below(4), c = rng.uniform(0, temporalCutMax)
            switch side {
            case 0: b.x0 += c * (b.x1 - b.x0)
            case 1: b.y0 += c * (b.y1 - b.y0)
            case 2: b.x1 -= c * (b.x1 - b.x0)
            default: b.y1 -= c * (b.y1 - b.y0)
            }
        }
        let w = b.x1 - b.x0, h = b.y1 - b.y0
        let margin = loose > 0 && rng.unit() < loose ? temporalLooseMargin : temporalMargin
        let m = rng.uniform(margin.0, margin.1)
        let sigma = rng.uniform(temporalShift.0, temporalShift.1)
        let dx = min(max(rng.normal(), -3), 3) * sigma * w, dy = min(max(rng.normal(), -3), 3) * sigma * h
        let box = Box(x0: b.x0 - m * w + dx, y0: b.y0 - m * h + dy, x1: b.x1 + m * w + dx, y1: b.y1 + m * h + dy)
        return (clamp(box, width: width, height: height), src)
    }

    /// train.py `clamp_box`: inside the image, at least one pixel wide and high.
    static func clamp(_ box: Box, width: Int, height: Int) -> Box {
        let W = Double(width), H = Double(height)
        var b = Box(x0: min(max(box.x0, 0), W), y0: min(max(box.y0, 0), H), x1: min(max(box.x1, 0), W), y1: min(max(box.y1, 0), H))
        if b.x1 - b.x0 < 1 { b.x0 = min(b.x0, W - 1); b.x1 = b.x0 + 1 }
        if b.y1 - b.y0 < 1 { b.y0 = min(b.y0, H - 1); b.y1 = b.y0 + 1 }
        return roundedToFloat(b)
    }

    /// train.py returns float32 boxes.
    static func roundedToFloat(_ b: Box) -> Box {
        Box(x0: Double(Float(b.x0)), y0: Double(Float(b.y0)), x1: Double(Float(b.x1)), y1: Double(Float(b.y1)))
    }

    /// One entry of an epoch's sample stream.
    public enum StreamEntry: Sendable, Equatable {
        case still(Int)
        case clip(Int)
    }

    /// train.py `epoch_stream`: the still samples once in a random order and, with clip samples,
    /// round(N·share / (1 − share)) of them (a permutation, cycled if more are needed) at random
    /// positions of the N + n stream.
    public static func epochStream(stills: Int, clipSamples: Int?, share: Double, rng: inout TrainingRandom) -> [StreamEntry] {
        let order = rng.permutation(stills)
        guard let clipCount = clipSamples, clipCount > 0 else { return order.map { .still($0) } }
        precondition(share >= 0 && share < 1, "temporal share \(share) outside [0, 1)")
        let n = Int((Double(stills) * share / (1 - share)).rounded(.toNearestOrEven))
        var picks: [Int] = []
        while picks.count < n { picks += rng.permutation(clipCount) }
        let positions = rng.permutation(stills + n)   // is_clip = permutation < n
        var s = 0, c = 0
        return positions.map { p in
            if p < n { defer { c += 1 }; return .clip(picks[c]) }
            defer { s += 1 }
            return .still(order[s])
        }
    }
}
