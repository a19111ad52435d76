// Global frame-to-frame translation (camera pan or shake), so the motion model predicts where
// the scene moved, not only where the object moved within it. Cheap by construction: one pass
// over the full-resolution frame to build a small grey image, then a coarse-to-fine search of
// mean absolute differences over a few pixels at each level of a 3-level pyramid.

import Imaging

/// A translation in frame pixels: where the content of the previous frame is in this one.
public struct CameraShift: Sendable, Codable, Hashable {
    public var dx: Double
    public var dy: Double

    public init(dx: Double, dy: Double) {
        self.dx = dx
        self.dy = dy
    }

    public static let zero = CameraShift(dx: 0, dy: 0)
}

/// Remembers the previous frame's pyramid; `estimate` compares the next frame with it.
public final class CameraMotionEstimator {
    /// Width of the finest pyramid level: 240 keeps a 480-px frame at half resolution and
    /// sub-pixel-refined shifts accurate to about a pixel, at a fraction of a millisecond.
    public var baseWidth = 240
    /// Search radius at the coarsest level, in its pixels (x4 at the finest level): with
    /// `baseWidth` 240 a 480-px frame finds shifts up to about 32 px per frame.
    public var searchRadius = 4
    /// Mean absolute grey-level gradient below which the background has nothing to register
    /// on (a flat wall, a black test scene): the estimate is then zero rather than a guess
    /// pulled by whatever object moved.
    public var minTexture = 1.0

    private var previous: [GreyImage]?
    private var previousSize = (width: 0, height: 0)

    public init() {}

    /// The shift from the previous frame to this one, with `excluding` (tracked objects' boxes,
    /// frame pixels) left out of the comparison: their own motion is not the camera's. Nil on
    /// the first frame or after a size change.
    public func estimate(_ frame: RGBImage, excluding boxes: [Box]) -> CameraShift? {
        let factor = max(1, (frame.width + baseWidth - 1) / baseWidth)
        var levels = [GreyImage(downscaling: frame, by: factor)]
        while levels.count < 3, levels[levels.count - 1].width >= 32, levels[levels.count - 1].height >= 16 {
            levels.append(levels[levels.count - 1].halved())
        }
        defer {
            previous = levels
            previousSize = (frame.width, frame.height)
        }
        guard let previous, previousSize == (frame.width, frame.height), previous.count == levels.count else { return nil }

        // Exclusion in each level's pixels; the boxes cover objects in both frames.
        let masks = levels.indices.map { l in
            levels[l].exclusion(boxes, scale: 1 / Double(factor << l))
        }
        guard levels[0].meanGradient(excluded: masks[0]) >= minTexture else { return .zero }

        var (sx, sy) = (0, 0)
        for l in stride(from: levels.count - 1, through: 0, by: -1) {
            let radius = l == levels.count - 1 ? searchRadius : 1
            var best = (cost: Double.infinity, x: sx, y: sy)
            for dy in (sy - radius)...(sy + radius) {
                for dx in (sx - radius)...(sx + radius) {
                    // A tiny pull towards no motion settles ties on textureless parts.
                    let cost = meanDifference(previous[l], levels[l], masks[l], dx: dx, dy: dy)
                        + 1e-4 * Double(abs(dx) + abs(dy))
                    if cost < best.cost { best = (cost, dx, dy) }
                }
            }
            (sx, sy) = (best.x, best.y)
            if l > 0 { (sx, sy) = (2 * sx, 2 * sy) }
        }
        // Sub-pixel: a parabola through the costs either side of the best shift, per axis.
        let c0 = meanDifference(previous[0], levels[0], masks[0], dx: sx, dy: sy)
        func vertex(_ minus: Double, _ plus: Double) -> Double {
            let curvature = minus + plus - 2 * c0
            guard curvature > 1e-9, minus.isFinite, plus.isFinite else { return 0 }
            return max(-0.5, min(0.5, (minus - plus) / (2 * curvature)))
        }
        let fx = vertex(meanDifference(previous[0], levels[0], masks[0], dx: sx - 1, dy: sy),
                        meanDifference(previous[0], levels[0], masks[0], dx: sx + 1, dy: sy))
        let fy = vertex(meanDifference(previous[0], levels[0], masks[0], dx: sx, dy: sy - 1),
                        meanDifference(previous[0], levels[0], masks[0], dx: sx, dy: sy + 1))
        return CameraShift(dx: (Double(sx) + fx) * Double(factor), dy: (Double(sy) + fy) * Double(factor))
    }

