// The prompt-robustness protocol of ../shared/STABLE_SAM.md ("Evaluation protocol"): prompts of
// decreasing quality per object, seeded draws, and mIoU / mBIoU / ST / pairwise IoU per prompt type.
// The segmenter is the caller's: this file only makes prompts and scores masks, so plain SAM and
// SAM + plugin are fed exactly the same prompts.

import Imaging

/// A prompt in image pixel coordinates (origin top-left), independent of any model type.
public struct SweepPrompt: Hashable, Sendable {
    public struct Point: Hashable, Sendable {
        public var x, y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }
    /// Corners in pixel-edge coordinates: a mask's tight box covers `x0..<x1`, `y0..<y1`.
    public var box: Box?
    /// Positive points only (the protocol never uses negative clicks).
    public var points: [Point]

    public init(box: Box?, points: [Point]) { self.box = box; self.points = points }
}

/// A prompt type of the protocol.
public enum PromptKind: Hashable, Sendable, Codable, CustomStringConvertible {
    case groundTruthBox
    case noisyBox(scale: Double)
    case points(count: Int)

    public var description: String {
        switch self {
        case .groundTruthBox: "GT box"
        case .noisyBox(let s): "noisy box \(s)"
        case .points(let k): k == 1 ? "1 point" : "\(k) points"
        }
    }

    /// Ground-truth boxes carry no randomness: one draw says everything.
    public var isDeterministic: Bool { self == .groundTruthBox }
}

/// SplitMix64: a tiny, well-mixed generator whose sequence is fixed by its seed on every platform
/// (Swift's `SystemRandomNumberGenerator` cannot be seeded).
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's entire position (a resumable trainer stores it).
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

public struct RobustnessProtocol: Sendable {
    public var seed: UInt64
    public var draws: Int
    public var noiseScales: [Double]
    public var pointCounts: [Int]
    /// Boundary IoU band as a fraction of the image diagonal.
    public var boundaryRatio: Double

    /// The paper's protocol: GT box, noisy boxes at s = 0.1...0.5, 1/3/10 points, 20 draws, 2% band.
    public init(seed: UInt64 = 0, draws: Int = 20, noiseScales: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5],
                pointCounts: [Int] = [1, 3, 10], boundaryRatio: Double = 0.02) {
        precondition(draws >= 1, "draws must be at least 1")
        self.seed = seed
        self.draws = draws
        self.noiseScales = noiseScales
        self.pointCounts = pointCounts
        self.boundaryRatio = boundaryRatio
    }

    public var kinds: [PromptKind] {
        [.groundTruthBox] + noiseScales.map { .noisyBox(scale: $0) } + pointCounts.map { .points(count: $0) }
    }

    /// The prompts for one object. Each (image, object, kind) has its own generator derived from
    /// the seed, so the draws do not depend on how many objects or kinds came before.
    /// The object must not be empty.
    public func prompts(_ kind: PromptKind, groundTruth: BinaryMask, image: Int, object: Int) -> [SweepPrompt] {
        guard let gt = Box(groundTruth) else { preconditionFailure("an empty object has no prompt") }
        let kindIndex = kinds.firstIndex(of: kind) ?? kinds.count
        var rng = SeededRandom(seed: Self.mix(seed, UInt64(image), UInt64(object), UInt64(kindIndex)))
        switch kind {
        case .groundTruthBox:
            return [SweepPrompt(box: gt, points: [])]
        case .noisyBox(let s):
            return (0..<draws).map { _ in
                SweepPrompt(box: Self.noisyBox(gt, scale: s, width: groundTruth.width, height: groundTruth.height, rng: &rng),
                            points: [])
            }
        case .points(let k):
            let pixels = groundTruth.bits.indices.filter { groundTruth.bits[$0] }
            return (0..<draws).map { _ in
                SweepPrompt(box: nil, points: Self.randomPoints(pixels, count: k, width: groundTruth.width, rng: &rng))
            }
        }
    }

    /// HQ-SAM's box noise (after DN-DETR): to centre and size, `cx += u0 * (w/2) * s`,
    /// `cy += u1 * (h/2) * s`, `w += u2 * w * s`, `h += u3 * h * s`, `u ~ U(-1, 1)`, back to corners,
    /// clamped to the image. With `s <= 0.5` the box keeps at least half its size and overlaps the
    /// original, so it never degenerates.
    public static func noisyBox(_ b: Box, scale s: Double, width: Int, height: Int,
                                rng: inout SeededRandom) -> Box {
        var cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2
        var w = b.x1 - b.x0, h = b.y1 - b.y0
        let u = (0..<4).map { _ in rng.unit() * 2 - 1 }
        cx += u[0] * (w / 2) * s
        cy += u[1] * (h / 2) * s
        w += u[2] * w * s
        h += u[3] * h * s
        func clampX(_ v: Double) -> Double { min(max(v, 0), Double(width)) }
        func clampY(_ v: Double) -> Double { min(max(v, 0), Double(height)) }
        return Box(x0: clampX(cx - w / 2), y0: clampY(cy - h / 2), x1: clampX(cx + w / 2), y1: clampY(cy + h / 2))
    }

    /// `count` distinct foreground pixels drawn uniformly (partial Fisher-Yates over the object's
    /// pixels); when the object is smaller than `count`, pixels repeat. Points are pixel indices
    /// (x, y), the convention of SAM's click prompts.
    public static func randomPoints(_ pixels: [Int], count: Int, width: Int, rng: inout SeededRandom) -> [SweepPrompt.Point] {
        precondition(!pixels.isEmpty, "an empty object has no points")
        var pool = pixels
        var chosen: [Int] = []
        for i in 0..<count {
            if pool.count >= count {
                let j = i + Int(rng.next() % UInt64(pool.count - i))
                pool.swapAt(i, j)
                chosen.append(pool[i])
            } else {
                chosen.append(pool[Int(rng.next() % UInt64(pool.count))])
            }
        }
        return chosen.map { SweepPrompt.Point(x: Double($0 % width), y: Double($0 / width)) }
    }

    /// A stable 64-bit mix of the seed and the indices (SplitMix64's finaliser between steps).
    static func mix(_ values: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in values {
            var g = SeededRandom(seed: h ^ v)
            h = g.next()
        }
        return h
    }
}

