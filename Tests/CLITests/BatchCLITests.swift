import Foundation
import Testing
import TestSupport

/// `stablesam batch` end to end with the bundled model on generated DAVIS sequences: exit
/// statuses, bad input, shards joined by `batch merge`, and the report against `track` + `eval`.
@Suite("stablesam batch", .serialized)
struct BatchCLITests {
    func dataset(_ s: Scratch, sequences: Int = 3, frames: Int = 5) throws -> String {
        try TinyTrainingData.davis(at: s.file("data"), sequences: sequences, frames: frames).path
    }

    @Test("shards 0/2 and 1/2 then `batch merge` give the one-process report byte for byte; merge before the last shard names what is missing")
    func shardsAndMerge() throws {
        let s = try Scratch()
        let data = try dataset(s)
        let one = try TrackCLI.run(["batch", data, "--out", s.path("one")])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("overall (6 objects)"))
        let first = try TrackCLI.run(["batch", data, "--out", s.path("sharded"), "--shard", "0/2"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.path("sharded/report.json")), "a shard leaves the report to merge")
        let early = try TrackCLI.run(["batch", "merge", s.path("sharded")])
        #expect(early.status != 0 && early.stderr.contains("not finished yet"), "\(early.stderr)")
        let second = try TrackCLI.run(["batch", "run", data, "--out", s.path("sharded"), "--shard", "1/2"])
        #expect(second.status == 0, "\(second.stderr)")
        // Together the two shards ran every sequence once.
        let ran = (first.stderr + second.stderr).split(separator: "\n").filter { $0.contains(": done") }.count
        #expect(ran == 3, "\(first.stderr)\(second.stderr)")
        let merged = try TrackCLI.run(["batch", "merge", s.path("sharded"), "--quiet"])
        #expect(merged.status == 0, "\(merged.stderr)")
        for name in ["report.json", "report.txt", "report.html"] {
            #expect(try Data(contentsOf: s.file("sharded/\(name)")) == Data(contentsOf: s.file("one/\(name)")), "\(name)")
        }
        #expect(s.list("sharded").contains("shard-1-of-2.json"))
        // A re-run of a finished shard runs nothing.
        let again = try TrackCLI.run(["batch", data, "--out", s.path("sharded"), "--shard", "1/2"])
        #expect(again.status == 0 && !again.stderr.contains(": done") && again.stderr.contains("skipped (finished)"), "\(again.stderr)")
    }

    @Test("a sequence's J&F in the report equals `track --prompts` with its prompts.json and `eval` by hand")
    func reportEqualsTrackAndEval() throws {
        let s = try Scratch()
        let data = try dataset(s, sequences: 1)
        #expect(try TrackCLI.run(["batch", data, "--out", s.path("b"), "--init", "box", "--quiet"]).status == 0)
        let hand = try TrackCLI.run(["track", s.path("data/JPEGImages/seq0"), "--prompts", s.path("b/seq0/prompts.json"),
                                     "--out", s.path("hand"), "--quiet"])
        #expect(hand.status == 0, "\(hand.stderr)")
        let eval = try TrackCLI.run(["eval", "--pred", s.path("hand"), "--gt", s.path("data/Annotations/seq0"), "--json", s.path("e.json")])
        #expect(eval.status == 0, "\(eval.stderr)")
        func overall(_ path: String, _ keys: [String]) throws -> Double? {
            var o: Any? = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file(path)))
            for k in keys { o = (o as? [String: Any])?[k] }
            return o as? Double
        }
        let batchJF = try overall("b/report.json", ["evaluation", "overall", "j_and_f"])
        let handJF = try overall("e.json", ["overall", "j_and_f"])
        #expect(batchJF != nil && batchJF == handJF)
    }

    @Test("bad input: shard 3/2 is a usage error; a sequence without annotations and a manifest line with a missing video fail alone (exit 3)")
    func badInput() throws {
        let s = try Scratch()
        let data = try dataset(s, sequences: 2, frames: 3)
        let shard = try TrackCLI.run(["batch", data, "--out", s.path("x"), "--shard", "3/2"])
        #expect(shard.status == 64 && shard.stderr.contains("--shard 3/2: I must be in 0...1"), "\(shard.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.path("x")))

        try FileManager.default.removeItem(at: s.file("data/Annotations/seq1"))
        let missing = try TrackCLI.run(["batch", data, "--out", s.path("b")])
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(missing.stderr.contains("seq1: failed: sequence seq1: no annotations in"))
        #expect(missing.stdout.contains("1 of 2 sequences done, 1 failed") && missing.stdout.contains("seq0/1"))

        let manifest = s.file("list.jsonl")
        try Data("""
            {"name": "ok", "video": "data/JPEGImages/seq0", "gt": "data/Annotations/seq0"}
            {"name": "lost", "video": "videos/none.mp4", "objects": [{"id": 1, "box": [2, 2, 20, 20]}]}
            """.utf8).write(to: manifest)
        let m = try TrackCLI.run(["batch", manifest.path, "--out", s.path("m")])
        #expect(m.status == 3 && m.stderr.contains("lost: failed: \(s.path("videos/none.mp4")): no such file"), "\(m.stderr)")
        #expect(m.stderr.contains("ok: done"))
        let badLine = s.file("bad.jsonl")
        try Data("{\"video\": \"a.mp4\"}\n".utf8).write(to: badLine)
        let bad = try TrackCLI.run(["batch", badLine.path, "--out", s.path("n")])
        #expect(bad.status != 0 && bad.stderr.contains("bad.jsonl:1: give \"objects\""), "\(bad.stderr)")
    }
}

