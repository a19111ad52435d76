import Foundation
import Imaging
import Metrics
import NN
import Tensor
import Testing
import TestSupport
import VideoIO

/// `stablesam segment` end to end on the tiny official-code fixture (Scripts/make_fixtures.py, config `win`).
@Suite("segment command")
struct SegmentCommandTests {
    /// The fixture's 96x72 test image written as PNG, so the CLI reads it through FFmpeg.
    static func fixtureImage(in dir: URL) throws -> URL {
        let stages = try SafetensorsFile(url: Fixtures.url("sam_tiny_win_stages.safetensors"))
        let (shape, pixels) = try stages.uint8(named: "image")
        let url = dir.appendingPathComponent("image.png")
        try ImageWriter.writePNG(RGBImage(width: shape[1], height: shape[0], pixels: pixels), to: url)
        return url
    }

    @Test("writes mask, overlay and result.json that agree with the reference masks")
    func writesOutputs() throws {
        let dir = try temporaryFolder("segment")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try Self.fixtureImage(in: dir)
        let stages = try SafetensorsFile(url: Fixtures.url("sam_tiny_win_stages.safetensors"))
        let box = try stages.tensor(named: "case0.box").storage.map { String($0) }.joined(separator: ",")
        let out = dir.appendingPathComponent("out")
        let r = try CLIRunner.run(["segment", image.path, "--model", Fixtures.url("sam_tiny_win.pth").path,
                                   "--box", box, "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")

        let mask = try ImageReader.readGray(out.appendingPathComponent("mask.png"))
        #expect(mask.width == 96 && mask.height == 72)
        #expect(Set(mask.pixels).isSubset(of: [0, 255]))
        let (_, expected) = try stages.uint8(named: "case0.masks")
        let iou = MaskMetrics.iou(mask.pixels.map { $0 / 255 }, expected)
        #expect(iou >= 0.999, "mask IoU vs official SamPredictor: \(iou)")

        let overlay = try ImageReader.read(out.appendingPathComponent("overlay.png"))
        #expect(overlay.width == 96 && overlay.height == 72)

        struct Result: Decodable {
            struct Mask: Decodable { let rle: RLE; let predicted_iou: Float; let area: Int }
            let masks: [Mask]; let best: Int; let width: Int; let height: Int
        }
        let json = try JSONDecoder().decode(Result.self, from: Data(contentsOf: out.appendingPathComponent("result.json")))
        #expect(json.masks.count == 1 && json.width == 96 && json.height == 72)
        let decoded = json.masks[0].rle.decodeUInt8()
        #expect(decoded == mask.pixels.map { $0 / 255 }, "result.json RLE must decode to mask.png")
        #expect(json.masks[0].area == mask.pixels.filter { $0 == 255 }.count)
        let expectedIou = try stages.tensor(named: "case0.iou").storage[0]
        #expect(abs(json.masks[0].predicted_iou - expectedIou) < 1e-3)
    }

    @Test("multimask writes one PNG per candidate and picks the best as mask.png")
    func multimask() throws {
        let dir = try temporaryFolder("segment-mm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try Self.fixtureImage(in: dir)
        let out = dir.appendingPathComponent("out")
        let r = try CLIRunner.run(["segment", image.path, "--model", Fixtures.url("sam_tiny_win.pth").path,
                                   "--point", "30,40", "--point", "70,20,0", "--multimask", "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        for k in 0..<3 { #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("mask_\(k).png").path)) }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("mask.png").path))
    }
}
