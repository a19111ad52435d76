import Tracking

/// One object per pixel on a keyframe run's output. Objects propagate independently there (so a
/// correction changes nothing of the others), and one that lost its object and searched may
/// settle on a neighbour; where answers overlap, the pixel goes to the surer claim, and an
/// answer left with under half its pixels is dropped as taken by another object (the tracker's
/// shared-pixel rule, applied per frame to the merged answers).
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

    /// The answers with contested pixels given to one claim each: higher rank, then higher model
    /// score, then the earlier object.
    static func resolve(_ claims: [Claim], width: Int, height: Int) -> [ObjectFrame] {
        var answers = claims.map(\.answer)
        let tracked = claims.indices.filter { claims[$0].answer.state == .tracked && claims[$0].answer.area > 0 }
        guard tracked.count > 1 else { return answers }
        func beats(_ i: Int, _ j: Int) -> Bool {
            let (a, b) = (claims[i], claims[j])
            if a.rank != b.rank { return a.rank > b.rank }
            if a.answer.score != b.answer.score { return a.answer.score > b.answer.score }
            return i < j
        }
        var lost = [Int](repeating: 0, count: claims.count)
        for p in 0..<(width * height) {
            var owner: Int?
            for i in tracked where claims[i].answer.mask[p] {
                if let o = owner {
                    if beats(i, o) { answers[o].mask[p] = false; lost[o] += 1; owner = i } else { answers[i].mask[p] = false; lost[i] += 1 }
                } else {
                    owner = i
                }
            }
        }
        for i in tracked where lost[i] > 0 {
            let area = claims[i].answer.area - lost[i]
            if 2 * area < claims[i].answer.area {
                // The record keeps what the model said; the frame emits nothing of it.
                answers[i].state = .occluded
                answers[i].rejection = "taken by another object"
                answers[i].mask = [Bool](repeating: false, count: width * height)
                answers[i].area = 0
                answers[i].box = nil
            } else {
                answers[i].area = area
                answers[i].box = Box.bounding(answers[i].mask, width: width, height: height)
            }
        }
        return answers
    }
}
