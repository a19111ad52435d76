// `stablesam eval` end to end on small generated sequences in all three input layouts.
import Foundation
import Metrics
import Testing
import TestSupport
import VideoIO

/// A 3-frame, 2-object scene (20x16): object 1 a square moving right, object 2 a fixed bar.
struct Scene {
    static let (width, height, frames) = (20, 16, 3)

    /// Palette indices of frame `t`; `shift` moves object 1 further (a prediction error).
    static func indices(_ t: Int, shift: Int = 0) -> [UInt8] {
        (0..<(width * height)).map { i in
            let (x, y) = (i % width, i / width)
            if x >= 2 + t + shift && x < 7 + t + shift && y >= 2 && y < 7 { return 1 }
            if x >= 12 && x < 18 && y >= 10 && y < 13 { return 2 }
            return 0
        }
    }

    static func writePalette(_ dir: URL, shift: Int = 0, frames: Int = frames) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for t in 0..<frames {
            try ImageWriter.writePNG(IndexedImage(width: width, height: height, indices: indices(t, shift: shift)),
                                     to: dir.appendingPathComponent(String(format: "%05d.png", t)))
        }
    }

    static func writeBinaryFolders(_ dir: URL, shift: Int = 0) throws {
        for id in [1, 2] {
            let sub = dir.appendingPathComponent("\(id)")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for t in 0..<frames {
                let pixels = indices(t, shift: shift).map { Int($0) == id ? UInt8(255) : 0 }
                try ImageWriter.writePNG(GrayImage(width: width, height: height, pixels: pixels),
                                         to: sub.appendingPathComponent(String(format: "%06d.png", t + 1001)))
            }
        }
    }

    static func writeFrameJSON(_ dir: URL, shift: Int = 0) throws {
        let frames = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        for t in 0..<Self.frames {
            let idx = indices(t, shift: shift)
            let objects = [1, 2].map { id -> String in
                let rle = RLE.encode(mask: idx.map { Int($0) == id }, height: height, width: width)
                return "{\"id\": \(id), \"state\": \"tracked\", \"mask\": {\"size\": [\(height), \(width)], \"counts\": \"\(rle.compressedCounts)\"}}"
            }
            let json = "{\"frame\": \(t), \"time\": \(Double(t) / 30), \"objects\": [\(objects.joined(separator: ", "))]}"
            try Data(json.utf8).write(to: frames.appendingPathComponent(String(format: "%06d.json", t)))
        }
    }
}

struct EvalJSON: Decodable {
    struct Group: Decodable { let jMean: Double?; let fMean: Double?; let jAndF: Double?; let objects: Int }
    struct Object: Decodable { let object: String; let jPerFrame: [Double] }
    let overall: Group
    let objects: [Object]
}

@Suite("stablesam eval")
struct EvalCommandTests {
    func evaluate(pred: URL, gt: URL, extra: [String] = []) throws -> (CLIRunner.Result, EvalJSON?) {
        let json = pred.deletingLastPathComponent().appendingPathComponent("report-\(UUID().uuidString).json")
        let run = try CLIRunner.run(["eval", "--pred", pred.path, "--gt", gt.path, "--json", json.path] + extra)
        guard run.status == 0 else { return (run, nil) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (run, try decoder.decode(EvalJSON.self, from: Data(contentsOf: json)))
    }

    @Test("a perfect prediction scores J = F = 1 in every input layout")
    func perfectInEveryLayout() throws {
        let dir = try temporaryFolder("stablesam-cli")
        try Scene.writePalette(dir.appendingPathComponent("gt"))
        try Scene.writePalette(dir.appendingPathComponent("palette"))
        try Scene.writeBinaryFolders(dir.appendingPathComponent("binary"))
        try Scene.writeFrameJSON(dir.appendingPathComponent("track"))
        for pred in ["palette", "binary", "track"] {
            let (run, report) = try evaluate(pred: dir.appendingPathComponent(pred), gt: dir.appendingPathComponent("gt"))
            #expect(run.status == 0, "\(pred): \(run.stderr)")
            #expect(report?.overall.jAndF == 1 && report?.overall.objects == 2, "\(pred)")
            #expect(run.stdout.contains("overall (2 objects)"))
        }
    }

    @Test("a prediction shifted by one pixel scores object 1's J as 20/30 on every frame")
    func shiftedPrediction() throws {
        let dir = try temporaryFolder("stablesam-cli")
        try Scene.writePalette(dir.appendingPathComponent("gt"))
        try Scene.writePalette(dir.appendingPathComponent("pred"), shift: 1)
        let html = dir.appendingPathComponent("report.html")
        let (run, report) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"),
                                         extra: ["--html", html.path])
        #expect(run.status == 0, "\(run.stderr)")
        // 5x5 squares overlapping in 4x5 = 20 pixels, union 30.
        let j: [Double] = report?.objects.first { $0.object == "1" }?.jPerFrame ?? []
        let expected: [Double] = Array(repeating: 20.0 / 30, count: 3)
        #expect(j == expected)
        let page = try String(contentsOf: html, encoding: .utf8)
        // Self-contained: inline SVG, nothing fetched (no src/href, no scripts).
        #expect(page.contains("<svg"))
        #expect(!page.contains("src=") && !page.contains("href=") && !page.contains("<script"))
    }

    @Test("mismatched frame counts fail, naming both folders")
    func frameCountMismatch() throws {
        let dir = try temporaryFolder("stablesam-cli")
        try Scene.writePalette(dir.appendingPathComponent("gt"))
        try Scene.writePalette(dir.appendingPathComponent("pred"), frames: 2)
        let (run, _) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"))
        #expect(run.status != 0)
        #expect(run.stderr.contains("2 frames"))
        #expect(run.stderr.contains(dir.appendingPathComponent("pred").path))
    }

    @Test("a missing object fails unless --allow-missing scores it as empty")
    func missingObject() throws {
        let dir = try temporaryFolder("stablesam-cli")
        try Scene.writePalette(dir.appendingPathComponent("gt"))
        try Scene.writeBinaryFolders(dir.appendingPathComponent("pred"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("pred/2"))
        let (run, _) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"))
        #expect(run.status != 0)
        #expect(run.stderr.contains("no object 2"))
        let (allowed, report) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"),
                                             extra: ["--allow-missing"])
        #expect(allowed.status == 0)
        let j: [Double] = report?.objects.first { $0.object == "2" }?.jPerFrame ?? []
        #expect(j == [0, 0, 0])
    }

    @Test("an unreadable PNG and a frame of another size fail, naming the file")
    func badFiles() throws {
        let dir = try temporaryFolder("stablesam-cli")
        try Scene.writePalette(dir.appendingPathComponent("gt"))
        try Scene.writeBinaryFolders(dir.appendingPathComponent("pred"))
        let broken = dir.appendingPathComponent("pred/1/001002.png")
        try Data("not a png".utf8).write(to: broken)
        let (run, _) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"))
        #expect(run.status != 0)
        #expect(run.stderr.contains(broken.path))

        try ImageWriter.writePNG(GrayImage(width: 8, height: 8, pixels: Array(repeating: 0, count: 64)), to: broken)
        let (sized, _) = try evaluate(pred: dir.appendingPathComponent("pred"), gt: dir.appendingPathComponent("gt"))
        #expect(sized.status != 0)
        #expect(sized.stderr.contains(broken.path))
        #expect(sized.stderr.contains("8x8"))
    }
}
