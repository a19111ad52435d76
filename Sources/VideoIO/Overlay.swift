// Drawing for the overlay video: translucent masks, outlines, boxes, prompt points and ids.
// Masks are row-major with one value per image pixel (`mask[y * width + x]`).

import Imaging

/// Fixed colours, so an object keeps its colour across frames, runs and machines.
public enum Overlay {
    /// Distinct, saturated colours (after Sasha Trubetskoy's "20 distinct colours"), ordered
    /// so the first objects avoid pure red and green, which mark prompt points.
    public static let objectColors: [RGBColor] = [
        RGBColor(r: 0, g: 130, b: 200), RGBColor(r: 245, g: 130, b: 48), RGBColor(r: 145, g: 30, b: 180),
        RGBColor(r: 70, g: 240, b: 240), RGBColor(r: 240, g: 50, b: 230), RGBColor(r: 255, g: 225, b: 25),
        RGBColor(r: 0, g: 128, b: 128), RGBColor(r: 210, g: 245, b: 60), RGBColor(r: 250, g: 190, b: 212),
        RGBColor(r: 170, g: 110, b: 40), RGBColor(r: 0, g: 0, b: 128), RGBColor(r: 128, g: 0, b: 0),
        RGBColor(r: 128, g: 128, b: 0), RGBColor(r: 220, g: 190, b: 255),
    ]
    public static let positivePointColor = RGBColor(r: 0, g: 255, b: 0)
    public static let negativePointColor = RGBColor(r: 255, g: 0, b: 0)

    /// Object ids start at 1 (DAVIS: 0 is background); id 1 gets the first colour, and the
    /// list repeats for ids past its end.
    public static func color(forObject id: Int) -> RGBColor {
        let n = objectColors.count
        return objectColors[((id - 1) % n + n) % n]
    }
}

extension RGBImage {
    /// Mixes `color` into the masked pixels: `out = round((1 - alpha) * pixel + alpha * color)`.
    public mutating func blend(mask: [Bool], color: RGBColor, alpha: Double = 0.5) {
        precondition(mask.count == width * height, "mask has \(mask.count) values for a \(width)x\(height) image")
        let a = min(max(alpha, 0), 1)
        let channels = [Double(color.r) * a, Double(color.g) * a, Double(color.b) * a]
        for i in mask.indices where mask[i] {
            for c in 0..<3 {
                pixels[i * 3 + c] = UInt8((Double(pixels[i * 3 + c]) * (1 - a) + channels[c]).rounded())
            }
        }
    }

    /// `blend(mask:color:alpha:)` for a 0/nonzero mask.
    public mutating func blend(mask: [UInt8], color: RGBColor, alpha: Double = 0.5) {
        blend(mask: mask.map { $0 != 0 }, color: color, alpha: alpha)
    }

