import Foundation
import Imaging
import Metrics
import Testing

@Suite("COCO RLE forms")
struct RLEFormatTests {
    /// 3x2 (h x w), row-major:  1 0 / 1 1 / 0 1  ->  column-major 1 1 0 0 1 1.
    let mask: [Bool] = [true, false, true, true, false, true]

    @Test("runs are column-major and start with a (here empty) run of zeros")
    func columnMajorRuns() {
        let rle = RLE.encode(mask: mask, height: 3, width: 2)
        #expect(rle.counts == [0, 2, 2, 2])
        #expect(rle.area == 4)
        #expect(rle.boundingBox == Box(x: 0, y: 0, width: 2, height: 3))
    }

    @Test("JSON holds size as [h, w] and the compressed counts")
    func jsonRoundTrip() throws {
        let rle = RLE.encode(mask: mask, height: 3, width: 2)
        let data = try JSONEncoder().encode(rle)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["size"] as? [Int] == [3, 2])
        #expect(object["counts"] as? String == rle.compressedCounts)
        #expect(try JSONDecoder().decode(RLE.self, from: data) == rle)
    }

    @Test("JSON with uncompressed counts decodes too")
    func uncompressedJSON() throws {
        let json = Data(#"{"size": [3, 2], "counts": [0, 2, 2, 2]}"#.utf8)
        let rle = try JSONDecoder().decode(RLE.self, from: json)
        #expect(rle.decode() == mask)
    }

    @Test("counts that do not cover the mask are rejected")
    func wrongTotal() {
        #expect(throws: MetricsError.self) { try RLE(height: 3, width: 2, counts: [1, 2]) }
        #expect(throws: MetricsError.self) { try RLE(compressedCounts: "0b0", height: 3, width: 2) }
    }

    @Test("a string with characters outside '0'...'o' or a cut-off count is rejected")
    func badStrings() {
        #expect(throws: MetricsError.invalidCompressedCounts("character 1 is outside '0'...'o'")) {
            try RLE(compressedCounts: "0 ", height: 1, width: 1)
        }
        // 'P' = 0x20 + 48: "more follows", then the string ends.
        #expect(throws: MetricsError.invalidCompressedCounts("ends in the middle of a count")) {
            try RLE(compressedCounts: "P", height: 1, width: 1)
        }
    }

    @Test("a mask of 0/255 bytes encodes like a 0/1 mask")
    func byteMaskAnyNonzero() {
        let bytes: [UInt8] = mask.map { $0 ? 255 : 0 }
        #expect(RLE.encode(mask: bytes, height: 3, width: 2) == RLE.encode(mask: mask, height: 3, width: 2))
    }
}

@Suite("mask IoU by hand")
struct MaskIoUTests {
    @Test("two empty masks score 1 (DAVIS convention)")
    func emptyVsEmpty() {
        #expect(MaskMetrics.iou([Bool](repeating: false, count: 6), [Bool](repeating: false, count: 6)) == 1.0)
    }

    @Test("an empty mask against one pixel scores 0")
    func emptyVsOnePixel() {
        var b = [Bool](repeating: false, count: 6)
        b[4] = true
        #expect(MaskMetrics.iou([Bool](repeating: false, count: 6), b) == 0.0)
        #expect(MaskMetrics.iou(b, b) == 1.0)
    }

    @Test("partial overlap: 2 shared pixels of 5 in the union give 0.4")
    func partialOverlap() {
        // a = columns 0-2 of row 0 and column 0 of row 1; b = columns 1-2 of row 0 and column 3 of row 1.
        let a: [UInt8] = [1, 1, 1, 0,
                          1, 0, 0, 0]
        let b: [UInt8] = [0, 1, 1, 0,
                          0, 0, 0, 1]
        #expect(MaskMetrics.iou(a, b) == 2.0 / 5.0)
        #expect(MaskMetrics.area(a) == 4)
        #expect(MaskMetrics.boundingBox(b, height: 2, width: 4) == Box(x: 1, y: 0, width: 3, height: 2))
    }

    @Test("an empty mask has the all-zero box, as pycocotools reports")
    func emptyBox() {
        #expect(MaskMetrics.boundingBox([Bool](repeating: false, count: 12), height: 3, width: 4) == .empty)
    }
}
