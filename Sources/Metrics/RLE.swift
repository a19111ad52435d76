// COCO run-length encoding, bit-compatible with pycocotools (common/maskApi.c:
// rleEncode, rleDecode, rleArea, rleToBbox, rleToString, rleFrString).

import Imaging

/// A binary mask as COCO run lengths.
///
/// Masks in this project are row-major (`mask[y * width + x]`), as images are. COCO scans
/// them column-major (Fortran order: down the first column, then the next), and the first
/// count is always a run of zeros (possibly 0), then ones, then zeros, alternating.
/// `counts` sums to `height * width`.
public struct RLE: Hashable, Sendable {
    public let height: Int
    public let width: Int
    public let counts: [UInt32]

    /// Checks that the runs cover exactly `height * width` pixels, so that every RLE value
    /// decodes to a mask of its declared size.
    public init(height: Int, width: Int, counts: [UInt32]) throws(MetricsError) {
        guard height >= 0, width >= 0 else {
            throw .invalidRLE("negative size \(height)x\(width)")
        }
        // The size comes from a file and sizes the decoded mask: no overflow, no 10^18-pixel mask.
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard !overflow, pixels <= Self.maxPixels else {
            throw .invalidRLE("size \(height)x\(width) is larger than any frame (at most \(Self.maxPixels) pixels)")
        }
        let total = counts.reduce(0) { $0 + Int($1) }
        guard total == pixels else {
            throw .invalidRLE("counts sum to \(total) but size \(height)x\(width) needs \(pixels) pixels")
        }
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// 16384 x 16384: a 16K frame.
    public static let maxPixels = 1 << 28

    private init(unchecked height: Int, _ width: Int, _ counts: [UInt32]) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Encodes a row-major mask; any nonzero value is foreground. (pycocotools itself starts a
    /// new run on every change of value, so it expects 0/1; for 0/1 and 0/255 masks the two agree.)
    public static func encode(mask: [UInt8], height: Int, width: Int) -> RLE {
        precondition(mask.count == height * width, "mask has \(mask.count) values, expected \(height)x\(width)")
        return encode(height: height, width: width) { mask[$0] != 0 }
    }

    /// Encodes a row-major mask.
    public static func encode(mask: [Bool], height: Int, width: Int) -> RLE {
        precondition(mask.count == height * width, "mask has \(mask.count) values, expected \(height)x\(width)")
        return encode(height: height, width: width) { mask[$0] }
    }

    private static func encode(height: Int, width: Int, isSet: (Int) -> Bool) -> RLE {
        var counts: [UInt32] = []
        var current = false  // runs start with zeros
        var run: UInt32 = 0
        for x in 0..<width {
            for y in 0..<height {
                if isSet(y * width + x) != current {
                    counts.append(run)
                    run = 0
                    current.toggle()
                }
                run += 1
            }
        }
        counts.append(run)
        return RLE(unchecked: height, width, counts)
    }

    /// The mask, row-major, `height * width` values.
    public func decode() -> [Bool] {
        var mask = [Bool](repeating: false, count: height * width)
        var index = 0  // column-major position
        var value = false
        for count in counts {
            if value {
                for i in index..<(index + Int(count)) {
                    let x = i / height, y = i % height
                    mask[y * width + x] = true
                }
            }
            index += Int(count)
            value.toggle()
        }
        return mask
    }

    /// The mask, row-major, 0 or 1 per pixel (the form pycocotools' `decode` returns).
    public func decodeUInt8() -> [UInt8] {
        decode().map { $0 ? 1 : 0 }
    }

    /// Number of foreground pixels (pycocotools `area`): the sum of the odd-indexed counts.
    public var area: Int {
        stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + Int(counts[$1]) }
    }

    /// Tight box around the foreground, as pycocotools `toBbox`; all zeros for an empty mask.
    public var boundingBox: Box {
        // Same walk as rleToBbox: a ones-run from column-major position `start` to `end`
        // touches both end points' rows and columns, and when it wraps into a later column it
        // covers every row. Zero-length ones-runs (never produced by encode) are skipped, where
        // rleToBbox would underflow.
        var xs = width, ys = height, xe = 0, ye = 0
        var any = false
        var position = 0
        for (j, count) in counts.enumerated() {
            let start = position
            position += Int(count)
            guard j % 2 == 1, count > 0 else { continue }
            any = true
            let end = position - 1
            let (x0, y0) = (start / height, start % height)
            let (x1, y1) = (end / height, end % height)
            if x0 < x1 { ys = 0; ye = height - 1 }
            xs = min(xs, x0); xe = max(xe, x1)
            ys = min(ys, y0, y1); ye = max(ye, y0, y1)
        }
        guard any else { return .empty }
        return Box(x: xs, y: ys, width: xe - xs + 1, height: ye - ys + 1)
    }
}

/// Errors from parsing masks and run lengths that came from outside (files, JSON).
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    case invalidRLE(String)
    case invalidCompressedCounts(String)

    public var description: String {
        switch self {
        case .invalidRLE(let reason): "invalid COCO RLE: \(reason)"
        case .invalidCompressedCounts(let reason):
            "invalid compressed COCO counts string: \(reason) (expected pycocotools' rleToString form)"
        }
    }
}