    /// Paints the mask's boundary: mask pixels with a 4-neighbour outside the mask. The image
    /// edge counts as outside, so a mask cut off by the frame still shows a closed contour.
    public mutating func drawOutline(of mask: [Bool], color: RGBColor) {
        precondition(mask.count == width * height, "mask has \(mask.count) values for a \(width)x\(height) image")
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let onEdge = x == 0 || y == 0 || x == width - 1 || y == height - 1
                    || !mask[y * width + x - 1] || !mask[y * width + x + 1]
                    || !mask[(y - 1) * width + x] || !mask[(y + 1) * width + x]
                if onEdge { self[x, y] = color }
            }
        }
    }

    /// `drawOutline(of:color:)` for a 0/nonzero mask.
    public mutating func drawOutline(of mask: [UInt8], color: RGBColor) {
        drawOutline(of: mask.map { $0 != 0 }, color: color)
    }

    /// Outlines the box with corners (x0, y0) and (x1, y1) in pixel coordinates (as SAM box
    /// prompts), rounded to the nearest pixel; lines grow inward by `thickness`. Parts outside
    /// the image are clipped; a box with a non-finite coordinate is not drawn.
    public mutating func drawBox(x0: Double, y0: Double, x1: Double, y1: Double, color: RGBColor, thickness: Int = 1) {
        guard [x0, y0, x1, y1].allSatisfy(\.isFinite), thickness > 0 else { return }
        // Clamp before converting so huge coordinates cannot overflow Int.
        func pixel(_ v: Double) -> Int { Int(min(max(v, -1e9), 1e9).rounded()) }
        let left = pixel(min(x0, x1)), right = pixel(max(x0, x1))
        let top = pixel(min(y0, y1)), bottom = pixel(max(y0, y1))
        for t in 0..<thickness {
            fillRect(left: left, top: top + t, right: right, bottom: top + t, color: color)
            fillRect(left: left, top: bottom - t, right: right, bottom: bottom - t, color: color)
            fillRect(left: left + t, top: top, right: left + t, bottom: bottom, color: color)
            fillRect(left: right - t, top: top, right: right - t, bottom: bottom, color: color)
        }
    }

    /// A prompt point: a disc of `radius` in green (positive) or red (negative) with a white
    /// rim one pixel wide, so it stays visible on either colour.
    public mutating func drawPoint(x: Double, y: Double, positive: Bool, radius: Int = 3) {
        guard x.isFinite, y.isFinite, abs(x) < 1e9, abs(y) < 1e9 else { return }
        let cx = Int(x.rounded()), cy = Int(y.rounded())
        let fill = positive ? Overlay.positivePointColor : Overlay.negativePointColor
        let rim = radius + 1
        for dy in -rim...rim {
            for dx in -rim...rim {
                let d2 = dx * dx + dy * dy
                guard d2 <= rim * rim + rim else { continue }  // +rim rounds the disc's edge
                let px = cx + dx, py = cy + dy
                guard px >= 0, py >= 0, px < width, py < height else { continue }
                self[px, py] = d2 <= radius * radius + radius ? fill : .white
            }
        }
    }

    /// Writes digits with the built-in 5x7 font, top-left corner at (x, y), each font pixel
    /// drawn `scale` x `scale`, on a background box when one is given. Characters other than
    /// 0-9 leave a gap.
    public mutating func drawLabel(_ text: String, x: Int, y: Int, color: RGBColor,
                                   background: RGBColor? = .black, scale: Int = 1) {
        guard scale > 0, !text.isEmpty else { return }
        let advance = (DigitFont.width + 1) * scale
        if let background {
            fillRect(left: x - scale, top: y - scale, right: x + text.count * advance - 1,
                     bottom: y + DigitFont.height * scale, color: background)
        }
        for (n, character) in text.enumerated() {
            guard let rows = DigitFont.glyph(character) else { continue }
            for (row, bits) in rows.enumerated() {
                for column in 0..<DigitFont.width where bits >> (DigitFont.width - 1 - column) & 1 == 1 {
                    let px = x + n * advance + column * scale, py = y + row * scale
                    fillRect(left: px, top: py, right: px + scale - 1, bottom: py + scale - 1, color: color)
                }
            }
        }
    }

    /// The overlay-video look for one object: its colour blended into the mask, the mask's
    /// outline, the box (if any) and the id above the box's (else the mask's) top-left corner.
    public mutating func drawObject(id: Int, mask: [Bool], box: (x0: Double, y0: Double, x1: Double, y1: Double)? = nil,
                                    alpha: Double = 0.45) {
        let color = Overlay.color(forObject: id)
        blend(mask: mask, color: color, alpha: alpha)
        drawOutline(of: mask, color: color)
        var corner: (x: Int, y: Int)? = nil
        if let box {
            drawBox(x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1, color: color, thickness: 2)
            if [box.x0, box.y0].allSatisfy({ $0.isFinite && abs($0) < 1e9 }) {
                corner = (Int(min(box.x0, box.x1).rounded()), Int(min(box.y0, box.y1).rounded()))
            }
        } else if let first = mask.firstIndex(of: true) {
            let left = (0..<width).first { x in (0..<height).contains { mask[$0 * width + x] } } ?? 0
            corner = (left, first / width)
        }
        if let corner {
            // Above the corner when there is room, else just inside it.
            let y = corner.y - DigitFont.height - 2 >= 0 ? corner.y - DigitFont.height - 2 : corner.y + 2
            drawLabel(String(id), x: max(corner.x + 1, 1), y: y, color: color)
        }
    }

    /// Fills the inclusive rectangle, clipped to the image.
    mutating func fillRect(left: Int, top: Int, right: Int, bottom: Int, color: RGBColor) {
        let x0 = max(left, 0), x1 = min(right, width - 1)
        let y0 = max(top, 0), y1 = min(bottom, height - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 { self[x, y] = color }
        }
    }
}

/// A 5x7 bitmap font for object ids: each glyph is 7 rows, top first; bit 4 is the left column.
enum DigitFont {
    static let width = 5
    static let height = 7
    static let digits: [[UInt8]] = [
        [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],  // 0
        [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],  // 1
        [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],  // 2
        [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],  // 3
        [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],  // 4
        [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],  // 5
        [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],  // 6
        [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],  // 7
        [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],  // 8
        [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],  // 9
    ]

    static func glyph(_ character: Character) -> [UInt8]? {
        guard let value = character.wholeNumberValue, character.isASCII else { return nil }
        return digits[value]
    }
}
