import Foundation
import Metrics
import Testing
import TestSupport

/// `--plugin` and `--route` end to end, with the plugin fixtures made for the `win` tiny model
/// (Scripts/make_plugin_fixtures.py).
@Suite("segment and track with a Stable-SAM plugin")
struct PluginCLITests {
    struct SegmentJSON: Decodable {
        struct Mask: Decodable { let rle: RLE; let predicted_iou: Float }
        let masks: [Mask]
        let route: [Float]?
        let route_mode: String
        let plugin: String?
    }

    func segment(_ extra: [String], in dir: URL, name: String) throws -> SegmentJSON {
        let image = try SegmentCommandTests.fixtureImage(in: dir)
        let out = dir.appendingPathComponent(name)
        let r = try CLIRunner.run(["segment", image.path, "--model", Fixtures.url("sam_tiny_win.pth").path,
                                   "--box", "20,15,70,55", "--out", out.path] + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return try JSONDecoder().decode(SegmentJSON.self, from: Data(contentsOf: out.appendingPathComponent("result.json")))
    }

    @Test("the route [a1, a2] is reported and sums to one; route regular equals no plugin")
    func segmentRoutes() throws {
        let dir = try temporaryFolder("plugin-seg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plugin = Fixtures.url("plugin_tiny_large.safetensors").path
        let plain = try segment([], in: dir, name: "plain")
        #expect(plain.route == nil && plain.plugin == nil)
        let auto = try segment(["--plugin", plugin], in: dir, name: "auto")
        let route = try #require(auto.route)
        #expect(route.count == 2 && abs(route[0] + route[1] - 1) < 1e-5 && route.allSatisfy { $0 > 0 && $0 < 1 })
        let regular = try segment(["--plugin", plugin, "--route", "regular"], in: dir, name: "regular")
        #expect(regular.masks[0].rle == plain.masks[0].rle)
        #expect(regular.masks[0].predicted_iou == plain.masks[0].predicted_iou)
        let deformable = try segment(["--plugin", plugin, "--route", "deformable"], in: dir, name: "deformable")
        #expect(deformable.route == [1, 0])
        #expect(deformable.masks[0].rle != plain.masks[0].rle, "large random offsets must change the mask")
    }

    @Test("a plugin trained for another model is refused, naming both decoders")
    func widthMismatch() throws {
        let dir = try temporaryFolder("plugin-width")
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try SegmentCommandTests.fixtureImage(in: dir)
        let r = try CLIRunner.run(["segment", image.path, "--model", Fixtures.url("sam_tiny_tinyvit.pth").path,
                                   "--box", "20,15,70,55", "--plugin", Fixtures.url("plugin_tiny_large.safetensors").path,
                                   "--out", dir.appendingPathComponent("o").path])
        #expect(r.status != 0 && r.status < 128)
        #expect(r.stderr.contains("fingerprint") && r.stderr.contains("sam_tiny_win.pth"), "\(r.stderr)")
    }

    @Test("track writes the route of every object in every frame record")
    func trackRoutes() throws {
        let dir = try temporaryFolder("plugin-track")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = dir.appendingPathComponent("clip.mp4")
        try TrackCLI.makeClip(clip, frames: 4)
        let out = dir.appendingPathComponent("out")
        let r = try CLIRunner.run(["track", clip.path, "--box", "2,10,20,28", "--model", TrackCLI.tinyModel,
                                   "--plugin", Fixtures.url("plugin_tiny_large.safetensors").path, "--quiet", "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let frames = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("frames").path).sorted()
        #expect(frames.count == 4)
        for f in frames {
            let json = try FrameJSON.read(out.appendingPathComponent("frames/\(f)"))
            for o in json.objects {
                let route = try #require(o.route, "frame \(json.frame) object \(o.id) has no route")
                #expect(abs(route[0] + route[1] - 1) < 1e-5)
            }
        }
    }
}
