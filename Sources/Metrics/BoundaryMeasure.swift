// DAVIS boundary F-measure (davis2017-evaluation davis2017/metrics.py: f_measure, _seg2bmap)
// and Boundary IoU (Cheng et al. 2021, boundary_iou/utils/boundary_utils.py: mask_to_boundary).

/// Boundary precision, recall and F of one frame.
public struct BoundaryScore: Hashable, Sendable, Codable {
    public var precision: Double
    public var recall: Double
    public var f: Double

    public init(precision: Double, recall: Double, f: Double) {
        self.precision = precision
        self.recall = recall
        self.f = f
    }
}

public enum BoundaryMeasure {
    /// DAVIS's default tolerance: 0.008 of the image diagonal.
    public static let davisThreshold = 0.008

    /// Tolerance radius in pixels, as DAVIS: `ceil(threshold * hypot(h, w))` for a fraction
    /// (`threshold < 1`), the value itself for a pixel count (`threshold >= 1`, which must then be whole:
    /// skimage's `disk` of a fractional radius is an even-sized kernel no one means).
    public static func radius(threshold: Double, width: Int, height: Int) -> Int {
        if threshold >= 1 {
            precondition(threshold == threshold.rounded(), "a pixel tolerance must be whole, got \(threshold)")
            return Int(threshold)
        }
        return Int((threshold * Double(width * width + height * height).squareRoot()).rounded(.up))
    }

