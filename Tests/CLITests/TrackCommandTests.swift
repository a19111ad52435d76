import Foundation
import Metrics
import Testing
import TestSupport
import VideoIO

/// End to end: the real binary, the tiny random-weight SAM checkpoint, generated clips.
/// The model's masks are meaningless; what is checked is that every output agrees with the
/// input's timing and with every other output.
@Suite("stablesam track", .serialized)
struct TrackCommandTests {
    /// Accept any mask the random model produces (its scores are arbitrary), so masks reach the outputs.
    let accept = ["--min-score=-100"]

    func track(_ input: String, _ out: String, _ extra: [String]) throws -> TrackCLI.Result {
        try TrackCLI.run(["track", input, "--model", TrackCLI.tinyModel, "--out", out, "--quiet"] + extra)
    }

    @Test("--tracker-settings sets any rule, --margin overrides it, and summary.json records the result")
    func trackerSettingsFile() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 3)
        try Data(#"{"margin": 0.3, "fill_penalty": 0.7, "kalman": {"size_velocity": 0.02}}"#.utf8).write(to: s.file("t.json"))
        let r = try track(s.path("clip.mp4"), s.path("out"), ["--box", "4,12,18,26", "--tracker-settings", s.path("t.json"),
                                                              "--margin", "0.2"] + accept)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any]
        let tracker = (summary["settings"] as! [String: Any])["tracker"] as! [String: Any]
        #expect(tracker["margin"] as? Double == 0.2)
        #expect(tracker["fill_penalty"] as? Double == 0.7)
        #expect((tracker["kalman"] as! [String: Any])["size_velocity"] as? Double == 0.02)
        #expect(tracker["min_score"] as? Double == -100)
        #expect(tracker["max_growth"] as? Double == 4.0, "keys the file leaves out keep their defaults")
    }

    @Test("overlay, mattes, palette and JSON cover every frame with the input's timestamps")
    func outputsMatchInput() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"))
        let r = try track(s.path("clip.mp4"), s.path("out"), ["--box", "4,12,18,26", "--box", "50,30,60,40"] + accept)
        #expect(r.status == 0, "\(r.stderr)")
        let overlay = s.file("out/overlay.mp4")
        #expect(try TrackCLI.frameTimes(overlay) == TrackCLI.frameTimes(s.file("clip.mp4")))
        #expect(try TrackCLI.streamField(overlay, "avg_frame_rate") == "10/1")
        #expect(s.list("out/frames") == (0..<8).map { String(format: "%06d.json", $0) })
        #expect(s.list("out/masks/1").count == 8 && s.list("out/masks/2").count == 8)
        #expect(s.list("out/palette").count == 8)
        for i in 0..<8 {
            let json = try FrameJSON.read(s.file("out/frames/" + String(format: "%06d.json", i)))
            #expect(json.frame == i)
            #expect(abs(json.time - Double(i) / 10) < 1e-9)
            #expect(json.objects.map(\.id) == [1, 2])
            #expect(json.objects.allSatisfy { $0.route == nil && $0.mask.height == 48 && $0.mask.width == 64 })
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any]
        #expect(summary["interrupted"] as? Bool == false)
        #expect(summary["complete"] as? Bool == true)
        #expect((summary["objects"] as? [[String: Any]])?.count == 2)
        #expect(summary["timings"] != nil && summary["versions"] != nil && summary["settings"] != nil)
    }

    @Test("masks, palette and matte video hold exactly the JSON masks", .timeLimit(.minutes(2)))
    func mattesEqualJSON() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 5)
        let objects = #"[{"id": 5, "name": "red", "box": [4, 12, 18, 26]}, {"id": 9, "name": "green", "box": [50, 30, 60, 40]}]"#
        try Data(objects.utf8).write(to: s.file("objects.json"))
        let r = try track(s.path("clip.mp4"), s.path("out"),
                          ["--objects", s.path("objects.json"), "--start-number", "1001", "--matte-video", "--margin", "0.3"] + accept)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.list("out/masks") == ["5", "9"])
        #expect(s.list("out/masks/5") == (1001...1005).map { String(format: "%06d.png", $0) })
        let alpha = [UInt8](try TrackCLI.tool("ffmpeg", ["-i", s.path("out/matte.mov"), "-vf", "alphaextract",
                                                     "-f", "rawvideo", "-pix_fmt", "gray", "-"]))
        #expect(alpha.count == 5 * 64 * 48)
        for i in 0..<5 {
            let json = try FrameJSON.read(s.file("out/frames/" + String(format: "%06d.json", i)))
            #expect(json.objects.map(\.id) == [5, 9])
            #expect(json.objects.map(\.name) == ["red", "green"])
            var palette = [UInt8](repeating: 0, count: 64 * 48)
            var union = [UInt8](repeating: 0, count: 64 * 48)
            for o in json.objects {
                let mask = o.mask.decode()
                #expect(o.area == mask.filter { $0 }.count)
                let png = try ImageReader.readGray(s.file("out/masks/\(o.id)/" + String(format: "%06d.png", 1001 + i)))
                #expect(png.pixels == mask.map { $0 ? 255 : 0 }, "matte of object \(o.id), frame \(i)")
                for p in mask.indices where mask[p] { palette[p] = UInt8(o.id); union[p] = 255 }
            }
            let indexed = try ImageReader.readIndexed(s.file("out/palette/" + String(format: "%06d.png", 1001 + i)))
            #expect(indexed.indices == palette, "palette frame \(i)")
            #expect(Array(alpha[(i * 64 * 48)..<((i + 1) * 64 * 48)]) == union, "matte video frame \(i)")
        }
    }

    @Test("a variable-frame-rate input keeps its irregular timestamps")
    func variableFrameRate() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("cfr.mp4"))
        try TrackCLI.tool("ffmpeg", ["-i", s.path("cfr.mp4"), "-vf", "settb=1/1000,setpts='(N*0.1+mod(N\\,2)*0.05+mod(N\\,3)*0.02)/TB'",
                                "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-c:v", "libx264", s.path("vfr.mp4")])
        let times = try TrackCLI.frameTimes(s.file("vfr.mp4"))
        #expect(Set(zip(times.dropFirst(), times).map { (1000 * (Double($0)! - Double($1)!)).rounded() }).count > 1)
        let r = try track(s.path("vfr.mp4"), s.path("out"), ["--box", "4,12,18,26"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try TrackCLI.frameTimes(s.file("out/overlay.mp4")) == times)
        let jsonTimes = try (0..<times.count).map {
            String(format: "%.6f", try FrameJSON.read(s.file("out/frames/" + String(format: "%06d.json", $0))).time)
        }
        #expect(jsonTimes == times)
    }

    @Test("a rotated input is tracked and written upright")
    func rotatedInput() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("plain.mp4"), frames: 4)
        try TrackCLI.tool("ffmpeg", ["-i", s.path("plain.mp4"), "-c", "copy", "-metadata:s:v", "rotate=90", s.path("rotated.mp4")])
        let r = try track(s.path("rotated.mp4"), s.path("out"), ["--box", "10,10,30,30"])
        #expect(r.status == 0, "\(r.stderr)")
        let overlay = s.file("out/overlay.mp4")
        #expect(try TrackCLI.streamField(overlay, "width") == "48" && TrackCLI.streamField(overlay, "height") == "64")
        #expect(try TrackCLI.frameTimes(overlay) == TrackCLI.frameTimes(s.file("rotated.mp4")))
        let json = try FrameJSON.read(s.file("out/frames/000000.json"))
        #expect(json.objects[0].mask.height == 64 && json.objects[0].mask.width == 48)
    }

    @Test("an odd-sized ProRes input gives an overlay of the same odd size")
    func oddSize() throws {
        let s = try Scratch()
        try TrackCLI.tool("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=37x23:rate=12", "-frames:v", "5", "-c:v", "prores_ks", s.path("odd.mov")])
        let r = try track(s.path("odd.mov"), s.path("out"), ["--box", "5,5,20,15"])
        #expect(r.status == 0, "\(r.stderr)")
        let overlay = s.file("out/overlay.mp4")
        #expect(try TrackCLI.streamField(overlay, "width") == "37" && TrackCLI.streamField(overlay, "height") == "23")
        #expect(try TrackCLI.frameTimes(overlay) == TrackCLI.frameTimes(s.file("odd.mov")))
    }

    @Test("an image folder is tracked in name order at --fps")
    func imageFolder() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 6)
        try FileManager.default.createDirectory(at: s.file("JPEGImages/seq"), withIntermediateDirectories: true)
        try TrackCLI.tool("ffmpeg", ["-i", s.path("clip.mp4"), "-start_number", "0", s.path("JPEGImages/seq/%05d.jpg")])
        let r = try track(s.path("JPEGImages/seq"), s.path("out"), ["--box", "4,12,18,26", "--fps", "24"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.list("out/frames").count == 6)
        #expect(try TrackCLI.frameTimes(s.file("out/overlay.mp4")) == (0..<6).map { String(format: "%.6f", Double($0) / 24) })
        #expect(try FrameJSON.read(s.file("out/frames/000005.json")).time == 5.0 / 24)
    }

    @Test("tracking backward from a middle frame covers frames start...0 and the whole overlay")
    func backward() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"))
        let r = try track(s.path("clip.mp4"), s.path("out"), ["--box", "13,12,27,26", "--start-frame", "3", "--backward"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.list("out/frames") == (0...3).map { String(format: "%06d.json", $0) })
        #expect(try TrackCLI.frameTimes(s.file("out/overlay.mp4")) == TrackCLI.frameTimes(s.file("clip.mp4")))
    }

    @Test("Ctrl-C stops cleanly and --resume completes the same outputs")
    func interruptAndResume() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), size: (160, 120), frames: 120, rate: 25)
        let process = Process()
        process.executableURL = try CLIRunner.executable
        process.arguments = ["track", s.path("clip.mp4"), "--model", TrackCLI.tinyModel, "--out", s.path("out"), "--quiet",
                             "--box", "4,12,18,26", "--threads", "1"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Interrupt once a few frames are complete.
        let deadline = Date().addingTimeInterval(60)
        while s.list("out/frames").count < 3 && Date() < deadline && process.isRunning { usleep(20_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let done = s.list("out/frames").count
        try #require(process.terminationStatus == 130, "the run finished before it could be interrupted")
        #expect(done >= 3 && done < 120)
        #expect(!FileManager.default.fileExists(atPath: s.path("out/overlay.mp4")), "no partial overlay")
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any]
        #expect(first["interrupted"] as? Bool == true)

        let again = try track(s.path("clip.mp4"), s.path("out"), ["--box", "4,12,18,26"])
        #expect(again.status != 0, "an earlier run is not overwritten without --resume")
        let resumed = try track(s.path("clip.mp4"), s.path("out"), ["--box", "4,12,18,26", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(s.list("out/frames").count == 120)
        #expect(try TrackCLI.frameTimes(s.file("out/overlay.mp4")) == TrackCLI.frameTimes(s.file("clip.mp4")))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("out/summary.json"))) as! [String: Any]
        #expect(summary["interrupted"] as? Bool == false)
        #expect(summary["resumed_after_frame"] as? Int != nil)
    }
}
