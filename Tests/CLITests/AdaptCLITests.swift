import Foundation
import Metrics
import Testing
import TestSupport
import VideoIO

/// `--adapt` end to end on the `win` tiny model: the plugin is trained on the start frame, saved in
/// the output folder, named in the manifest and used for the masks.
@Suite("segment and track --adapt", .serialized)
struct AdaptCLITests {
    static let model = Fixtures.url("sam_tiny_win.pth").path
    /// A box the tiny model answers with a non-empty mask on the fixture image (case 0 of its fixtures).
    static let box = "20,15,70,55"

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    @Test("segment --adapt writes the adapted plugin, result.json names it, and the route comes from it")
    func segmentAdapt() throws {
        let dir = try temporaryFolder("adapt-seg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try SegmentCommandTests.fixtureImage(in: dir)
        let out = dir.appendingPathComponent("out")
        let r = try CLIRunner.run(["segment", image.path, "--model", Self.model, "--box", Self.box, "--plugin", "none",
                                   "--adapt", "--adapt-steps", "3", "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let file = out.appendingPathComponent("adapted_plugin.safetensors")
        #expect(FileManager.default.fileExists(atPath: file.path))
        let result = try json(out.appendingPathComponent("result.json"))
        #expect(result["plugin"] as? String == file.path)
        #expect((result["route"] as? [Double])?.count == 2, "the adapted plugin ran")
        #expect(r.stderr.contains("from an identity plugin"))
    }

    @Test("segment --mask: the target file is checked (size, needs --adapt, needs a target)")
    func segmentMaskTarget() throws {
        let dir = try temporaryFolder("adapt-mask")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try SegmentCommandTests.fixtureImage(in: dir)
        func mask(_ w: Int, _ h: Int, name: String) throws -> String {
            let pixels = (0..<(w * h)).map { i -> UInt8 in (i % w > w / 4 && i % w < w / 2 && i / w > h / 4 && i / w < h / 2) ? 255 : 0 }
            let url = dir.appendingPathComponent(name)
            try ImageWriter.writePNG(GrayImage(width: w, height: h, pixels: pixels), to: url)
            return url.path
        }
        let good = try mask(96, 72, name: "good.png"), bad = try mask(40, 30, name: "bad.png")
        let ok = try CLIRunner.run(["segment", image.path, "--model", Self.model, "--point", "40,30", "--plugin", "none",
                                    "--adapt", "--adapt-steps", "2", "--mask", good, "--out", dir.appendingPathComponent("ok").path])
        #expect(ok.status == 0, "stderr: \(ok.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ok/adapted_plugin.safetensors").path))
        let wrong = try CLIRunner.run(["segment", image.path, "--model", Self.model, "--box", Self.box, "--adapt", "--mask", bad,
                                       "--out", dir.appendingPathComponent("wrong").path])
        #expect(wrong.status != 0 && wrong.stderr.contains("40x30") && wrong.stderr.contains("96x72"), "\(wrong.stderr)")
        let noAdapt = try CLIRunner.run(["segment", image.path, "--model", Self.model, "--box", Self.box, "--mask", good,
                                         "--out", dir.appendingPathComponent("x").path])
        #expect(noAdapt.status != 0 && noAdapt.stderr.contains("--adapt"), "\(noAdapt.stderr)")
        let noTarget = try CLIRunner.run(["segment", image.path, "--model", Self.model, "--point", "40,30", "--adapt",
                                          "--out", dir.appendingPathComponent("y").path])
        #expect(noTarget.status != 0 && noTarget.stderr.contains("needs a target"), "\(noTarget.stderr)")
    }

    /// An image folder of the fixture image: the tiny model finds the box's object on it.
    func frames(in dir: URL, count: Int = 3) throws -> URL {
        let image = try SegmentCommandTests.fixtureImage(in: dir)
        let folder = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<count { try FileManager.default.copyItem(at: image, to: folder.appendingPathComponent(String(format: "%05d.png", i))) }
        return folder
    }

    @Test("track --adapt: the adapted plugin is saved, summary.json names it and its figures, frames carry its route")
    func trackAdapt() throws {
        let dir = try temporaryFolder("adapt-track")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try frames(in: dir)
        let out = dir.appendingPathComponent("out")
        let r = try CLIRunner.run(["track", folder.path, "--model", Self.model, "--box", Self.box, "--plugin", "none",
                                   "--adapt", "--adapt-steps", "3", "--min-score=-100", "--quiet", "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let file = out.appendingPathComponent("adapted_plugin.safetensors")
        #expect(FileManager.default.fileExists(atPath: file.path))
        let summary = try json(out.appendingPathComponent("summary.json"))
        #expect(summary["plugin"] as? String == file.path)
        let adaptation = try #require(summary["adaptation"] as? [String: Any])
        #expect(adaptation["file"] as? String == "adapted_plugin.safetensors")
        #expect(adaptation["started_from"] == nil || adaptation["started_from"] is NSNull)
        let report = try #require(adaptation["report"] as? [String: Any])
        #expect(report["steps"] as? Int == 3 && report["prompts"] as? Int == 12)
        #expect(report["noisy_iou_before"] is Double && report["noisy_iou_after"] is Double)
        let frame = try FrameJSON.read(out.appendingPathComponent("frames/000000.json"))
        #expect(frame.objects.allSatisfy { $0.route?.count == 2 })
    }

    @Test("track --adapt with --route regular is refused: that route never runs the plugin")
    func regularRefused() throws {
        let dir = try temporaryFolder("adapt-regular")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try frames(in: dir)
        let r = try CLIRunner.run(["track", folder.path, "--model", Self.model, "--box", Self.box, "--plugin", "none",
                                   "--route", "regular", "--adapt", "--quiet", "--out", dir.appendingPathComponent("out").path])
        #expect(r.status != 0 && r.stderr.contains("regular"), "\(r.stderr)")
    }

    @Test("an interrupted --adapt run resumes with the plugin it adapted, not a new one")
    func resumeReloads() throws {
        let dir = try temporaryFolder("adapt-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try frames(in: dir, count: 150)
        let out = dir.appendingPathComponent("out")
        let args = ["track", folder.path, "--model", Self.model, "--box", Self.box, "--plugin", "none", "--adapt", "--adapt-steps", "2",
                    "--min-score=-100", "--threads", "1", "--out", out.path]
        let process = Process()
        process.executableURL = try CLIRunner.executable
        process.arguments = args
        process.standardError = FileHandle.nullDevice
        try process.run()
        let frames = out.appendingPathComponent("frames")
        func done() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: frames.path).count) ?? 0 }
        let deadline = Date().addingTimeInterval(60)
        while done() < 3 && Date() < deadline && process.isRunning { usleep(20_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        try #require(process.terminationStatus == 130, "the run finished before it could be interrupted")
        let file = out.appendingPathComponent("adapted_plugin.safetensors")
        let adapted = try Data(contentsOf: file)
        let resumed = try CLIRunner.run(args + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming with the plugin adapted by the earlier run"), "\(resumed.stderr)")
        #expect(try Data(contentsOf: file) == adapted)
        let summary = try json(out.appendingPathComponent("summary.json"))
        #expect(summary["plugin"] as? String == file.path)
        #expect((summary["adaptation"] as? [String: Any])?["file"] as? String == "adapted_plugin.safetensors")
    }

    @Test("track --adapt --mask: ids pick each object's pixels; another size or a missing object is refused before loading")
    func trackMaskTargets() throws {
        let dir = try temporaryFolder("adapt-track-mask")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try frames(in: dir)
        func write(_ w: Int, _ h: Int, ids: [UInt8], name: String) throws -> String {
            // Object ids[k] fills the k-th vertical band of the left half.
            let pixels = (0..<(w * h)).map { i -> UInt8 in
                let x = i % w, band = x / max(1, w / (2 * ids.count))
                return x < w / 2 && band < ids.count ? ids[band] : 0
            }
            let url = dir.appendingPathComponent(name)
            try ImageWriter.writePNG(GrayImage(width: w, height: h, pixels: pixels), to: url)
            return url.path
        }
        let both = try write(96, 72, ids: [1, 2], name: "both.png"), only1 = try write(96, 72, ids: [1], name: "one.png")
        let small = try write(50, 40, ids: [1, 2], name: "small.png")
        func track(_ mask: String, _ name: String) throws -> CLIRunner.Result {
            try CLIRunner.run(["track", folder.path, "--model", Self.model, "--box", Self.box, "--box", "5,5,30,30", "--plugin", "none",
                               "--adapt", "--adapt-steps", "2", "--mask", mask, "--min-score=-100", "--quiet",
                               "--out", dir.appendingPathComponent(name).path])
        }
        let ok = try track(both, "ok")
        #expect(ok.status == 0, "\(ok.stderr)")
        let summary = try json(dir.appendingPathComponent("ok/summary.json"))
        let report = try #require((summary["adaptation"] as? [String: Any])?["report"] as? [String: Any])
        #expect(report["target_areas"] as? [Int] == [24 * 72, 24 * 72])
        let missing = try track(only1, "missing")
        #expect(missing.status != 0 && missing.stderr.contains("object 2"), "\(missing.stderr)")
        let wrong = try track(small, "wrong")
        #expect(wrong.status != 0 && wrong.stderr.contains("50x40"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("wrong").path), "refused before any output")
    }
}
