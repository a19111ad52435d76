// The project's one box: prompts (SAM, tracker, robustness sweep, plugin training), mask
// bounds (COCO bbox), Kalman estimates, and the `[x0, y0, x1, y1]` of every JSON file.

/// An axis-aligned box in pixel coordinates, corners (x0, y0) and (x1, y1) as SAM box
/// prompts take them; a mask's box spans its pixels' edges (x1 = last column + 1), so it covers
/// columns `x0..<x1` and rows `y0..<y1`.
public struct Box: Hashable, Sendable, Codable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    /// A pixel box in COCO order: columns `x..<x + width`, rows `y..<y + height`.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.init(x0: Double(x), y0: Double(y), x1: Double(x + width), y1: Double(y + height))
    }

    public init(centerX: Double, centerY: Double, width: Double, height: Double) {
        self.init(x0: centerX - width / 2, y0: centerY - height / 2, x1: centerX + width / 2, y1: centerY + height / 2)
    }

    public var width: Double { x1 - x0 }
    public var height: Double { y1 - y0 }
    public var centerX: Double { (x0 + x1) / 2 }
    public var centerY: Double { (y0 + y1) / 2 }
    public var area: Double { max(0, width) * max(0, height) }
    public var isDegenerate: Bool { !(width > 0 && height > 0) || ![x0, y0, x1, y1].allSatisfy(\.isFinite) }

    /// All zeros: the box pycocotools' `toBbox` gives an empty mask.
    public static let empty = Box(x0: 0, y0: 0, x1: 0, y1: 0)

    /// `[x, y, w, h]` as COCO JSON stores it (`bbox`).
    public var coco: [Double] { [x0, y0, width, height] }

    /// Encoded as `[x0, y0, x1, y1]`, the form `--box` takes.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        self.init(x0: try c.decode(Double.self), y0: try c.decode(Double.self),
                  x1: try c.decode(Double.self), y1: try c.decode(Double.self))
        guard c.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a box is [x0, y0, x1, y1]: 4 numbers, not \(c.count.map(String.init) ?? "more")")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x0); try c.encode(y0); try c.encode(x1); try c.encode(y1)
    }

    /// Intersection with the frame `[0, width] x [0, height]`; nil when nothing is left.
    public func clipped(width: Int, height: Int) -> Box? {
        let b = Box(x0: max(x0, 0), y0: max(y0, 0), x1: min(x1, Double(width)), y1: min(y1, Double(height)))
        return b.isDegenerate ? nil : b
    }

    public func iou(_ other: Box) -> Double {
        let inter = Box(x0: max(x0, other.x0), y0: max(y0, other.y0), x1: min(x1, other.x1), y1: min(y1, other.y1))
        let i = inter.isDegenerate ? 0 : inter.area
        let u = area + other.area - i
        return u > 0 ? i / u : 0
    }

    /// Tight box of a row-major mask; nil when it is empty.
    public static func bounding(_ mask: [Bool], width: Int, height: Int) -> Box? {
        var minX = width, minY = height, maxX = -1, maxY = -1
        for y in 0..<height {
            let row = y * width
            for x in 0..<width where mask[row + x] {
                if x < minX { minX = x }
                if x > maxX { maxX = x }
                if y < minY { minY = y }
                maxY = y
            }
        }
        guard maxX >= 0 else { return nil }
        return Box(x0: Double(minX), y0: Double(minY), x1: Double(maxX + 1), y1: Double(maxY + 1))
    }
}
