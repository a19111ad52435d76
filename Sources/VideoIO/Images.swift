// Plain pixel containers shared by readers, writers and overlay drawing, beside Imaging's
// RGBImage. No C types: the rest of the project sees images only through these.

import Imaging

/// An 8-bit single-channel image (mattes: 0 = outside, 255 = inside): `pixels[y * width + x]`.
public struct GrayImage: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// [height, width]
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height,
                     "gray image \(width)x\(height) needs \(width * height) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A 16-bit single-channel image (soft mattes: 0 = outside, 65535 = inside, straight alpha):
/// `pixels[y * width + x]`.
public struct Gray16Image: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// [height, width]
    public var pixels: [UInt16]

    public init(width: Int, height: Int, pixels: [UInt16]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height,
                     "16-bit gray image \(width)x\(height) needs \(width * height) values, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Alpha 0...1 (clamped) as 16-bit values, rounded to nearest: `round(alpha * 65535)`.
    public init(width: Int, height: Int, alpha: [Float]) {
        self.init(width: width, height: height, pixels: alpha.map { UInt16((min(max($0, 0), 1) * 65535).rounded()) })
    }
}

/// An 8-bit palette image (DAVIS annotations: index = object id, 0 = background).
/// `indices[y * width + x]` selects `palette[index]`.
public struct IndexedImage: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// [height, width]
    public var indices: [UInt8]
    /// At most 256 colours; indices past the end are written as black.
    public var palette: [RGBColor]

    public init(width: Int, height: Int, indices: [UInt8], palette: [RGBColor] = RGBColor.davisPalette) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(indices.count == width * height,
                     "indexed image \(width)x\(height) needs \(width * height) indices, got \(indices.count)")
        precondition(palette.count <= 256, "a PNG palette holds at most 256 colours, got \(palette.count)")
        self.width = width
        self.height = height
        self.indices = indices
        self.palette = palette
    }

    /// The image as colours (indices past the palette give black).
    public var rgb: RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for (i, index) in indices.enumerated() where Int(index) < palette.count {
            let c = palette[Int(index)]
            pixels[i * 3] = c.r; pixels[i * 3 + 1] = c.g; pixels[i * 3 + 2] = c.b
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

extension RGBColor {
    /// The 256-colour palette of DAVIS and PASCAL VOC annotations: 0 black, 1 (128, 0, 0),
    /// 2 (0, 128, 0), 3 (128, 128, 0), ... Bit k of the index (in groups of three: r, g, b)
    /// sets bit 7 - k/3 of that channel, so low ids get the most different colours.
    public static let davisPalette: [RGBColor] = (0..<256).map { index in
        var r = 0, g = 0, b = 0
        var c = index
        for shift in (0..<8).reversed() {
            r |= (c & 1) << shift
            g |= (c >> 1 & 1) << shift
            b |= (c >> 2 & 1) << shift
            c >>= 3
        }
        return RGBColor(r: UInt8(r), g: UInt8(g), b: UInt8(b))
    }
}
