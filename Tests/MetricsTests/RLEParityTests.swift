// Golden tests against pycocotools. Fixture: Scripts/make_rle_fixtures.py
// (pycocotools==2.0.11, numpy==2.4.6, seed 20240611); repro of one case:
//   mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"]
import Foundation
import Metrics
import TestSupport
import Testing

struct RLEFixture: Decodable, Sendable {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        let name: String
        let height: Int
        let width: Int
        let maskHex: String
        let counts: String
        let area: Int
        let bbox: [Double]
        var testDescription: String { name }

        /// Row-major mask from numpy.packbits (most significant bit first).
        var mask: [Bool] {
            let hex = Array(maskHex.utf8)
            var bits: [Bool] = []
            bits.reserveCapacity(hex.count * 4)
            for i in stride(from: 0, to: hex.count, by: 2) {
                let byte = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16)!
                for b in (0..<8).reversed() { bits.append(byte >> b & 1 == 1) }
            }
            return Array(bits.prefix(height * width))
        }
    }
    struct IoU: Decodable, Sendable {
        let a: String
        let b: String
        let iou: Double
    }
    let versions: [String: String]
    let cases: [Case]
    let ious: [IoU]

    static let shared: RLEFixture = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = try! Data(contentsOf: Fixtures.url("rle_cases.json"))
        return try! decoder.decode(RLEFixture.self, from: data)
    }()
}

@Suite("COCO RLE matches pycocotools")
struct RLEParityTests {
    @Test("the fixture was written by the pinned pycocotools and covers the edge cases")
    func fixtureIsComplete() {
        let fixture = RLEFixture.shared
        #expect(fixture.versions["pycocotools"] == "2.0.11")
        let names = Set(fixture.cases.map(\.name))
        for needed in ["empty 5x4", "full 6x3", "one pixel 7x13", "blobs 200x300"] {
            #expect(names.contains(needed))
        }
    }

    @Test("encoding a mask gives pycocotools' compressed counts string", arguments: RLEFixture.shared.cases)
    func encodeMatchesString(_ c: RLEFixture.Case) {
        let rle = RLE.encode(mask: c.mask, height: c.height, width: c.width)
        #expect(rle.compressedCounts == c.counts)
    }

    @Test("0/1 bytes encode the same as booleans", arguments: RLEFixture.shared.cases)
    func byteMasksEncodeTheSame(_ c: RLEFixture.Case) {
        let bytes = c.mask.map { $0 ? UInt8(1) : 0 }
        #expect(RLE.encode(mask: bytes, height: c.height, width: c.width).compressedCounts == c.counts)
    }

    @Test("pycocotools' string decodes back to the same pixels", arguments: RLEFixture.shared.cases)
    func decodeMatchesMask(_ c: RLEFixture.Case) throws {
        let rle = try RLE(compressedCounts: c.counts, height: c.height, width: c.width)
        let decoded = rle.decode()
        let expected = c.mask
        let wrong = zip(decoded, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(decoded.count == expected.count)
        #expect(wrong == nil, "first wrong pixel at row-major index \(wrong?.offset ?? -1)")
        #expect(rle.decodeUInt8() == expected.map { $0 ? 1 : 0 })
    }

    @Test("area and toBbox match pycocotools", arguments: RLEFixture.shared.cases)
    func areaAndBox(_ c: RLEFixture.Case) throws {
        let rle = try RLE(compressedCounts: c.counts, height: c.height, width: c.width)
        #expect(rle.area == c.area)
        #expect(rle.boundingBox.coco == c.bbox)
        #expect(MaskMetrics.area(c.mask) == c.area)
        #expect(MaskMetrics.boundingBox(c.mask, height: c.height, width: c.width).coco == c.bbox)
    }

    @Test("IoU of non-empty masks matches pycocotools")
    func iouMatches() throws {
        let fixture = RLEFixture.shared
        let masks = Dictionary(uniqueKeysWithValues: fixture.cases.map { ($0.name, $0.mask) })
        for pair in fixture.ious {
            let a = try #require(masks[pair.a]), b = try #require(masks[pair.b])
            #expect(abs(MaskMetrics.iou(a, b) - pair.iou) < 1e-12, "\(pair.a) vs \(pair.b)")
        }
    }
}