extension BatchCLITests {
    /// Pids of running processes whose command line holds `needle` (arguments joined by spaces).
    static func processes(matching needle: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(needle)
        }
    }

    @Test("--jobs 2: a worker killed with SIGKILL mid-sequence fails that sequence alone, its other sequence still runs, and a re-run finishes it")
    func workerKilled() throws {
        let s = try Scratch()
        let data = try dataset(s, sequences: 4, frames: 40)
        let out = s.path("out")
        let p = Process()
        p.executableURL = try CLIRunner.executable
        p.arguments = ["batch", data, "--out", out, "--threads", "2", "--jobs", "2", "--quiet"]
        try p.run()
        // Worker 1's share is seq1 then seq3 (equal lengths alternate); kill it once seq1 has started.
        let deadline = Date().addingTimeInterval(60)
        var victim: Int32?
        while victim == nil && Date() < deadline && p.isRunning {
            if FileManager.default.fileExists(atPath: s.path("out/seq1/prompts.json")),
               let pid = Self.processes(matching: "--worker 1/2").first {
                usleep(300_000)
                kill(pid, SIGKILL)
                victim = pid
            }
            usleep(10_000)
        }
        p.waitUntilExit()
        #expect(victim != nil, "worker 1 was never seen")
        #expect(p.terminationStatus == 3, "a sequence failed")
        let records = try (0..<4).map { k in
            try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/seq\(k)/batch.json"))) as! [String: Any]
        }
        let failed = records.filter { $0["status"] as? String == "failed" }
        #expect(failed.count == 1 && (failed.first?["error"] as? String)?.contains("killed by signal 9") == true, "\(failed)")
        #expect(["seq1", "seq3"].contains(failed.first?["sequence"] as? String ?? ""))
        #expect(records.filter { $0["status"] as? String == "done" }.count == 3, "the other sequences finished")
        let again = try TrackCLI.run(["batch", data, "--out", out, "--threads", "2", "--jobs", "2"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.split(separator: "\n").filter { $0.contains(": done") }.count == 1, "\(again.stderr)")
        #expect(again.stdout.contains("4 of 4 sequences done"))
    }
}
