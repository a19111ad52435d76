// A binary mask with its size: the unit every video and robustness measure works on.

import Imaging

/// A row-major binary mask (`bits[y * width + x]`).
public struct BinaryMask: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public var bits: [Bool]

    public init(width: Int, height: Int, bits: [Bool]) {
        precondition(width >= 0 && height >= 0, "negative mask size \(width)x\(height)")
        precondition(bits.count == width * height, "mask \(width)x\(height) needs \(width * height) values, got \(bits.count)")
        self.width = width
        self.height = height
        self.bits = bits
    }

    /// From 0/nonzero bytes (mattes are 0/255, predictions 0/1).
    public init(width: Int, height: Int, bytes: [UInt8]) {
        self.init(width: width, height: height, bits: bytes.map { $0 != 0 })
    }

    /// An all-background mask: what an object that is absent from a frame gets.
    public static func empty(width: Int, height: Int) -> BinaryMask {
        BinaryMask(width: width, height: height, bits: [Bool](repeating: false, count: width * height))
    }

    public subscript(x: Int, y: Int) -> Bool {
        get { bits[y * width + x] }
        set { bits[y * width + x] = newValue }
    }

    public var area: Int { MaskMetrics.area(bits) }
    public var isEmpty: Bool { !bits.contains(true) }
    /// `Box.empty` when the mask is empty (pycocotools' convention); `Box(mask)` gives nil instead.
    public var boundingBox: Box { MaskMetrics.boundingBox(bits, height: height, width: width) }

    /// Length of the image diagonal in pixels: the scale DAVIS's and Boundary IoU's tolerances are fractions of.
    public var diagonal: Double { Double(width * width + height * height).squareRoot() }

    public var rle: RLE { RLE.encode(mask: bits, height: height, width: width) }

    public init(_ rle: RLE) {
        self.init(width: rle.width, height: rle.height, bits: rle.decode())
    }

    /// Pixel-wise union (the reference mask of the stability measure ST).
    public func union(_ other: BinaryMask) -> BinaryMask {
        precondition(width == other.width && height == other.height,
                     "masks differ in size: \(width)x\(height) vs \(other.width)x\(other.height)")
        var out = bits
        for i in out.indices where other.bits[i] { out[i] = true }
        return BinaryMask(width: width, height: height, bits: out)
    }
}

extension MaskMetrics {
    /// Region similarity J with optional void pixels (DAVIS `db_eval_iou`): void pixels count in
    /// neither intersection nor union; an empty union scores 1 (see `iou(_:_:)` for why).
    public static func iou(_ a: BinaryMask, _ b: BinaryMask, void: [Bool]? = nil) -> Double {
        precondition(a.width == b.width && a.height == b.height,
                     "masks differ in size: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
        guard let void else { return iou(a.bits, b.bits) }
        precondition(void.count == a.bits.count, "void mask has \(void.count) values, expected \(a.bits.count)")
        var intersection = 0, union = 0
        for i in a.bits.indices where !void[i] {
            let p = a.bits[i], q = b.bits[i]
            if p && q { intersection += 1 }
            if p || q { union += 1 }
        }
        return union == 0 ? 1.0 : Double(intersection) / Double(union)
    }
}

extension Box {
    /// The tight box of a non-empty mask; nil when it is empty.
    public init?(_ mask: BinaryMask) {
        guard let box = Box.bounding(mask.bits, width: mask.width, height: mask.height) else { return nil }
        self = box
    }
}
