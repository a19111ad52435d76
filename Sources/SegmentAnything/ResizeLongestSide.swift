// Port of segment_anything/utils/transforms.py (ResizeLongestSide), with the image resize done
// exactly as the reference does it: torchvision's `resize` on a PIL image, i.e. Pillow's
// bilinear resampling (a triangle filter widened by the scale when shrinking, 8-bit fixed point).

import Imaging

public struct ResizeLongestSide: Sendable {
    public let targetLength: Int
    public init(targetLength: Int) { self.targetLength = targetLength }

    /// `get_preprocess_shape`: (h, w) with the longest side scaled to `targetLength`, rounded half up.
    public func outputSize(height: Int, width: Int) -> (h: Int, w: Int) {
        let scale = Double(targetLength) / Double(max(height, width))
        return (Int(Double(height) * scale + 0.5), Int(Double(width) * scale + 0.5))
    }

    public func applyImage(_ image: RGBImage) -> RGBImage {
        let (h, w) = outputSize(height: image.height, width: image.width)
        return PillowBilinear.resize(image, width: w, height: h)
    }

    /// `apply_coords`: original pixel coordinates -> model-input coordinates.
    public func applyCoords(x: Double, y: Double, originalSize: (h: Int, w: Int)) -> (Float, Float) {
        let (nh, nw) = outputSize(height: originalSize.h, width: originalSize.w)
        return (Float(x * (Double(nw) / Double(originalSize.w))), Float(y * (Double(nh) / Double(originalSize.h))))
    }

    /// `apply_boxes`: both corners through `applyCoords`, as (x0, y0, x1, y1).
    public func applyBox(_ box: Box, originalSize: (h: Int, w: Int)) -> (Float, Float, Float, Float) {
        let (x0, y0) = applyCoords(x: box.x0, y: box.y0, originalSize: originalSize)
        let (x1, y1) = applyCoords(x: box.x1, y: box.y1, originalSize: originalSize)
        return (x0, y0, x1, y1)
    }
}

/// Pillow's `ImagingResample` with the bilinear filter, bit-exact for 8-bit images.
enum PillowBilinear {
    static let precisionBits = 32 - 8 - 2

    /// Per output pixel: first input index and fixed-point weights.
    static func coefficients(inSize: Int, outSize: Int) -> (bounds: [(Int, Int)], weights: [[Int32]]) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        var bounds: [(Int, Int)] = [], weights: [[Int32]] = []
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            var k: [Double] = []
            var total = 0.0
            for x in xmin..<max(hi, xmin) {
                var t = (Double(x) - center + 0.5) * ss
                if t < 0 { t = -t }
                let wgt = t < 1 ? 1 - t : 0
                k.append(wgt)
                total += wgt
            }
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { v -> Int32 in
                v < 0 ? Int32(-0.5 + v * Double(1 << precisionBits)) : Int32(0.5 + v * Double(1 << precisionBits))
            }
            bounds.append((xmin, fixed.count))
            weights.append(fixed)
        }
        return (bounds, weights)
    }

    static func clip8(_ v: Int32) -> UInt8 {
        if v >= Int32(1 << precisionBits) << 8 { return 255 }
        if v <= 0 { return 0 }
        return UInt8(v >> Int32(precisionBits))
    }

    static func resize(_ image: RGBImage, width outW: Int, height outH: Int) -> RGBImage {
        var current = image
        // Pillow resamples horizontally first, then vertically, each pass rounding to 8 bits.
        if outW != current.width {
            let (bounds, weights) = coefficients(inSize: current.width, outSize: outW)
            var out = [UInt8](repeating: 0, count: outW * current.height * 3)
            for y in 0..<current.height {
                let row = y * current.width * 3
                for x in 0..<outW {
                    let (x0, n) = bounds[x], k = weights[x]
                    for ch in 0..<3 {
                        var acc = Int32(1 << (precisionBits - 1))
                        for i in 0..<n { acc &+= Int32(current.pixels[row + (x0 + i) * 3 + ch]) &* k[i] }
                        out[(y * outW + x) * 3 + ch] = clip8(acc)
                    }
                }
            }
            current = RGBImage(width: outW, height: current.height, pixels: out)
        }
        if outH != current.height {
            let (bounds, weights) = coefficients(inSize: current.height, outSize: outH)
            let w = current.width
            var out = [UInt8](repeating: 0, count: w * outH * 3)
            for y in 0..<outH {
                let (y0, n) = bounds[y], k = weights[y]
                for x in 0..<w {
                    for ch in 0..<3 {
                        var acc = Int32(1 << (precisionBits - 1))
                        for i in 0..<n { acc &+= Int32(current.pixels[((y0 + i) * w + x) * 3 + ch]) &* k[i] }
                        out[(y * w + x) * 3 + ch] = clip8(acc)
                    }
                }
            }
            current = RGBImage(width: w, height: outH, pixels: out)
        }
        return current
    }
}
