import Imaging
import Tracking

/// A keyframe's box that also holds part of another object the sweep follows often gets both
/// objects as its answer, and the union then propagates while the other object starves (it stays
/// "taken by another object" to the gap's end). The objects are distinct by the person's own
/// definition, so such an answer is asked again with a negative point on each swallowed object
/// where it lies outside the box: there it is surely not the keyed object, while inside the box
/// the other object's propagated mask may itself be what went wrong (a point there can land on
/// the keyed object). The new answer is kept when it takes less of them.
enum SwallowGuard {
    /// An object counts as swallowed when the answer covers more than this share of its mask.
    static let share = 0.5

    /// The tracked answers among `others` whose masks `mask` covers more than `share` of.
    static func swallowed(by mask: [Bool], others: [ObjectFrame]) -> [ObjectFrame] {
        others.filter { o in
            guard o.state == .tracked, o.area > 0 else { return false }
            return Double(overlap(mask, o.mask)) > share * Double(o.area)
        }
    }

    /// Pixels `mask` shares with the masks of `objects`.
    static func taken(_ mask: [Bool], of objects: [ObjectFrame]) -> Int {
        objects.reduce(0) { $0 + overlap(mask, $1.mask) }
    }

    /// A negative point on the object outside `box` (by two pixels): its outside pixel nearest
    /// the centroid of its outside part; nil when nothing of it lies outside.
    static func negativePoint(on o: ObjectFrame, outside box: Box, width: Int) -> PromptPoint? {
        let margin = 2.0
        let isOutside = { (x: Int, y: Int) in
            let (px, py) = (Double(x) + 0.5, Double(y) + 0.5)
            return px < box.x0 - margin || px > box.x1 + margin || py < box.y0 - margin || py > box.y1 + margin
        }
        var (sx, sy, n) = (0.0, 0.0, 0)
        for (i, on) in o.mask.enumerated() where on && isOutside(i % width, i / width) {
            sx += Double(i % width)
            sy += Double(i / width)
            n += 1
        }
        guard n > 0 else { return nil }
        let (cx, cy) = (sx / Double(n), sy / Double(n))
        var best = (distance: Double.infinity, x: 0, y: 0)
        for (i, on) in o.mask.enumerated() where on {
            let (x, y) = (i % width, i / width)
            guard isOutside(x, y) else { continue }
            let d = (Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)
            if d < best.distance { best = (d, x, y) }
        }
        return PromptPoint(x: Double(best.x) + 0.5, y: Double(best.y) + 0.5, positive: false)
    }

    private static func overlap(_ a: [Bool], _ b: [Bool]) -> Int {
        var n = 0
        for (x, y) in zip(a, b) where x && y { n += 1 }
        return n
    }
}
