import Foundation
import Tracking

// What identifies a keyframe, and how the two propagated answers that reach a frame are merged.

/// A keyframe's content as a stable string: box, points and the mask file's bytes (FNV-1a),
/// so an edited mask with the same name is a new keyframe.
enum KeyframeFingerprint {
    static func of(_ k: KeyframePlan.Keyframe) throws -> String {
        var text = "f\(k.frame)"
        if k.absent { text += "absent" }
        if let b = k.box { text += "b\(b.x0),\(b.y0),\(b.x1),\(b.y1)" }
        for p in k.points { text += "p\(p.x),\(p.y),\(p.positive ? 1 : 0)" }
        if let path = k.maskPath { text += "m" + hex(fnv1a(try Data(contentsOf: URL(fileURLWithPath: path)))) }
        return hex(fnv1a(Data(text.utf8)))
    }

    static func fnv1a(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }
}

/// Between two keyframes each frame has two answers, one propagated from either side: which one
/// the frame keeps.
public enum KeyframeMerge: String, Sendable, Codable, CaseIterable {
    /// The answer propagated from the nearer keyframe (forward on a tie): errors grow with the
    /// distance propagated.
    case nearer
    /// The answer the tracker accepted, and of two accepted ones the one the model scored higher
    /// (its predicted IoU); the nearer one when neither was accepted or on a tie. On the
    /// validation clips with two box corrections: J&F 0.708 against `nearer`'s 0.731 (comparing
    /// the tracker's combined candidate score instead: 0.706).
    case surer
    /// One hand-over frame per gap between two keyframes: forward answers before it, backward
    /// ones from it on, at the frame where the two propagations agree best (mask IoU; both absent
    /// agree), nearest the middle among near-equal agreements; the middle (as `nearer`) when they
    /// agree nowhere. Where both sweeps are right they agree, so the hand-over lands inside the
    /// span both got right, and a correction does not replace frames the first pass had right
    /// with a backward sweep that went wrong on its way there (`nearer` does).
    case agreement

    public enum Side: Sendable { case forward, backward }

    /// `forward`/`backward`: the answers and the distance each was propagated; nil where no
    /// propagation reaches. `handover`: `agreement`'s hand-over frame of this gap, as a distance
    /// from the gap's first keyframe (frames at or past it keep the backward answer). Which one the
    /// frame keeps; nil when neither reaches.
    public func choose(forward: (ObjectFrame, distance: Int)?, backward: (ObjectFrame, distance: Int)?,
                       handover: Int? = nil) -> Side? {
        guard let f = forward else { return backward == nil ? nil : .backward }
        guard let b = backward else { return .forward }
        let nearer: Side = f.distance <= b.distance ? .forward : .backward
        switch self {
        case .nearer:
            return nearer
        case .agreement:
            guard let handover else { return nearer }
            return f.distance < handover ? .forward : .backward
        case .surer:
            let (ft, bt) = (f.0.state == .tracked, b.0.state == .tracked)
            if ft != bt { return ft ? .forward : .backward }
            let (fc, bc) = (f.0.score, b.0.score)
            guard ft, fc != bc else { return nearer }
            return fc > bc ? .forward : .backward
        }
    }
}

/// `agreement`'s hand-over frames: fed both sweeps' answers frame by frame, one gap's agreement
/// curve at a time per object, then asked per gap.
struct KeyframeHandover {
    /// Agreements within this much of a gap's best count as equal (IoU noise should not pull the
    /// hand-over away from the middle).
    static let tolerance = 0.05
    /// Below this best agreement the two propagations share no frame both got right.
    static let minimum = 0.5

    private var curves: [GapKey: [(distance: Int, agreement: Double)]] = [:]
    /// Each gap's hand-over, settled on its first request: the merge asks once per frame of the
    /// gap, and filtering the gap's curve every time made a gap cost its length squared.
    private let settled = Settled()

    struct GapKey: Hashable { let object: Int, start: Int }
    private final class Settled { var values: [GapKey: Int] = [:] }

    /// How much two answers agree: IoU of the masks; 1 when neither is tracked, 0 when one is.
    static func agreement(_ a: ObjectFrame, _ b: ObjectFrame) -> Double {
        let (at, bt) = (a.state == .tracked, b.state == .tracked)
        if at != bt { return 0 }
        if !at { return 1 }
        var inter = 0, union = 0
        for (x, y) in zip(a.mask, b.mask) where x || y {
            union += 1
            if x && y { inter += 1 }
        }
        return union == 0 ? 1 : Double(inter) / Double(union)
    }

    mutating func add(object: Int, gapStart: Int, frame: Int, forward: ObjectFrame, backward: ObjectFrame) {
        let key = GapKey(object: object, start: gapStart)
        curves[key, default: []].append((frame - gapStart, Self.agreement(forward, backward)))
        settled.values[key] = nil
    }

    /// The hand-over of the gap from keyframe `start` to keyframe `end`, as a distance from `start`.
    func handover(object: Int, start: Int, end: Int) -> Int {
        let key = GapKey(object: object, start: start)
        if let known = settled.values[key] { return known }
        let middle = (end - start) / 2 + 1   // where `nearer` hands over
        var answer = middle
        if let curve = curves[key], let best = curve.map(\.agreement).max(), best >= Self.minimum {
            let near = curve.filter { $0.agreement >= best - Self.tolerance }
            answer = near.min { abs($0.distance - middle) < abs($1.distance - middle) }!.distance
        }
        settled.values[key] = answer
        return answer
    }
}
