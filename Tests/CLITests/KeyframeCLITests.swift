import Foundation
import Testing
import TestSupport
import VideoIO

#if canImport(Glibc)
#endif

/// `track --prompts` end to end with the tiny random-weight model: flags, outputs over every
/// frame, `--update`, and memory that does not grow with the clip.
@Suite("stablesam track --prompts", .serialized)
struct KeyframeCLITests {
    let accept = ["--min-score=-100"]

    func prompts(_ s: Scratch, _ json: String) throws -> String {
        try Data(json.utf8).write(to: s.file("prompts.json"))
        return s.path("prompts.json")
    }

    @Test("--prompts excludes --box, --backward and --start-frame; --update needs --prompts")
    func flagRules() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 3)
        let p = try prompts(s, #"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [4, 12, 18, 26]}]}]}"#)
        for (extra, says) in [(["--prompts", p, "--box", "1,1,9,9"], "drop --box"), (["--prompts", p, "--backward"], "drop --backward"),
                              (["--prompts", p, "--start-frame", "1"], "drop --backward/--start-frame"),
                              (["--box", "1,1,9,9", "--update"], "give --prompts")] {
            let r = try TrackCLI.run(["track", s.path("clip.mp4"), "--model", TrackCLI.tinyModel, "--out", s.path("out")] + extra)
            #expect(r.status != 0 && r.stderr.contains(says), "\(extra): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: s.path("out")))
        }
    }

    @Test("two objects from keyframes on frames 2 and 5: every frame written, the manifest lists the keyframes; --update is needed to reuse the folder")
    func outputsAndUpdate() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"))
        let p = try prompts(s, #"""
            {"objects": [{"id": 1, "name": "red", "keyframes": [{"frame": 2, "box": [8, 10, 26, 28]}, {"frame": 6, "points": [[23, 19, 1]]}]},
                         {"id": 2, "keyframes": [{"frame": 5, "box": [38, 28, 50, 42]}]}]}
            """#)
        let args = ["track", s.path("clip.mp4"), "--model", TrackCLI.tinyModel, "--out", s.path("out"), "--quiet", "--prompts", p] + accept
        let r = try TrackCLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.list("out/frames").count == 8 && s.list("out/masks/1").count == 8 && s.list("out/masks/2").count == 8)
        #expect(try TrackCLI.frameTimes(s.file("out/overlay.mp4")).count == 8)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any]
        let k = summary["keyframes"] as! [String: Any]
        let objects = k["objects"] as! [[String: Any]]
        #expect(objects.map { $0["frames"] as! [Int] } == [[2, 6], [5]])
        #expect(k["merge"] as? String == "agreement", "the default merge rule")
        // Frames a sweep stepped, once however many objects it followed there: forward 3-7 (object 1
        // from 2, object 2 from 5 on, object 1 again from 6); backward 5-0 (object 1 from 6, object 2
        // from 5, object 1 again from 2). Keyframe frames where nothing else was followed (2 forward, 6
        // backward) step nothing.
        #expect((k["tracked_forward"] as? Int, k["tracked_backward"] as? Int) == (5, 6))
        let again = try TrackCLI.run(args)
        #expect(again.status != 0 && again.stderr.contains("--update"), "\(again.stderr)")
        let updated = try TrackCLI.run(args + ["--update"])
        #expect(updated.status == 0, "\(updated.stderr)")
        let k2 = (try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any])["keyframes"] as! [String: Any]
        #expect((k2["tracked_forward"] as? Int, k2["tracked_backward"] as? Int) == (0, 0), "nothing changed, nothing tracked")
    }

    @Test("--prompts --soft: soft mattes on every frame, at least half exactly where the binary matte is set, after an --update too")
    func softMattesFromKeyframes() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"))
        let p = try prompts(s, #"{"objects": [{"id": 1, "keyframes": [{"frame": 1, "box": [6, 10, 22, 28]}, {"frame": 6, "box": [20, 10, 38, 28]}]}]}"#)
        let args = ["track", s.path("clip.mp4"), "--model", TrackCLI.tinyModel, "--out", s.path("out"), "--quiet", "--prompts", p,
                    "--soft", "--min-score=-100"]
        #expect(try TrackCLI.run(args).status == 0)
        func check() throws {
            #expect(s.list("out/masks_soft/1").count == 8)
            for name in s.list("out/masks_soft/1") {
                let soft = try ImageReader.readGray16(s.file("out/masks_soft/1/" + name)).pixels
                let binary = try ImageReader.readGray(s.file("out/masks/1/" + name)).pixels
                #expect(zip(soft, binary).allSatisfy { ($0 >= 32768) == ($1 > 127) }, "\(name)")
            }
        }
        try check()
        _ = try prompts(s, #"{"objects": [{"id": 1, "keyframes": [{"frame": 1, "box": [6, 10, 22, 28]}, {"frame": 4, "points": [[20, 19, 1]]}, {"frame": 6, "box": [20, 10, 38, 28]}]}]}"#)
        let r = try TrackCLI.run(args + ["--update"])
        #expect(r.status == 0, "\(r.stderr)")
        try check()
    }

    /// Peak resident memory of one run, MB, as the run reports it in summary.json (its own
    /// VmHWM: wait4's ru_maxrss of a spawned child also counts this test process's peak, since
    /// posix_spawn shares its memory until exec, and CI's test process is larger than a run).
    func peakMemory(_ arguments: [String], out: String) throws -> Double {
        let r = try TrackCLI.run(arguments + ["--out", out])
        guard r.status == 0 else { throw TrackCLI.Failure(description: "\(arguments) exited with status \(r.status): \(r.stderr)") }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("summary.json"))) as! [String: Any]
        let timings = summary["timings"] as! [String: Any]
        return try #require(timings["peak_resident_mb"] as? Double)
    }

    @Test("memory stays flat from a 100-frame to a 500-frame clip (keyframes at both ends: both passes run)")
    func memoryIsFlat() throws {
        let s = try Scratch()
        var peak: [Int: Double] = [:]
        for frames in [100, 500] {
            try TrackCLI.makeClip(s.file("clip\(frames).mp4"), size: (320, 240), frames: frames, rate: 25)
            let p = s.path("p\(frames).json")
            try Data(#"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [4, 12, 18, 26]}, {"frame": \#(frames - 1), "box": [40, 12, 60, 30]}]}]}"#.utf8)
                .write(to: URL(fileURLWithPath: p))
            peak[frames] = try peakMemory(["track", s.path("clip\(frames).mp4"), "--model", TrackCLI.tinyModel, "--quiet",
                                           "--prompts", p] + accept, out: s.path("out\(frames)"))
            #expect(s.list("out\(frames)/frames").count == frames)
        }
        // Holding every frame would add 400 x 230 KB (RGB) = 92 MB; masks alone 400 x 77 KB = 31 MB.
        let (small, large) = (peak[100]!, peak[500]!)
        #expect(small > 1 && large - small < 12, "peak RSS \(small) MB at 100 frames, \(large) MB at 500")
    }
}
