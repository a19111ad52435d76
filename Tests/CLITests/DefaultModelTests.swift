import Foundation
import Testing
import TestSupport

/// The bundled default model and plugin, end to end on the bundled clips (held-out photos the
/// model never trained on). Floors are set below the figures measured when the model was trained
/// (README, "Default model"), so a regression in the engine, tracker or writers shows up here.
@Suite("the bundled default model tracks the bundled clips")
struct DefaultModelTests {
    static let clips = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Clips")

    /// Tracks a clip with no --model / --plugin and returns the overall J&F against its ground truth.
    func trackAndScore(_ clip: String, extra: [String] = []) throws -> (jAndF: Double, stderr: String, plugin: String?) {
        let dir = try temporaryFolder("default-\(clip)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = Self.clips.appendingPathComponent(clip)
        let out = dir.appendingPathComponent("run")
        let run = try CLIRunner.run(["track", folder.appendingPathComponent("clip.mp4").path, "--objects",
                                     folder.appendingPathComponent("boxes.json").path, "--quiet", "--out", out.path] + extra)
        #expect(run.status == 0, "track: \(run.stderr)")
        let json = dir.appendingPathComponent("scores.json")
        let eval = try CLIRunner.run(["eval", "--pred", out.path, "--gt", folder.appendingPathComponent("Annotations").path,
                                      "--json", json.path])
        #expect(eval.status == 0, "eval: \(eval.stderr)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let report = try decoder.decode(EvalJSON.self, from: Data(contentsOf: json))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        return (try #require(report.overall.jAndF), run.stderr, summary?["plugin"] as? String)
    }

    @Test("two objects: J&F with the plugin stays above the floor", .timeLimit(.minutes(5)))
    func twoObjects() throws {
        let (score, stderr, plugin) = try trackAndScore("two_objects")
        #expect(score >= DefaultModelFloors.twoObjects, "J&F \(score)")
        #expect(plugin?.hasSuffix("stablesam_plugin.safetensors") == true, "the bundled plugin is used by default: \(plugin ?? "none")")
        #expect(stderr.isEmpty, "--quiet prints nothing: \(stderr)")
    }

    @Test("occlusion: J&F with the plugin stays above the floor", .timeLimit(.minutes(5)))
    func occlusion() throws {
        let (score, _, _) = try trackAndScore("occlusion")
        #expect(score >= DefaultModelFloors.occlusion, "J&F \(score)")
    }

    @Test("segment runs with no --model and reports the plugin's route")
    func segmentDefaults() throws {
        let dir = try temporaryFolder("default-seg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let frame = dir.appendingPathComponent("f.png")
        _ = try CLIRunner.run(["-v", "error", "-nostdin", "-y", "-i", Self.clips.appendingPathComponent("occlusion/clip.mp4").path,
                               "-frames:v", "1", frame.path], executable: URL(fileURLWithPath: "/usr/bin/ffmpeg"))
        let boxes = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.clips.appendingPathComponent("occlusion/boxes.json"))) as! [[String: Any]]
        let box = (boxes[0]["box"] as! [NSNumber]).map { "\($0)" }.joined(separator: ",")
        let run = try CLIRunner.run(["segment", frame.path, "--box", box, "--out", dir.appendingPathComponent("o").path])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try String(contentsOf: dir.appendingPathComponent("o/result.json"), encoding: .utf8)
        #expect(result.contains("\"route\" : ["), "\(result)")
    }

    @Test("models describes the bundled model and how it was trained")
    func modelsListsDefault() throws {
        let run = try CLIRunner.run(["models"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("default (used when --model is not given)") && run.stdout.contains("Scripts/train_base.py"))
    }
}
