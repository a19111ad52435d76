// Hand-computed cases for J, the DAVIS boundary map and F, and a parity fixture for F from the
// DAVIS challenge's own f_measure (Scripts/make_davis_fixtures.py, davisinteractive==1.0.4, seed 20240612;
// repro of one case: f_measure(gt, pred) with the masks unpacked from the fixture's hex).
import Foundation
import Metrics
import TestSupport
import Testing

/// A mask from rows of "#" (foreground) and "." (background).
func mask(_ rows: [String]) -> BinaryMask {
    let w = rows.first?.count ?? 0
    return BinaryMask(width: w, height: rows.count, bits: rows.flatMap { $0.map { $0 == "#" } })
}

func rows(_ bits: [Bool], width: Int) -> [String] {
    stride(from: 0, to: bits.count, by: width).map { String(bits[$0..<($0 + width)].map { $0 ? "#" : "." }) }
}

@Suite("J and F")
struct DAVISMeasureTests {
    @Test("J of two empty masks is 1, as DAVIS scores an absent object predicted absent")
    func jBothEmpty() {
        #expect(MaskMetrics.iou(BinaryMask.empty(width: 4, height: 3), .empty(width: 4, height: 3)) == 1)
    }

    @Test("J of an empty prediction against a one-pixel object is 0, and of the same pixel is 1")
    func jOnePixel() {
        let gt = mask(["...", ".#.", "..."])
        #expect(MaskMetrics.iou(.empty(width: 3, height: 3), gt) == 0)
        #expect(MaskMetrics.iou(gt, gt) == 1)
        #expect(MaskMetrics.iou(mask(["...", "..#", "..."]), gt) == 0)
    }

    @Test("J ignores void pixels in both intersection and union")
    func jVoid() {
        let p = mask(["##..", "...."]), g = mask(["#...", "#..."])
        #expect(MaskMetrics.iou(p, g) == 1.0 / 3)
        let void = [false, true, false, false, false, false, false, false]
        #expect(MaskMetrics.iou(p, g, void: void) == 0.5)
    }

    @Test("the boundary map of a 2x2 square marks the pixels above and left of each edge")
    func boundaryOfSquare() {
        let b = BoundaryMeasure.boundaryMap(mask(["....", ".##.", ".##.", "...."]))
        #expect(rows(b, width: 4) == ["###.", "#.#.", "###.", "...."])
    }

    @Test("the boundary map of one pixel is the 2x2 block ending at it")
    func boundaryOfOnePixel() {
        let b = BoundaryMeasure.boundaryMap(mask(["....", ".#..", "....", "...."]))
        #expect(rows(b, width: 4) == ["##..", "##..", "....", "...."])
    }

    @Test("the boundary map keeps DAVIS's quirk: no boundary along the bottom and right image edges")
    func boundaryAtImageEdge() {
        let b = BoundaryMeasure.boundaryMap(mask(["...", ".##", ".##"]))
        #expect(rows(b, width: 3) == ["###", "#..", "#.."])
    }

    @Test("the tolerance is ceil(0.008 x diagonal): 8 pixels at DAVIS 480p, 1 for tiny images")
    func radius() {
        #expect(BoundaryMeasure.radius(threshold: 0.008, width: 854, height: 480) == 8)
        #expect(BoundaryMeasure.radius(threshold: 0.008, width: 4, height: 4) == 1)
        #expect(BoundaryMeasure.radius(threshold: 3, width: 854, height: 480) == 3)
        #expect(BoundaryMeasure.diskOffsets(radius: 1).count == 5)
        #expect(BoundaryMeasure.diskOffsets(radius: 2).count == 13)
    }

    @Test("F follows DAVIS's empty-mask rules: both empty 1, either one empty 0")
    func fEmpty() {
        let e = BinaryMask.empty(width: 5, height: 5), one = mask([".....", ".....", "..#..", ".....", "....."])
        #expect(BoundaryMeasure.fMeasure(prediction: e, groundTruth: e) == BoundaryScore(precision: 1, recall: 1, f: 1))
        #expect(BoundaryMeasure.fMeasure(prediction: e, groundTruth: one) == BoundaryScore(precision: 1, recall: 0, f: 0))
        #expect(BoundaryMeasure.fMeasure(prediction: one, groundTruth: e) == BoundaryScore(precision: 0, recall: 1, f: 0))
    }

    @Test("F of one-pixel objects two pixels apart with a 1-pixel tolerance is 0.5")
    func fOnePixelShift() {
        // Boundaries: prediction (1,1) (2,1) (1,2) (2,2); ground truth (3,1) (4,1) (3,2) (4,2).
        // Only the facing column of each is within 1 pixel of the other: P = R = 2/4.
        var p = BinaryMask.empty(width: 10, height: 10), g = p
        p[2, 2] = true
        g[4, 2] = true
        let s = BoundaryMeasure.fMeasure(prediction: p, groundTruth: g, threshold: 1)
        #expect(s == BoundaryScore(precision: 0.5, recall: 0.5, f: 0.5))
        // One pixel apart, every boundary pixel has a partner within the disk.
        var q = BinaryMask.empty(width: 10, height: 10)
        q[3, 2] = true
        #expect(BoundaryMeasure.fMeasure(prediction: p, groundTruth: q, threshold: 1).f == 1)
    }

    @Test("F clears void pixels from both masks before taking boundaries")
    func fVoid() {
        let p = mask(["......", ".##...", ".##...", "......"]), g = mask(["......", "...##.", "...##.", "......"])
        #expect(BoundaryMeasure.fMeasure(prediction: p, groundTruth: g, threshold: 1).f < 1)
        // Voiding the ground truth's columns leaves it empty: P = 0, R = 1, F = 0.
        let void = (0..<24).map { $0 % 6 >= 3 }
        #expect(BoundaryMeasure.fMeasure(prediction: p, groundTruth: g, void: void, threshold: 1)
                == BoundaryScore(precision: 0, recall: 1, f: 0))
    }

    @Test("F matches the DAVIS challenge's f_measure on every fixture case", arguments: DAVISFixture.load().cases)
    func fParity(_ c: DAVISFixture.Case) {
        let f = BoundaryMeasure.fMeasure(prediction: c.prediction, groundTruth: c.groundTruth).f
        #expect(abs(f - c.f) <= 1e-12, "\(c.name): \(f) vs DAVIS \(c.f)")
    }
}

struct DAVISFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let height: Int
        let width: Int
        let predictionHex: String
        let groundTruthHex: String
        let f: Double
        var testDescription: String { name }
        var prediction: BinaryMask { BinaryMask(width: width, height: height, bits: Self.unpack(predictionHex, height * width)) }
        var groundTruth: BinaryMask { BinaryMask(width: width, height: height, bits: Self.unpack(groundTruthHex, height * width)) }

        static func unpack(_ hex: String, _ count: Int) -> [Bool] {
            let h = Array(hex.utf8)
            var bits: [Bool] = []
            for i in stride(from: 0, to: h.count, by: 2) {
                let byte = UInt8(String(decoding: h[i..<i + 2], as: UTF8.self), radix: 16)!
                for b in (0..<8).reversed() { bits.append(byte >> b & 1 == 1) }
            }
            return Array(bits.prefix(count))
        }
    }
    let cases: [Case]

    static func load() -> DAVISFixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(DAVISFixture.self, from: Data(contentsOf: Fixtures.url("davis_f_cases.json")))
        } catch {
            fatalError("davis_f_cases.json unreadable (\(error)): regenerate with Scripts/make_davis_fixtures.py")
        }
    }
}