    /// Mean |current(p + d) - previous(p)| over pixels outside the exclusion in both frames;
    /// infinite when less than a quarter of the image overlaps (the shift is implausible).
    func meanDifference(_ previous: GreyImage, _ current: GreyImage, _ excluded: [Bool], dx: Int, dy: Int) -> Double {
        let (w, h) = (current.width, current.height)
        let (x0, x1) = (max(0, -dx), min(w, w - dx))
        let (y0, y1) = (max(0, -dy), min(h, h - dy))
        guard x1 > x0, y1 > y0 else { return .infinity }
        var sum: Float = 0
        var count = 0
        previous.pixels.withUnsafeBufferPointer { p in
            current.pixels.withUnsafeBufferPointer { c in
                excluded.withUnsafeBufferPointer { e in
                    for y in y0..<y1 {
                        let row = y * w, shifted = (y + dy) * w + dx
                        var rowSum: Float = 0
                        for x in x0..<x1 where !e[row + x] && !e[shifted + x] {
                            rowSum += abs(c[shifted + x] - p[row + x])
                            count += 1
                        }
                        sum += rowSum
                    }
                }
            }
        }
        return count * 4 >= w * h ? Double(sum) / Double(count) : .infinity
    }
}

/// A small grey image, `pixels[y * width + x]`, values 0...255.
struct GreyImage {
    let width: Int
    let height: Int
    var pixels: [Float]

    /// Block average of `factor x factor` pixels of (R + 2G + B) / 4: the only full-resolution pass.
    init(downscaling frame: RGBImage, by factor: Int) {
        let (w, h, fw, f) = (max(1, frame.width / factor), max(1, frame.height / factor), frame.width, factor)
        let (bw, bh) = (min(f, frame.width), min(f, frame.height))
        let norm = 1 / Float(4 * bw * bh)
        var out = [Float](repeating: 0, count: w * h)
        frame.pixels.withUnsafeBufferPointer { rgb in
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<h {
                    for sy in 0..<bh {
                        let src = ((y * f + sy) * fw) * 3
                        for x in 0..<w {
                            var s = 0
                            var i = src + x * f * 3
                            for _ in 0..<bw {
                                s += Int(rgb[i]) + 2 * Int(rgb[i + 1]) + Int(rgb[i + 2])
                                i += 3
                            }
                            o[y * w + x] += Float(s)
                        }
                    }
                }
                for i in o.indices { o[i] *= norm }
            }
        }
        width = w
        height = h
        pixels = out
    }

    init(width: Int, height: Int, pixels: [Float]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// 2x2 block average.
    func halved() -> GreyImage {
        let (w, h) = (width / 2, height / 2)
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let i = 2 * y * width + 2 * x
                out[y * w + x] = (pixels[i] + pixels[i + 1] + pixels[i + width] + pixels[i + width + 1]) / 4
            }
        }
        return GreyImage(width: w, height: h, pixels: out)
    }

    /// True inside any of `boxes` (frame pixels times `scale`), grown by a pixel for blur.
    func exclusion(_ boxes: [Box], scale: Double) -> [Bool] {
        var mask = [Bool](repeating: false, count: width * height)
        for b in boxes where !b.isDegenerate {
            let x0 = max(0, Int((b.x0 * scale).rounded(.down)) - 1), x1 = min(width, Int((b.x1 * scale).rounded(.up)) + 1)
            let y0 = max(0, Int((b.y0 * scale).rounded(.down)) - 1), y1 = min(height, Int((b.y1 * scale).rounded(.up)) + 1)
            guard x1 > x0, y1 > y0 else { continue }
            for y in y0..<y1 {
                for x in x0..<x1 { mask[y * width + x] = true }
            }
        }
        return mask
    }

    /// Mean of |horizontal| + |vertical| forward differences outside the exclusion.
    func meanGradient(excluded: [Bool]) -> Double {
        guard width > 1, height > 1 else { return 0 }
        var sum: Float = 0
        var count = 0
        for y in 0..<(height - 1) {
            for x in 0..<(width - 1) where !excluded[y * width + x] {
                let i = y * width + x
                sum += abs(pixels[i + 1] - pixels[i]) + abs(pixels[i + width] - pixels[i])
                count += 1
            }
        }
        return count > 0 ? Double(sum) / Double(count) : 0
    }
}
