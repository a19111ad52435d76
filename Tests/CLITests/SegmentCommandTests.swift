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

    @Test("--precision bf16 segments as fp32 does within bf16 rounding; without AVX512_BF16 it is a clear error")
    func bf16Precision() throws {
        let dir = try temporaryFolder("segment-bf16")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try Self.fixtureImage(in: dir)
        let stages = try SafetensorsFile(url: Fixtures.url("sam_tiny_win_stages.safetensors"))
        let box = try stages.tensor(named: "case0.box").storage.map { String($0) }.joined(separator: ",")
        func segment(_ precision: String, _ environment: [String: String] = [:]) throws -> (CLIRunner.Result, URL) {
            let out = dir.appendingPathComponent(precision + environment.keys.joined())
            let r = try CLIRunner.run(["segment", image.path, "--model", Fixtures.url("sam_tiny_win.pth").path, "--box", box,
                                       "--precision", precision, "--out", out.path], environment: environment)
            return (r, out)
        }
        let refused = try segment("bf16", ["STABLESAM_BF16": "off"])
        #expect(refused.0.status != 0 && refused.0.stderr.contains("AVX512_BF16") && refused.0.stderr.contains("--precision fp32"),
                "\(refused.0.stderr)")
        guard BLAS.bf16Available else { return }
        let (fp32, fp32Out) = try segment("fp32")
        let (bf16, bf16Out) = try segment("bf16")
        #expect(fp32.status == 0 && bf16.status == 0, "\(fp32.stderr) \(bf16.stderr)")
        let a = try ImageReader.readGray(fp32Out.appendingPathComponent("mask.png")).pixels.map { $0 / 255 }
        let b = try ImageReader.readGray(bf16Out.appendingPathComponent("mask.png")).pixels.map { $0 / 255 }
        let iou = MaskMetrics.iou(a, b)
        #expect(iou >= 0.9, "bf16 vs fp32 mask IoU \(iou)")
        // The products really ran in bf16: the predicted IoU moves by bf16's rounding, not by nothing.
        func predicted(_ out: URL) throws -> Double {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("result.json"))) as! [String: Any]
            return ((json["masks"] as! [[String: Any]])[0]["predicted_iou"] as! NSNumber).doubleValue
        }
        let shift = abs(try predicted(fp32Out) - predicted(bf16Out))
        #expect(shift > 1e-5 && shift < 0.05, "predicted IoU moved by \(shift)")
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
