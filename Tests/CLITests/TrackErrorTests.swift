import Foundation
import Testing

/// Bad input: a clear message, a non-zero exit, and nothing already on disk lost.
@Suite("stablesam track rejects bad input", .serialized)
struct TrackErrorTests {
    func track(_ arguments: [String]) throws -> TrackCLI.Result {
        try TrackCLI.run(["track"] + arguments)
    }

    func expectFailure(_ r: TrackCLI.Result, mentions text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, sourceLocation: sourceLocation)
        #expect(r.stderr.lowercased().contains(text.lowercased()), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test("a missing video file is named in the error")
    func missingFile() throws {
        let s = try Scratch()
        expectFailure(try track([s.path("nope.mp4"), "--box", "1,1,5,5", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "no such file")
    }

    @Test("a file that is not a video is refused")
    func notAVideo() throws {
        let s = try Scratch()
        try Data("just text\n".utf8).write(to: s.file("notes.mp4"))
        expectFailure(try track([s.path("notes.mp4"), "--box", "1,1,5,5", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "not a video")
    }

    @Test("a folder without images has zero frames")
    func zeroFrames() throws {
        let s = try Scratch()
        try FileManager.default.createDirectory(at: s.file("empty"), withIntermediateDirectories: true)
        expectFailure(try track([s.path("empty"), "--box", "1,1,5,5", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "no video frames")
    }

    @Test("a box outside the frame or without area is refused before any output")
    func badBoxes() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        expectFailure(try track([s.path("clip.mp4"), "--box", "100,100,120,120", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "outside the 64x48 frame")
        expectFailure(try track([s.path("clip.mp4"), "--box", "10,10,10,20", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "no area")
        #expect(!FileManager.default.fileExists(atPath: s.path("out")))
    }

    @Test("a video whose frames change size mid-way is tracked at the first size, with a warning")
    func sizeChange() throws {
        let s = try Scratch()
        var bytes = Data()
        for (i, size) in ["160x120", "320x240"].enumerated() {
            try TrackCLI.tool("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=\(size):rate=10", "-frames:v", "4", "-c:v", "libx264",
                                         "-pix_fmt", "yuv420p", "-output_ts_offset", "\(Double(i) * 0.4)", s.path("part\(i).ts")])
            bytes.append(try Data(contentsOf: s.file("part\(i).ts")))
        }
        try bytes.write(to: s.file("switch.ts"))
        let r = try track([s.path("switch.ts"), "--box", "20,20,80,80", "--model", TrackCLI.tinyModel, "--out", s.path("out")])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("changes size at frame 4 (320x240)"), "stderr: \(r.stderr)")
        #expect(s.list("out/frames").count == 8)
    }

    @Test("an objects file with a 6-number box or a fractional id says which object and what is wrong")
    func badObjectsFile() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        let cases = [
            (#"[{"id": 1, "box": [1, 2, 10, 12, 5, 6]}]"#, #"objects[0] (id 1): "box" must be [x0, y0, x1, y1]: exactly 4 numbers"#),
            (#"[{"id": 1.5, "box": [1, 2, 10, 12]}]"#, #"objects[0]: "id" must be a whole number in 1...255"#),
            (#"[{"id": 1, "box": [1, 2, 10, 12], "colour": 3}]"#, #"unknown key 'colour'"#),
            (#"[{"id": 1, "box": [1, 2, 10, 12]"#, "not valid JSON"),
        ]
        for (json, expected) in cases {
            try Data(json.utf8).write(to: s.file("objects.json"))
            expectFailure(try track([s.path("clip.mp4"), "--objects", s.path("objects.json"), "--model", TrackCLI.tinyModel,
                                     "--out", s.path("out")]), mentions: expected)
        }
    }

    @Test("a start frame past the end says how many frames there are")
    func startPastEnd() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 3)
        let r = try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--start-frame", "7", "--model", TrackCLI.tinyModel, "--out", s.path("out")])
        expectFailure(r, mentions: "has 3 frames")
        #expect(!FileManager.default.fileExists(atPath: s.path("out/overlay.mp4")))
        #expect(!FileManager.default.fileExists(atPath: s.path("out/summary.json")))
    }

    @Test("an output folder that cannot be created is reported")
    func unwritableOutput() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        try Data("x".utf8).write(to: s.file("occupied"))
        expectFailure(try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--model", TrackCLI.tinyModel, "--out", s.path("occupied/out")]),
                      mentions: "cannot create output folder")
        #expect(try Data(contentsOf: s.file("occupied")) == Data("x".utf8))
    }

    @Test("an earlier run in --out is kept unless --resume is given")
    func keepsEarlierRun() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        try FileManager.default.createDirectory(at: s.file("out"), withIntermediateDirectories: true)
        try Data("{\"mine\": true}".utf8).write(to: s.file("out/summary.json"))
        expectFailure(try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--model", TrackCLI.tinyModel, "--out", s.path("out")]),
                      mentions: "--resume")
        #expect(try Data(contentsOf: s.file("out/summary.json")) == Data("{\"mine\": true}".utf8))
    }

    @Test("a missing checkpoint file is named in the error")
    func missingModel() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        expectFailure(try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--model", s.path("nope.pth"), "--out", s.path("out")]),
                      mentions: "nope.pth")
    }

    @Test("a bad --tracker-settings file names the key and leaves no output")
    func badTrackerSettings() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        let cases: [(String, String)] = [
            ("{\"margin\": -1}", "'margin' is -1"),
            ("{\"kalman\": {\"size_velocity\": \"fast\"}}", "'kalman.size_velocity' has the wrong type"),
            ("{\"template_update\": 2}", "'template_update' is 2.0; it is a share"),
            ("[1, 2]", "is not a JSON object of tracker settings"),
        ]
        for (json, message) in cases {
            try Data(json.utf8).write(to: s.file("settings.json"))
            expectFailure(try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--model", TrackCLI.tinyModel,
                                     "--tracker-settings", s.path("settings.json"), "--out", s.path("out")]),
                          mentions: message)
            #expect(!FileManager.default.fileExists(atPath: s.path("out")))
        }
        expectFailure(try track([s.path("clip.mp4"), "--box", "4,12,18,26", "--model", TrackCLI.tinyModel,
                                 "--tracker-settings", s.path("missing.json"), "--out", s.path("out")]),
                      mentions: "missing.json: cannot be read")
    }
}
