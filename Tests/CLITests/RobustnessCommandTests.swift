// `stablesam robustness` end to end with the tiny random-weight checkpoint: it runs, reports every
// prompt type, and its numbers are in range and repeat for the same seed.
import Foundation
import Imaging
import Testing
import TestSupport
import VideoIO

struct RobustnessJSON: Decodable, Equatable {
    struct Scores: Decodable, Equatable {
        let kind: String; let objects: Int; let drawsPerObject: Int
        let mIoU: Double?; let mBIoU: Double?; let stability: Double?; let pairwiseIoU: Double?
        enum CodingKeys: String, CodingKey {
            case kind, objects, drawsPerObject = "draws_per_object", mIoU = "miou", mBIoU = "mbiou", stability
            case pairwiseIoU = "pairwise_iou"
        }
    }
    struct Engine: Decodable, Equatable { let name: String; let scores: [Scores] }
    let objects: Int
    let engines: [Engine]
}

@Suite("stablesam robustness")
struct RobustnessCommandTests {
    static let model = Fixtures.url("sam_tiny_win.pth").path

    /// One 48x40 image with two objects (palette PNG ground truth).
    func makeDataset(in dir: URL) throws -> (images: URL, masks: URL) {
        let images = dir.appendingPathComponent("images"), masks = dir.appendingPathComponent("masks")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
        var image = RGBImage(width: 48, height: 40, fill: RGBColor(r: 30, g: 40, b: 50))
        var indices = [UInt8](repeating: 0, count: 48 * 40)
        for y in 8..<24 { for x in 10..<30 { image[x, y] = RGBColor(r: 220, g: 180, b: 40); indices[y * 48 + x] = 1 } }
        for y in 28..<36 { for x in 34..<44 { image[x, y] = RGBColor(r: 40, g: 200, b: 90); indices[y * 48 + x] = 2 } }
        try ImageWriter.writePNG(image, to: images.appendingPathComponent("scene.png"))
        try ImageWriter.writePNG(IndexedImage(width: 48, height: 40, indices: indices), to: masks.appendingPathComponent("scene.png"))
        return (images, masks)
    }

    @Test("the sweep runs on the tiny checkpoint and gives in-range, repeatable scores for all nine prompt types")
    func sweep() throws {
        let dir = try temporaryFolder("stablesam-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (images, masks) = try makeDataset(in: dir)

        func sweepOnce(_ name: String) throws -> RobustnessJSON {
            let json = dir.appendingPathComponent(name)
            let run = try CLIRunner.run(["robustness", "--images", images.path, "--masks", masks.path,
                                   "--model", Self.model, "--draws", "3", "--seed", "5",
                                   "--threads", "1", "--json", json.path, "--html", dir.appendingPathComponent("r.html").path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("10 points"))
            return try JSONDecoder().decode(RobustnessJSON.self, from: Data(contentsOf: json))
        }
        let first = try sweepOnce("a.json")
        #expect(first.objects == 2)
        let scores = first.engines[0].scores
        #expect(scores.count == 9)
        #expect(scores[0].kind == "GT box" && scores[0].drawsPerObject == 1 && scores[0].stability == nil)
        for s in scores {
            #expect(s.objects == 2)
            for v in [s.mIoU, s.mBIoU, s.stability, s.pairwiseIoU].compactMap({ $0 }) { #expect(v >= 0 && v <= 1) }
            if s.kind != "GT box" { #expect(s.drawsPerObject == 3 && s.stability != nil && s.pairwiseIoU != nil) }
        }
        #expect(try sweepOnce("b.json") == first)
    }

    @Test("--plugin runs SAM and Stable-SAM side by side on the same prompts")
    func pluginSideBySide() throws {
        let dir = try temporaryFolder("stablesam-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (images, masks) = try makeDataset(in: dir)
        let json = dir.appendingPathComponent("r.json")
        let run = try CLIRunner.run(["robustness", "--images", images.path, "--masks", masks.path, "--model", Self.model,
                                     "--plugin", Fixtures.url("plugin_tiny_large.safetensors").path, "--draws", "3",
                                     "--json", json.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Stable-SAM mIoU"), "\(run.stdout)")
        struct Report: Decodable { struct Engine: Decodable { let name: String }; let engines: [Engine] }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: json))
        #expect(report.engines.map(\.name) == ["SAM", "Stable-SAM"])
    }
}