    /// Offsets of `skimage.morphology.disk(radius)` (strict radius: `dx² + dy² <= r²`), nearest first
    /// so that a match search usually stops early.
    public static func diskOffsets(radius: Int) -> [(dx: Int, dy: Int)] {
        var offsets: [(dx: Int, dy: Int)] = []
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= radius * radius {
                offsets.append((dx, dy))
            }
        }
        return offsets.sorted { $0.dx * $0.dx + $0.dy * $0.dy < $1.dx * $1.dx + $1.dy * $1.dy }
    }

    /// DAVIS's one-pixel boundary map (`_seg2bmap` at the mask's own size). A pixel is boundary
    /// when it differs from its east, south or south-east neighbour, where a neighbour past the
    /// right or bottom edge counts as background. Two reference quirks are kept: in the last row
    /// only the east neighbour is compared and in the last column only the south one (so a mask
    /// that runs off the bottom or right edge has no boundary along that edge), and the
    /// bottom-right pixel is never boundary. The map sits half a pixel towards the origin from
    /// the true contour, hence "south-east" rather than a symmetric neighbourhood.
    public static func boundaryMap(_ mask: BinaryMask) -> [Bool] {
        let (w, h) = (mask.width, mask.height)
        var b = [Bool](repeating: false, count: w * h)
        guard w > 0, h > 0 else { return b }
        let m = mask.bits
        for y in 0..<h {
            for x in 0..<w {
                let v = m[y * w + x]
                let east = x + 1 < w ? m[y * w + x + 1] : false
                let south = y + 1 < h ? m[(y + 1) * w + x] : false
                let southEast = x + 1 < w && y + 1 < h ? m[(y + 1) * w + x + 1] : false
                if y == h - 1 && x == w - 1 {
                    b[y * w + x] = false
                } else if y == h - 1 {
                    b[y * w + x] = v != east
                } else if x == w - 1 {
                    b[y * w + x] = v != south
                } else {
                    b[y * w + x] = v != east || v != south || v != southEast
                }
            }
        }
        return b
    }

    /// DAVIS boundary F-measure of `prediction` against `groundTruth` (`f_measure`).
    ///
    /// Void pixels are cleared from both masks before boundaries are taken, as DAVIS does.
    /// A boundary pixel is matched when a boundary pixel of the other mask lies within the disk
    /// of `radius(threshold:)`; this equals DAVIS's `cv2.dilate` of the other boundary map with
    /// `disk(r)` (a symmetric kernel, border pixels not extended), computed only at boundary pixels.
    /// Empty boundaries follow DAVIS: none in either mask gives P = R = F = 1; none in the
    /// prediction only gives P = 1, R = 0; none in the ground truth only gives P = 0, R = 1; so
    /// F = 0 whenever exactly one side is empty.
    public static func fMeasure(
        prediction: BinaryMask, groundTruth: BinaryMask, void: [Bool]? = nil, threshold: Double = davisThreshold
    ) -> BoundaryScore {
        precondition(prediction.width == groundTruth.width && prediction.height == groundTruth.height,
                     "masks differ in size: \(prediction.width)x\(prediction.height) vs \(groundTruth.width)x\(groundTruth.height)")
        var pred = prediction, gt = groundTruth
        if let void {
            precondition(void.count == pred.bits.count, "void mask has \(void.count) values, expected \(pred.bits.count)")
            for i in void.indices where void[i] { pred.bits[i] = false; gt.bits[i] = false }
        }
        let r = radius(threshold: threshold, width: pred.width, height: pred.height)
        let offsets = diskOffsets(radius: r)
        let predBoundary = boundaryMap(pred), gtBoundary = boundaryMap(gt)
        let (nPred, predMatched) = matches(predBoundary, against: gtBoundary, width: pred.width, height: pred.height, offsets: offsets)
        let (nGT, gtMatched) = matches(gtBoundary, against: predBoundary, width: pred.width, height: pred.height, offsets: offsets)

        let precision: Double, recall: Double
        switch (nPred, nGT) {
        case (0, 0): (precision, recall) = (1, 1)
        case (0, _): (precision, recall) = (1, 0)
        case (_, 0): (precision, recall) = (0, 1)
        default: (precision, recall) = (Double(predMatched) / Double(nPred), Double(gtMatched) / Double(nGT))
        }
        let f = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return BoundaryScore(precision: precision, recall: recall, f: f)
    }

    /// Counts the set pixels of `boundary` and how many of them have a set pixel of `other` within `offsets`.
    private static func matches(
        _ boundary: [Bool], against other: [Bool], width: Int, height: Int, offsets: [(dx: Int, dy: Int)]
    ) -> (count: Int, matched: Int) {
        var count = 0, matched = 0
        for y in 0..<height {
            for x in 0..<width where boundary[y * width + x] {
                count += 1
                for (dx, dy) in offsets {
                    let (u, v) = (x + dx, y + dy)
                    if u >= 0, u < width, v >= 0, v < height, other[v * width + u] { matched += 1; break }
                }
            }
        }
        return (count, matched)
    }

    // MARK: Boundary IoU

    /// Band width of Boundary IoU in pixels: `round(ratio * diagonal)`, at least 1 (`mask_to_boundary`;
    /// Python's `round`, ties to even).
    public static func bandWidth(ratio: Double, width: Int, height: Int) -> Int {
        let d = Int((ratio * Double(width * width + height * height).squareRoot()).rounded(.toNearestOrEven))
        return max(d, 1)
    }

    /// The inner boundary band of `mask`: foreground pixels within Chebyshev distance `band` of the
    /// background, the image border counting as background. Equals `mask_to_boundary`'s mask minus
    /// its erosion by a 3x3 square applied `band` times on a zero-padded copy (erosion by a square of
    /// side `2 * band + 1`, done here as a row pass then a column pass of windowed counts).
    public static func innerBand(_ mask: BinaryMask, band: Int) -> [Bool] {
        let (w, h) = (mask.width, mask.height)
        // Row pass: survives if the whole window [x - band, x + band] is inside the image and set.
        var rows = [Bool](repeating: false, count: w * h)
        var prefix = [Int](repeating: 0, count: max(w, h) + 1)
        for y in 0..<h {
            for x in 0..<w { prefix[x + 1] = prefix[x] + (mask.bits[y * w + x] ? 1 : 0) }
            for x in 0..<w where x - band >= 0 && x + band < w {
                rows[y * w + x] = prefix[x + band + 1] - prefix[x - band] == 2 * band + 1
            }
        }
        var band2 = [Bool](repeating: false, count: w * h)
        for x in 0..<w {
            for y in 0..<h { prefix[y + 1] = prefix[y] + (rows[y * w + x] ? 1 : 0) }
            for y in 0..<h {
                let eroded = y - band >= 0 && y + band < h && prefix[y + band + 1] - prefix[y - band] == 2 * band + 1
                band2[y * w + x] = mask.bits[y * w + x] && !eroded
            }
        }
        return band2
    }

    /// Boundary IoU (Cheng et al. 2021): IoU of the two masks' inner bands of width
    /// `bandWidth(ratio:)` (the Stable-SAM protocol uses 2% of the diagonal). Both bands empty
    /// (both masks empty) scores 1, the same rule as J.
    public static func boundaryIoU(_ a: BinaryMask, _ b: BinaryMask, ratio: Double = 0.02) -> Double {
        precondition(a.width == b.width && a.height == b.height,
                     "masks differ in size: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
        let d = bandWidth(ratio: ratio, width: a.width, height: a.height)
        return MaskMetrics.iou(innerBand(a, band: d), innerBand(b, band: d))
    }
}
