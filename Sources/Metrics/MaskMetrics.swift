// Region measures on row-major binary masks (`mask[y * width + x]`).

import Imaging

public enum MaskMetrics {
    /// Intersection over union (the DAVIS region measure J for one frame).
    ///
    /// When both masks are empty the union is empty and the ratio undefined. This returns 1.0,
    /// following DAVIS (davis2017 `db_eval_iou`: `j[isclose(union, 0)] = 1`): predicting
    /// "nothing" for an absent object is a correct answer, and a tracker that does so on
    /// occluded frames must not be penalised. pycocotools' `iou` returns 0 in that case; this
    /// project scores video, so it uses the DAVIS rule.
    public static func iou(_ a: [Bool], _ b: [Bool]) -> Double {
        precondition(a.count == b.count, "masks differ in size: \(a.count) vs \(b.count) pixels")
        var intersection = 0, union = 0
        for i in a.indices {
            let p = a[i], q = b[i]
            if p && q { intersection += 1 }
            if p || q { union += 1 }
        }
        return union == 0 ? 1.0 : Double(intersection) / Double(union)
    }

    /// IoU of two 0/nonzero masks; see `iou(_:_:)` for the empty case.
    public static func iou(_ a: [UInt8], _ b: [UInt8]) -> Double {
        iou(a.map { $0 != 0 }, b.map { $0 != 0 })
    }

    /// Number of foreground pixels.
    public static func area(_ mask: [Bool]) -> Int {
        mask.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// Number of nonzero pixels.
    public static func area(_ mask: [UInt8]) -> Int {
        mask.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }

    /// Tight box around the foreground; `Box.empty` for an empty mask (the same values
    /// pycocotools `toBbox` gives, as `.coco`).
    public static func boundingBox(_ mask: [Bool], height: Int, width: Int) -> Box {
        precondition(mask.count == height * width, "mask has \(mask.count) values, expected \(height)x\(width)")
        return Box.bounding(mask, width: width, height: height) ?? .empty
    }

    /// Tight box around the nonzero pixels; see `boundingBox(_:height:width:)`.
    public static func boundingBox(_ mask: [UInt8], height: Int, width: Int) -> Box {
        boundingBox(mask.map { $0 != 0 }, height: height, width: width)
    }
}
