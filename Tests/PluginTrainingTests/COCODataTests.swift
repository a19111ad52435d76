import Foundation
import Imaging
import Metrics
import PluginTraining
import Testing
import TestSupport
import VideoIO

@Suite("train-plugin reads COCO instances files")
struct COCODataTests {
    /// Rows of a row-major mask as strings of 0/1.
    func rows(_ m: BinaryMask) -> [String] {
        (0..<m.height).map { y in String((0..<m.width).map { m[$0, y] ? "1" : "0" }) }
    }

    @Test("a polygon covers exactly the pixels whose centre lies inside it (hand-computed triangle and square)")
    func polygonRaster() {
        // Triangle (0,0) (4,0) (0,4): centre (x+.5, y+.5) inside iff x + y < 3; centres on the
        // hypotenuse (x + y = 3) lie on a right edge and are outside.
        let triangle = PolygonRaster.fill([[0, 0, 4, 0, 0, 4]], width: 5, height: 5)
        #expect(rows(triangle) == ["11100", "11000", "10000", "00000", "00000"])
        // Square [1, 4) x [1, 4): pixels 1...3 both ways; a second polygon is united with it.
        let two = PolygonRaster.fill([[1, 1, 4, 1, 4, 4, 1, 4], [5, 0, 6, 0, 6, 1, 5, 1]], width: 6, height: 5)
        #expect(rows(two) == ["000001", "011100", "011100", "011100", "000000"])
    }

    /// h = 3, w = 4, column-major runs [1, 2, 4, 5]: column 0 = 0 1 1, column 1 = 0 0 0, column 2 =
    /// 0 1 1, column 3 = 1 1 1. pycocotools' compressed string of those runs is "1243" (the fourth
    /// count stored as 5 - 2 = 3).
    static let rleRows = ["0001", "1011", "1011"]

    func writeCOCO(_ dir: URL, segmentations: [String]) throws -> URL {
        let small = RGBImage(width: 4, height: 3, pixels: (0..<36).map { UInt8($0 * 7) })
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        try ImageWriter.writePNG(small, to: dir.appendingPathComponent("images/a.png"))
        let annotations = segmentations.enumerated().map { i, s in
            #"{"id": \#(i + 10), "image_id": 7, "category_id": 1, "iscrowd": 0, "segmentation": \#(s)}"#
        }
        let json = #"{"images": [{"id": 7, "file_name": "a.png", "width": 4, "height": 3}], "annotations": [\#(annotations.joined(separator: ","))]}"#
        let url = dir.appendingPathComponent("annotations/instances.json")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test("RLE segmentations, compressed and uncompressed, and polygons decode to the hand-computed masks")
    func cocoFile() throws {
        let dir = try temporaryFolder("coco")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try writeCOCO(dir, segmentations: [
            #"{"size": [3, 4], "counts": "1243"}"#,
            #"{"size": [3, 4], "counts": [1, 2, 4, 5]}"#,
            "[[0, 0, 2, 0, 2, 2, 0, 2]]",
        ])
        let data = try TrainingDataset.open(url.path)
        #expect(data.layout == .coco)
        // The images are found in ../images beside annotations/.
        #expect(data.images.map(\.lastPathComponent) == ["a.png"])
        #expect(data.stills.count == 3)
        #expect(rows(try data.stills[0].object.read()) == Self.rleRows)
        #expect(rows(try data.stills[1].object.read()) == Self.rleRows)
        #expect(rows(try data.stills[2].object.read()) == ["1100", "1100", "0000"])
    }

    @Test("a COCO file whose image is nowhere, or whose annotation is empty, is refused naming the file")
    func cocoErrors() throws {
        let dir = try temporaryFolder("coco-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try writeCOCO(dir, segmentations: ["[[0.1, 0.1, 0.3, 0.1, 0.3, 0.3]]"])
        let empty = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(url.path) }
        #expect(empty == .emptyAnnotation(json: url.path, annotation: 10, image: "a.png"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("images"))
        let missing = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(url.path) }
        #expect("\(missing!)".contains("names image a.png") && "\(missing!)".contains("--images"), "\(missing!)")
        try Data("{\"images\": 3}".utf8).write(to: url)
        let bad = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(url.path) }
        #expect("\(bad!)".hasPrefix("\(url.path) is not a COCO instances file"))
    }

    @Test("an RLE of another size than its image is refused naming the file; a polygon far outside the image is clipped, not a crash")
    func cocoOddSegmentations() throws {
        let dir = try temporaryFolder("coco-odd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try writeCOCO(dir, segmentations: [#"{"size": [4, 3], "counts": [1, 11]}"#])
        let error = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(url.path) }
        #expect(error == .badCOCO(file: url.path, reason: "annotation 10: its RLE size is not its image's 4x3"))
        let wild = PolygonRaster.fill([[-1e300, -1e300, 1e300, -1e300, 1e300, 1e300, -1e300, 1e300]], width: 4, height: 3)
        #expect(wild.area == 12)
    }
}
