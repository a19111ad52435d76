import Imaging
import Tracking

/// One object per pixel on a keyframe run's output. Each sweep's tracker keeps its objects apart,
/// but a frame's answers come from two sweeps (and keyframes), and one that lost its object and
/// searched may settle on a neighbour; where answers overlap, the pixel goes to the surer claim,
/// and an answer left with under half its pixels is dropped as taken by another object (the
/// tracker's shared-pixel rule, applied per frame to the merged answers).
enum ExclusivePixels {
    /// How much a claim is trusted, highest first: a keyframe (the person's own prompt), an answer
    /// propagated without losing the object since its keyframe, one found again after losing it.
    enum Rank: Int, Comparable {
        case recovered = 0, held = 1, keyframe = 2
        static func < (a: Rank, b: Rank) -> Bool { a.rawValue < b.rawValue }
    }

    struct Claim {
        var answer: ObjectFrame
        var rank: Rank
        init(_ answer: ObjectFrame, rank: Rank) {
            self.answer = answer
            self.rank = rank
        }
    }

    /// The answers with contested pixels given to one claim each: higher rank, then the object that
    /// had the pixel on the previous frame (`previousOwner`, object ids, 0 for none: so an object
    /// sliding onto a neighbour does not take it over once their scores tie), then higher model
    /// score, then the earlier object. `owner` is what the next frame's `previousOwner` should be:
    /// who got each pixel, except where a keyframe's answer swallowed most of a smaller object.
    static func resolve(_ claims: [Claim], previousOwner: [UInt8]?, width: Int, height: Int)
        -> (answers: [ObjectFrame], owner: [UInt8]) {
        let answers = assign(claims, previousOwner: previousOwner, width: width, height: height)
        var owner = [UInt8](repeating: 0, count: width * height)
        for a in answers where a.state == .tracked {
            for i in a.mask.indices where a.mask[i] { owner[i] = UInt8(a.id) }
        }
        // A box around a partly hidden object often gets the model's answer for it and the object
        // in front together. The keyframe wins its own frame, but the object it swallowed keeps
        // its pixels for the frames after: otherwise it would count as having slid onto the
        // keyframe's object, and be dropped from then on.
        for k in claims where k.rank == .keyframe && k.answer.state == .tracked {
            for c in claims where c.rank != .keyframe && c.answer.state == .tracked && c.answer.area > 0 {
                let inside = zip(k.answer.mask, c.answer.mask).reduce(0) { $0 + ($1.0 && $1.1 ? 1 : 0) }
                // Swallowed: the keyframe takes most of it (it is dropped on this frame) and is
                // clearly bigger (the same object, corrected, is about as big).
                guard 2 * inside > c.answer.area, 10 * k.answer.area >= 13 * c.answer.area else { continue }
                for i in c.answer.mask.indices where c.answer.mask[i] && k.answer.mask[i] { owner[i] = UInt8(c.answer.id) }
            }
        }
        return (answers, owner)
    }

    private static func assign(_ claims: [Claim], previousOwner: [UInt8]?, width: Int, height: Int) -> [ObjectFrame] {
        var answers = claims.map(\.answer)
        var tracked = claims.indices.filter { claims[$0].answer.state == .tracked && claims[$0].answer.area > 0 }
        guard tracked.count > 1 else { return answers }
        // An answer lying mostly where another object, tracked on this frame too, was on the
        // previous one has slid onto it (or found it as a look-alike): it is not this object.
        if let previousOwner {
            let ids = Set(tracked.map { claims[$0].answer.id })
            var dropped: Set<Int> = []
            for i in tracked where claims[i].rank != .keyframe {
                let a = claims[i].answer
                var onOther = 0
                for p in a.mask.indices where a.mask[p] {
                    let o = Int(previousOwner[p])
                    if o != 0 && o != a.id && ids.contains(o) { onOther += 1 }
                }
                if 2 * onOther > a.area { dropped.insert(i) }
            }
            for i in dropped { taken(&answers[i], width: width, height: height) }
            tracked.removeAll { dropped.contains($0) }
        }
        func beats(_ i: Int, _ j: Int, at p: Int) -> Bool {
            let (a, b) = (claims[i], claims[j])
            if a.rank != b.rank { return a.rank > b.rank }
            if let owner = previousOwner?[p], owner != 0 {
                let (ai, bi) = (Int(owner) == a.answer.id, Int(owner) == b.answer.id)
                if ai != bi { return ai }
            }
            if a.answer.score != b.answer.score { return a.answer.score > b.answer.score }
            return i < j
        }
        var lost = [Int](repeating: 0, count: claims.count)
        for p in 0..<(width * height) {
            var owner: Int?
            for i in tracked where claims[i].answer.mask[p] {
                if let o = owner {
                    let loser = beats(i, o, at: p) ? o : i
                    answers[loser].mask[p] = false
                    answers[loser].logits?[p] = -20  // alpha follows the mask: ~0 where the pixel went to another object
                    lost[loser] += 1
                    if loser == o { owner = i }
                } else {
                    owner = i
                }
            }
        }
        for i in tracked where lost[i] > 0 {
            let area = claims[i].answer.area - lost[i]
            if 2 * area < claims[i].answer.area {
                taken(&answers[i], width: width, height: height)
            } else {
                answers[i].area = area
                answers[i].box = Box.bounding(answers[i].mask, width: width, height: height)
            }
        }
        return answers
    }

    /// The record keeps what the model said; the frame emits nothing of it.
    private static func taken(_ a: inout ObjectFrame, width: Int, height: Int) {
        a.state = .occluded
        a.rejection = "taken by another object"
        a.mask = [Bool](repeating: false, count: width * height)
        a.area = 0
        a.box = nil
        a.logits = nil
    }
}
