import Foundation

/// Roto-style operations on a soft matte: alpha in 0...1, row-major at frame size
/// (`alpha[y * width + x]`). `SoftMatteRequest.apply` runs them in the order roto tools do:
/// fill holes, then grow (or shrink), then feather. Pixels outside the frame take no part:
/// a matte touching the border is neither eroded nor blurred from that side.
public enum MatteOperations {
    /// Alpha 1 in every hole of `mask`: a 4-connected region of false pixels that touches no
    /// border of the frame (the object's pixels are 8-connected around it). With `maxArea`, only
    /// holes of at most that many pixels are filled.
    public static func fillHoles(_ alpha: [Float], mask: [Bool], width: Int, height: Int, maxArea: Int? = nil) -> [Float] {
        precondition(alpha.count == width * height && mask.count == width * height, "matte and mask must be \(width)x\(height)")
        var out = alpha
        var seen = [Bool](repeating: false, count: width * height)
        var region: [Int] = []
        var stack: [Int] = []
        for start in mask.indices where !mask[start] && !seen[start] {
            // Flood one background region, noting whether it reaches the border.
            region.removeAll(keepingCapacity: true)
            stack.append(start)
            seen[start] = true
            var touchesBorder = false
            while let p = stack.popLast() {
                region.append(p)
                let (x, y) = (p % width, p / width)
                if x == 0 || y == 0 || x == width - 1 || y == height - 1 { touchesBorder = true }
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let q = ny * width + nx
                    if !mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            if !touchesBorder && region.count <= (maxArea ?? Int.max) {
                for p in region { out[p] = 1 }
            }
        }
        return out
    }

    /// Dilates (`pixels` > 0) or erodes (`pixels` < 0) by a disc of radius |pixels|: each alpha
    /// becomes the largest (smallest) alpha within that Euclidean distance, so a hard edge moves
    /// out (in) by exactly |pixels| in every direction and soft edges keep their ramp.
    public static func grow(_ alpha: [Float], width: Int, height: Int, pixels: Int) -> [Float] {
        precondition(alpha.count == width * height, "matte must be \(width)x\(height)")
        guard pixels != 0, width > 0, height > 0 else { return alpha }
        let r = abs(pixels), dilate = pixels > 0
        // The disc as rows: offset dy covers columns within the largest hw with hw^2 + dy^2 <= r^2.
        var rowsByHalfWidth: [Int: [Int]] = [:]
        for dy in -r...r {
            var hw = 0
            while (hw + 1) * (hw + 1) + dy * dy <= r * r { hw += 1 }
            rowsByHalfWidth[hw, default: []].append(dy)
        }
        var out = [Float](repeating: dilate ? -.infinity : .infinity, count: width * height)
        var rows = [Float](repeating: 0, count: width * height)
        for (hw, offsets) in rowsByHalfWidth {
            for y in 0..<height {
                slidingExtreme(alpha, row: y, width: width, halfWidth: hw, max: dilate, into: &rows)
            }
            for dy in offsets {
                for y in 0..<height {
                    let sy = y + dy
                    guard sy >= 0 && sy < height else { continue }
                    for x in 0..<width {
                        let (o, v) = (out[y * width + x], rows[sy * width + x])
                        out[y * width + x] = dilate ? Swift.max(o, v) : Swift.min(o, v)
                    }
                }
            }
        }
        return out
    }

    /// Softens the edge: a Gaussian blur with sigma = `pixels` / 3 and weights cut at
    /// +-ceil(`pixels`) (3 sigma), separable, normalised to sum 1, edges clamped (the border pixel
    /// repeats), so a flat matte stays flat and the 10-90 % ramp of a hard edge is about 0.85 `pixels` wide.
    public static func feather(_ alpha: [Float], width: Int, height: Int, pixels: Double) -> [Float] {
        precondition(alpha.count == width * height, "matte must be \(width)x\(height)")
        precondition(pixels >= 0 && pixels.isFinite, "feather \(pixels) must be 0 or more")
        guard pixels > 0, width > 0, height > 0 else { return alpha }
        let kernel = gaussianKernel(pixels: pixels)
        let r = kernel.count / 2
        var across = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            let row = y * width
            for x in 0..<width {
                var sum: Float = 0
                for k in -r...r { sum += kernel[k + r] * alpha[row + min(max(x + k, 0), width - 1)] }
                across[row + x] = sum
            }
        }
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                var sum: Float = 0
                for k in -r...r { sum += kernel[k + r] * across[min(max(y + k, 0), height - 1) * width + x] }
                out[y * width + x] = sum
            }
        }
        return out
    }

    /// The feather's weights for offsets -R...R, R = ceil(`pixels`), sigma = `pixels` / 3, summing to 1.
    public static func gaussianKernel(pixels: Double) -> [Float] {
        let r = Int(pixels.rounded(.up))
        let sigma = pixels / 3
        let weights = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }

    /// `out[row, x]` = max (or min) of `source[row, x - hw ... x + hw]` (clipped to the row), in
    /// O(width) whatever hw (van Herk / Gil-Werman: prefix and suffix extremes over blocks of 2 hw + 1).
    static func slidingExtreme(_ source: [Float], row y: Int, width: Int, halfWidth hw: Int, max: Bool,
                               into out: inout [Float]) {
        let base = y * width
        if hw == 0 {
            for x in 0..<width { out[base + x] = source[base + x] }
            return
        }
        let pick: (Float, Float) -> Float = max ? { Swift.max($0, $1) } : { Swift.min($0, $1) }
        let k = 2 * hw + 1
        // Padded row: hw neutral values on each side, then up to a whole number of blocks.
        let n = ((width + 2 * hw + k - 1) / k) * k
        var padded = [Float](repeating: max ? -.infinity : .infinity, count: n)
        for x in 0..<width { padded[x + hw] = source[base + x] }
        var prefix = padded, suffix = padded
        for i in 1..<n where i % k != 0 { prefix[i] = pick(prefix[i - 1], padded[i]) }
        for i in stride(from: n - 2, through: 0, by: -1) where (i + 1) % k != 0 { suffix[i] = pick(suffix[i + 1], padded[i]) }
        // The window of output x is padded[x ... x + k - 1].
        for x in 0..<width { out[base + x] = pick(suffix[x], prefix[x + k - 1]) }
    }
}
