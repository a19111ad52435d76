import Foundation
import Testing
import TestSupport

/// `stablesam train-plugin` end to end on the `win` tiny SAM and tiny generated data.
@Suite("train-plugin end to end")
struct TrainPluginCLITests {
    struct LogLine: Decodable { var epoch: Int; var step: Int; var loss: Float; var prompts: [String] }

    static let model = Fixtures.url("sam_tiny_win.pth").path

    @Test("a tiny run writes a plugin that segment loads for the model, caches embeddings, and its loss falls")
    func trainsAndLoads() throws {
        let dir = try temporaryFolder("train-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 8)
        let plugin = dir.appendingPathComponent("plugin.safetensors"), log = dir.appendingPathComponent("train.jsonl")
        let r = try CLIRunner.run(["train-plugin", "--model", Self.model, "--data", data.path, "--out", plugin.path,
                                   "--epochs", "4", "--lr", "1e-2", "--seed", "3", "--threads", "1", "--log", log.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("16 samples") && r.stderr.contains("wrote \(plugin.path)"), "\(r.stderr)")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(LogLine.self, from: Data($0.utf8)) }
        #expect(lines.count == 16)   // 16 samples, batch 4: 4 steps per epoch
        func mean(_ epoch: Int) -> Float {
            let l = lines.filter { $0.epoch == epoch }.map(\.loss)
            return l.reduce(0, +) / Float(l.count)
        }
        #expect(mean(4) < mean(1) * 0.97, "epoch losses \((1...4).map(mean))")
        let cache = dir.appendingPathComponent("plugin.safetensors.cache")
        let entries = try FileManager.default.subpathsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".safetensors") }
        #expect(entries.count == 8)

        let seg = try CLIRunner.run(["segment", data.appendingPathComponent("images/scene00.png").path, "--model", Self.model,
                                     "--box", "10,10,40,40", "--plugin", plugin.path, "--out", dir.appendingPathComponent("seg").path])
        #expect(seg.status == 0, "stderr: \(seg.stderr)")
        #expect(seg.stderr.contains("plugin \(plugin.path)") && seg.stderr.contains("trained on sam_tiny_win.pth"), "\(seg.stderr)")
    }

    @Test("bad data is an error naming the file, with a non-zero status and no crash")
    func badData() throws {
        let dir = try temporaryFolder("train-cli-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 2)
        try FileManager.default.removeItem(at: data.appendingPathComponent("masks/scene01.png"))
        let r = try CLIRunner.run(["train-plugin", "--model", Self.model, "--data", data.path,
                                   "--out", dir.appendingPathComponent("p.safetensors").path])
        #expect(r.status != 0 && r.status < 128, "status \(r.status)")
        #expect(r.stderr.contains("images/scene01.png has no mask"), "\(r.stderr)")
        let resume = try CLIRunner.run(["train-plugin", "--model", Self.model, "--data", dir.appendingPathComponent("nowhere").path,
                                        "--out", dir.appendingPathComponent("p.safetensors").path])
        #expect(resume.status != 0 && resume.status < 128 && resume.stderr.contains("nowhere: no such file or folder"), "\(resume.stderr)")
    }

    @Test("Ctrl-C writes a state; --resume then ends with the bytes of an uninterrupted run")
    func interruptAndResume() throws {
        let dir = try temporaryFolder("train-cli-int")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try TinyTrainingData.folders(at: dir.appendingPathComponent("data"), count: 4)
        func args(_ out: URL) -> [String] {
            ["train-plugin", "--model", Self.model, "--data", data.path, "--out", out.path, "--epochs", "40", "--threads", "1"]
        }
        let whole = dir.appendingPathComponent("whole.safetensors"), pieces = dir.appendingPathComponent("pieces.safetensors")
        let r = try CLIRunner.run(args(whole))
        #expect(r.status == 0, "stderr: \(r.stderr)")

        // Interrupt once training is under way (the progress line of epoch 2 is out).
        let process = Process()
        process.executableURL = try CLIRunner.executable
        process.arguments = args(pieces)
        let errURL = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline, !((try? String(contentsOf: errURL, encoding: .utf8)) ?? "").contains("epoch 2/40") {
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 130, "stderr: \(stderr)")
        #expect(stderr.contains("--resume"), "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: pieces.path + ".state") && !FileManager.default.fileExists(atPath: pieces.path))

        let resumed = try CLIRunner.run(args(pieces) + ["--resume"])
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stderr.contains("0 encoded"), "a resumed run reads every embedding from the cache: \(resumed.stderr)")
        #expect(try Data(contentsOf: pieces) == Data(contentsOf: whole))
    }
}
