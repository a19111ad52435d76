import Imaging
import Testing
import VideoIO

@Suite("overlay drawing")
struct OverlayTests {
    let gray = RGBColor(r: 100, g: 100, b: 100)

    /// 5x5 with a 3x3 square at (1...3, 1...3).
    var square: [Bool] {
        (0..<25).map { i in (1...3).contains(i % 5) && (1...3).contains(i / 5) }
    }

    @Test("a mask blends its colour into exactly its pixels")
    func blend() {
        var image = RGBImage(width: 5, height: 5, fill: gray)
        image.blend(mask: square, color: RGBColor(r: 255, g: 0, b: 10), alpha: 0.25)
        // 100 * 0.75 + 255 * 0.25 = 138.75 -> 139; 75 + 0 = 75; 75 + 2.5 = 77.5 -> 78
        #expect(image[2, 2] == RGBColor(r: 139, g: 75, b: 78))
        #expect(image[0, 0] == gray)
        #expect(image[4, 2] == gray)
    }

    @Test("the outline is the mask pixels with a 4-neighbour outside")
    func outline() {
        var image = RGBImage(width: 5, height: 5, fill: gray)
        image.drawOutline(of: square.map { $0 ? UInt8(1) : 0 }, color: .white)
        let painted = (0..<25).filter { image[$0 % 5, $0 / 5] == .white }
        #expect(painted == [6, 7, 8, 11, 13, 16, 17, 18])
    }

    @Test("a mask touching the border is outlined along the border")
    func outlineAtBorder() {
        var image = RGBImage(width: 3, height: 3, fill: gray)
        image.drawOutline(of: [Bool](repeating: true, count: 9), color: .white)
        #expect(image[1, 1] == gray)
        #expect(image[0, 0] == .white && image[2, 1] == .white)
    }

    @Test("a box partly outside the image is clipped and its visible edges drawn")
    func clippedBox() {
        var image = RGBImage(width: 6, height: 4, fill: gray)
        image.drawBox(x0: 2.2, y0: -3, x1: 40, y1: 2.4, color: .white)
        // Left edge x = 2 (rows 0...2), bottom edge y = 2 (x 2...5); top and right are outside.
        let painted = (0..<24).filter { image[$0 % 6, $0 / 6] == .white }
        #expect(painted == [2, 8, 14, 15, 16, 17])
        image.drawBox(x0: .nan, y0: 0, x1: 3, y1: 3, color: .black)
        #expect(!image.pixels.contains(0))
    }

    @Test("positive points are green, negative red, with a white rim")
    func points() {
        var image = RGBImage(width: 20, height: 10, fill: gray)
        image.drawPoint(x: 4, y: 4, positive: true, radius: 2)
        image.drawPoint(x: 15.4, y: 5.2, positive: false, radius: 2)
        #expect(image[4, 4] == Overlay.positivePointColor)
        #expect(image[6, 4] == Overlay.positivePointColor)
        #expect(image[7, 4] == .white)
        #expect(image[15, 5] == Overlay.negativePointColor)
        #expect(image[10, 4] == gray)
    }

    @Test("a label draws the 5x7 digit glyphs on a background")
    func label() {
        var image = RGBImage(width: 16, height: 10, fill: gray)
        image.drawLabel("17", x: 1, y: 1, color: .white)
        // "1": top row is ..#.. -> x = 1 + 2; "7": top row ##### at x = 7...11.
        #expect(image[3, 1] == .white)
        #expect(image[1, 1] == .black)
        #expect((7...11).allSatisfy { image[$0, 1] == .white })
        #expect(image[15, 9] == gray)
    }

    @Test("object colours are fixed, distinct within the palette, and avoid the point colours")
    func objectColours() {
        let colours = Overlay.objectColors
        #expect(Set(colours).count == colours.count)
        #expect(Overlay.color(forObject: 1) == colours[0])
        #expect(Overlay.color(forObject: colours.count + 1) == colours[0])
        #expect(!colours.contains(Overlay.positivePointColor) && !colours.contains(Overlay.negativePointColor))
    }

    @Test("the DAVIS palette starts black, maroon, green, olive and has 256 entries")
    func davisPalette() {
        let p = RGBColor.davisPalette
        #expect(p.count == 256)
        #expect(p[0] == .black && p[1] == RGBColor(r: 128, g: 0, b: 0))
        #expect(p[2] == RGBColor(r: 0, g: 128, b: 0) && p[3] == RGBColor(r: 128, g: 128, b: 0))
        #expect(p[255] == RGBColor(r: 224, g: 224, b: 192))
    }

    @Test("drawing an object fills, outlines, boxes and labels it in its own colour")
    func object() {
        var image = RGBImage(width: 40, height: 30, fill: gray)
        var mask = [Bool](repeating: false, count: 40 * 30)
        for y in 15..<25 { for x in 10..<30 { mask[y * 40 + x] = true } }
        image.drawObject(id: 2, mask: mask, box: (x0: 8, y0: 13, x1: 31, y1: 26))
        let colour = Overlay.color(forObject: 2)
        #expect(image[10, 15] == colour)  // outline
        #expect(image[8, 20] == colour)   // box edge
        #expect(image[20, 20] != gray && image[20, 20] != colour)  // blended interior
        // Label "2" above the box: its top row "01110" starts at x = 9 + 1.
        #expect(image[10, 4] == colour)
        #expect(image[2, 2] == gray)
    }
}
