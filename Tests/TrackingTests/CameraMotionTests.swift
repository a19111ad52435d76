import Foundation
import Imaging
import Testing
@testable import Tracking

/// Smooth, non-repeating value noise (random values on an 8-px lattice, bilinear between them,
/// plus a finer octave) sampled at `(x - dx, y - dy)`: the same scene moved by (dx, dy).
func texture(width: Int, height: Int, dx: Double = 0, dy: Double = 0) -> RGBImage {
    func lattice(_ i: Int, _ j: Int) -> Double {
        var h = UInt64(bitPattern: Int64(i &* 73_856_093 ^ j &* 19_349_663))
        h = (h ^ (h >> 33)) &* 0xff51afd7ed558ccd
        h ^= h >> 29
        return Double(h % 256)
    }
    func noise(_ u: Double, _ v: Double, cell: Double) -> Double {
        let (fu, fv) = (u / cell, v / cell)
        let (i, j) = (Int(fu.rounded(.down)), Int(fv.rounded(.down)))
        let (a, b) = (fu - Double(i), fv - Double(j))
        return (1 - a) * (1 - b) * lattice(i, j) + a * (1 - b) * lattice(i + 1, j)
            + (1 - a) * b * lattice(i, j + 1) + a * b * lattice(i + 1, j + 1)
    }
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let (u, v) = (Double(x) - dx + 1000, Double(y) - dy + 1000)
            let g = UInt8(max(0, min(255, 0.7 * noise(u, v, cell: 8) + 0.3 * noise(u, v, cell: 3))))
            for c in 0..<3 { rgb[(y * width + x) * 3 + c] = g }
        }
    }
    return RGBImage(width: width, height: height, pixels: rgb)
}

@Suite("camera motion")
struct CameraMotionTests {
    @Test("a textured frame shifted by a known translation is found within a pixel", arguments: [(7.0, -4.0), (-13.0, 9.0), (0.0, 0.0), (22.0, 3.0)])
    func findsShift(shift: (Double, Double)) throws {
        let estimator = CameraMotionEstimator()
        #expect(estimator.estimate(texture(width: 480, height: 270), excluding: []) == nil, "no previous frame")
        let found = try #require(estimator.estimate(texture(width: 480, height: 270, dx: shift.0, dy: shift.1), excluding: []))
        #expect(abs(found.dx - shift.0) < 1 && abs(found.dy - shift.1) < 1, "\(found) for \(shift)")
    }

    @Test("an object moving inside an excluded box does not pull the estimate")
    func excludesObjects() throws {
        func frame(_ objectX: Int) -> RGBImage {
            let base = texture(width: 240, height: 136)
            var rgb = base.pixels
            for y in 40..<80 {
                for x in objectX..<(objectX + 40) { rgb[(y * 240 + x) * 3] = UInt8((x - objectX) * 6 % 256) }
            }
            return RGBImage(width: 240, height: 136, pixels: rgb)
        }
        let estimator = CameraMotionEstimator()
        _ = estimator.estimate(frame(60), excluding: [])
        let found = try #require(estimator.estimate(frame(72), excluding: [Box(x0: 50, y0: 30, x1: 125, y1: 90)]))
        #expect(abs(found.dx) < 0.5 && abs(found.dy) < 0.5, "\(found)")
    }

    @Test("a textureless background reports no motion, whatever the objects do")
    func flatScene() throws {
        let scene = Scene(squares: [(200, (0..<2).map { (x: 10 + 8 * $0, y: 20, side: 12) })])
        let estimator = CameraMotionEstimator()
        _ = estimator.estimate(scene.frame(0), excluding: [])
        #expect(try #require(estimator.estimate(scene.frame(1), excluding: [])) == .zero)
    }

    @Test("an estimate at 480x270 takes a few milliseconds")
    func cheap() {
        let estimator = CameraMotionEstimator()
        let frames = [texture(width: 480, height: 270), texture(width: 480, height: 270, dx: 3, dy: 1)]
        _ = estimator.estimate(frames[0], excluding: [])
        let clock = ContinuousClock()
        let runs = 20
        let elapsed = clock.measure {
            for i in 0..<runs { _ = estimator.estimate(frames[(i + 1) % 2], excluding: [Box(x0: 100, y0: 50, x1: 200, y1: 150)]) }
        }
        let ms = Double(elapsed.components.attoseconds) / 1e15 / Double(runs) + Double(elapsed.components.seconds) * 1000 / Double(runs)
        // The budget is < 5 ms on an idle core; the bound leaves room for a loaded test machine.
        #expect(ms < 25, "\(ms) ms per estimate")
        print("camera motion at 480x270: \(String(format: "%.2f", ms)) ms per estimate")
    }
}
