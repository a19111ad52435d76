import Foundation
import Testing
import VideoIO
import VideoTracking

/// Matte operations on small hand-made mattes with exact expectations.
@Suite("matte operations")
struct MatteOperationTests {
    /// A mask from rows of '#' (inside) and '.' (outside).
    func mask(_ rows: [String]) -> (mask: [Bool], width: Int, height: Int) {
        (rows.flatMap { $0.map { $0 == "#" } }, rows[0].count, rows.count)
    }

    /// The naive reference of `grow`: max (or min) over every pixel within distance r.
    func naiveGrow(_ a: [Float], width w: Int, height h: Int, pixels: Int) -> [Float] {
        let r = abs(pixels)
        var out = a
        for y in 0..<h {
            for x in 0..<w {
                var v: Float = pixels > 0 ? 0 : 1
                for dy in -r...r {
                    for dx in -r...r where dx * dx + dy * dy <= r * r {
                        let (sx, sy) = (x + dx, y + dy)
                        guard sx >= 0, sy >= 0, sx < w, sy < h else { continue }
                        v = pixels > 0 ? max(v, a[sy * w + sx]) : min(v, a[sy * w + sx])
                    }
                }
                out[y * w + x] = v
            }
        }
        return out
    }

    @Test("fill holes fills enclosed background regions (4-connected, also behind a diagonal gap), not bays open to the border")
    func fillHoles() {
        let m = mask([
            "............",
            ".###.####...",
            ".#.#.#..#...",
            ".###.#..#...",
            ".....####...",
            "............",
            "..##.###....",
            ".#.#.#.#....",
            ".###.#......",
            "............",
        ])
        let alpha = m.mask.map { $0 ? Float(0.8) : 0.25 }
        let small = [2 * 12 + 2, 7 * 12 + 2]                      // 1-pixel holes; the second one's ring has a corner missing
        let large = [2 * 12 + 6, 2 * 12 + 7, 3 * 12 + 6, 3 * 12 + 7] // a 2x2 hole
        func expected(_ filled: [Int]) -> [Float] {
            var e = alpha
            for p in filled { e[p] = 1 }
            return e
        }
        #expect(MatteOperations.fillHoles(alpha, mask: m.mask, width: m.width, height: m.height) == expected(small + large))
        #expect(MatteOperations.fillHoles(alpha, mask: m.mask, width: m.width, height: m.height, maxArea: 3) == expected(small))
        #expect(MatteOperations.fillHoles(alpha, mask: m.mask, width: m.width, height: m.height, maxArea: 4) == expected(small + large))
    }

    @Test("grow dilates a point into a disc of the radius and erodes a square from every side")
    func growHardEdges() {
        var point = [Float](repeating: 0, count: 49)
        point[3 * 7 + 3] = 1
        let disc = MatteOperations.grow(point, width: 7, height: 7, pixels: 2)
        let inDisc = (0..<49).map { p -> Float in
            let (dx, dy) = (p % 7 - 3, p / 7 - 3)
            return dx * dx + dy * dy <= 4 ? 1 : 0
        }
        #expect(disc == inDisc)
        #expect(disc.filter { $0 == 1 }.count == 13)

        var square = [Float](repeating: 0, count: 81)
        for y in 2...6 { for x in 2...6 { square[y * 9 + x] = 1 } }
        let eroded = MatteOperations.grow(square, width: 9, height: 9, pixels: -1)
        #expect(eroded == (0..<81).map { p in (3...5).contains(p % 9) && (3...5).contains(p / 9) ? 1 : 0 })
        let centre = MatteOperations.grow(square, width: 9, height: 9, pixels: -2)
        #expect(centre == (0..<81).map { $0 == 4 * 9 + 4 ? 1 : 0 })
    }

    @Test("grow keeps soft values (max / min over the disc) and never erodes from outside the frame")
    func growSoftAndBorders() {
        let row: [Float] = [0.2, 0.9, 0.1, 0.4, 0.3]
        #expect(MatteOperations.grow(row, width: 5, height: 1, pixels: 1) == [0.9, 0.9, 0.9, 0.4, 0.4])
        #expect(MatteOperations.grow(row, width: 5, height: 1, pixels: -1) == [0.2, 0.1, 0.1, 0.1, 0.3])
        #expect(MatteOperations.grow([1, 1, 1, 0, 0], width: 5, height: 1, pixels: -1) == [1, 1, 0, 0, 0])
        #expect(MatteOperations.grow(row, width: 5, height: 1, pixels: 0) == row)
    }

    @Test("grow equals the naive disc filter for radii 1-7, both ways")
    func growMatchesNaive() {
        var state: UInt64 = 12345
        let (w, h) = (23, 17)
        let a = (0..<(w * h)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        for r in [1, 2, 3, 4, 5, 7, -1, -3, -6] {
            #expect(MatteOperations.grow(a, width: w, height: h, pixels: r) == naiveGrow(a, width: w, height: h, pixels: r),
                    "radius \(r)")
        }
    }