/// Scores of one prompt type, over all objects and draws.
public struct PromptTypeScores: Sendable, Codable {
    public var kind: String
    public var objects: Int
    public var drawsPerObject: Int
    /// Mean IoU with the ground truth over all objects and draws.
    public var mIoU: Double?
    /// Mean Boundary IoU with the ground truth.
    public var mBIoU: Double?
    /// Stability ST: per object, the mean over draws of IoU(mask_k, union of the object's masks);
    /// averaged over objects. nil for a deterministic prompt (one draw: trivially 1).
    public var stability: Double?
    /// Per object, the mean IoU over all pairs of draws; averaged over objects. nil as for ST.
    public var pairwiseIoU: Double?

    /// Stable JSON names (`miou`, not the `m_io_u` a snake-case encoder would make of `mIoU`).
    enum CodingKeys: String, CodingKey {
        case kind, objects, drawsPerObject = "draws_per_object", mIoU = "miou", mBIoU = "mbiou", stability
        case pairwiseIoU = "pairwise_iou"
    }
}

/// Collects masks per prompt type and turns them into `PromptTypeScores`.
public struct RobustnessAccumulator: Sendable {
    public let boundaryRatio: Double
    private var order: [PromptKind] = []
    private var iou: [PromptKind: [Double]] = [:]
    private var biou: [PromptKind: [Double]] = [:]
    private var st: [PromptKind: [Double]] = [:]
    private var pairwise: [PromptKind: [Double]] = [:]
    private var draws: [PromptKind: Int] = [:]

    public init(boundaryRatio: Double = 0.02) { self.boundaryRatio = boundaryRatio }

    /// Adds one object's masks, one per draw of `kind`.
    public mutating func add(_ kind: PromptKind, groundTruth: BinaryMask, masks: [BinaryMask]) {
        precondition(!masks.isEmpty, "no masks for \(kind)")
        if !order.contains(kind) { order.append(kind) }
        draws[kind] = masks.count
        for m in masks {
            iou[kind, default: []].append(MaskMetrics.iou(m, groundTruth))
            biou[kind, default: []].append(BoundaryMeasure.boundaryIoU(m, groundTruth, ratio: boundaryRatio))
        }
        guard masks.count >= 2 else { return }
        st[kind, default: []].append(Self.stability(masks))
        pairwise[kind, default: []].append(Self.pairwiseIoU(masks))
    }

    /// ST of one object's draws: mean IoU of each mask with the union of all of them.
    public static func stability(_ masks: [BinaryMask]) -> Double {
        let union = masks.dropFirst().reduce(masks[0]) { $0.union($1) }
        return masks.map { MaskMetrics.iou($0, union) }.reduce(0, +) / Double(masks.count)
    }

    /// Mean IoU over all unordered pairs of draws.
    public static func pairwiseIoU(_ masks: [BinaryMask]) -> Double {
        var sum = 0.0, count = 0
        for a in 0..<masks.count {
            for b in (a + 1)..<masks.count { sum += MaskMetrics.iou(masks[a], masks[b]); count += 1 }
        }
        return count == 0 ? 1 : sum / Double(count)
    }

    public var scores: [PromptTypeScores] {
        order.map { kind in
            let mean = { (v: [Double]?) in SequenceStatistics.nanMean((v ?? [])[...]) }
            let n = iou[kind]?.count ?? 0, d = draws[kind] ?? 0
            return PromptTypeScores(kind: kind.description, objects: d == 0 ? 0 : n / d, drawsPerObject: d,
                                    mIoU: mean(iou[kind]), mBIoU: mean(biou[kind]),
                                    stability: mean(st[kind]), pairwiseIoU: mean(pairwise[kind]))
        }
    }
}