    @Test("feather blurs an impulse into the normalised Gaussian (sigma = px / 3) and keeps flat mattes flat")
    func featherKernel() {
        // sigma 1, weights exp(-i^2 / 2) for |i| <= 3, divided by their sum 2.5059500.
        let k: [Float] = [0.3990503, 0.2420362, 0.0540056, 0.0044330]
        var impulse = [Float](repeating: 0, count: 81)
        impulse[4 * 9 + 4] = 1
        let out = MatteOperations.feather(impulse, width: 9, height: 9, pixels: 3)
        var worst: Float = 0
        for y in 0..<9 {
            for x in 0..<9 {
                let (dx, dy) = (abs(x - 4), abs(y - 4))
                let e: Float = dx <= 3 && dy <= 3 ? k[dx] * k[dy] : 0
                worst = max(worst, abs(out[y * 9 + x] - e))
            }
        }
        #expect(worst < 1e-6, "largest difference \(worst)")
        let flat = MatteOperations.feather([Float](repeating: 0.7, count: 35), width: 7, height: 5, pixels: 4)
        #expect(flat.allSatisfy { abs($0 - 0.7) < 1e-6 })
        #expect(MatteOperations.feather(impulse, width: 9, height: 9, pixels: 0) == impulse)
    }

    @Test("feather turns a hard edge into a symmetric monotone ramp no wider than the kernel")
    func featherEdge() {
        let (w, h) = (12, 3)
        let step = (0..<(w * h)).map { Float($0 % w < 6 ? 1 : 0) }
        let out = MatteOperations.feather(step, width: w, height: h, pixels: 2)
        for y in 0..<h {
            let row = Array(out[(y * w)..<((y + 1) * w)])
            #expect(abs(row[5] + row[6] - 1) < 1e-6, "the ramp is symmetric about the edge")
            #expect(row[0...3].allSatisfy { abs($0 - 1) < 1e-6 } && row[8...].allSatisfy { abs($0) < 1e-6 })
            #expect(zip(row, row.dropFirst()).allSatisfy { $0 >= $1 }, "monotone")
            #expect(row[4] < 1 - 1e-3 && row[7] > 1e-3, "the ramp reaches 2 px from the edge")
        }
    }

    @Test("a soft-matte request applies fill holes, then grow, then feather, and clamps to 0...1")
    func applyOrder() {
        let m = mask([".......", ".#####.", ".#...#.", ".#...#.", ".#...#.", ".#####.", "......."])
        let alpha = m.mask.map { $0 ? Float(1) : 0 }
        let request = SoftMatteRequest(fillHoles: true, grow: -1, feather: 1.5)
        let filled = MatteOperations.fillHoles(alpha, mask: m.mask, width: 7, height: 7)
        let expected = MatteOperations.feather(MatteOperations.grow(filled, width: 7, height: 7, pixels: -1),
                                               width: 7, height: 7, pixels: 1.5)
        let got = request.apply(alpha: alpha, mask: m.mask, width: 7, height: 7)
        #expect(got == expected.map { min(max($0, 0), 1) })
        // Feathering before shrinking gives another matte: the order shows in the result.
        let featherFirst = MatteOperations.grow(MatteOperations.feather(filled, width: 7, height: 7, pixels: 1.5),
                                                width: 7, height: 7, pixels: -1)
        #expect(got != featherFirst)
        #expect(got[3 * 7 + 3] > 0.5, "the filled hole survives the shrink")
        #expect(request.apply(alpha: nil, mask: m.mask, width: 7, height: 7) == [Float](repeating: 0, count: 49),
                "an object that is not tracked has alpha 0")
        #expect(SoftMatteRequest().apply(alpha: [-0.5, 1.5], mask: [false, true], width: 2, height: 1) == [0, 1])
    }

    @Test("soft-matte requests refuse a negative feather, a hole limit without --fill-holes and a path as EXR name")
    func requestChecks() {
        #expect(throws: SoftMatteError.self) { try SoftMatteRequest(feather: -1).check() }
        #expect(throws: SoftMatteError.self) { try SoftMatteRequest(feather: .nan).check() }
        #expect(throws: SoftMatteError.self) { try SoftMatteRequest(maxHoleArea: 10).check() }
        #expect(throws: SoftMatteError.self) { try SoftMatteRequest(fillHoles: true, maxHoleArea: 0).check() }
        #expect(throws: SoftMatteError.self) { try SoftMatteRequest(exr: EXRRequest(name: "a/b")).check() }
        #expect(throws: Never.self) { try SoftMatteRequest(fillHoles: true, maxHoleArea: 5, grow: -3, feather: 2, exr: EXRRequest()).check() }
    }
}
