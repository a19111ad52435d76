import Foundation
import Testing
import TestSupport
import VideoIO

/// `track --soft` end to end: the real binary, the tiny random-weight checkpoint, a generated clip,
/// and EXR readers this project did not write.
@Suite("stablesam track --soft", .serialized)
struct SoftMatteCLITests {
    let accept = ["--min-score=-100", "--threads", "1", "--quiet"]

    func track(_ input: String, _ out: String, _ extra: [String]) throws -> TrackCLI.Result {
        try TrackCLI.run(["track", input, "--model", TrackCLI.tinyModel, "--out", out] + extra)
    }

    func objects(_ s: Scratch) throws -> String {
        try Data(#"[{"id": 1, "name": "car", "box": [4, 12, 18, 26]}, {"id": 2, "box": [50, 30, 60, 40]}]"#.utf8)
            .write(to: s.file("objects.json"))
        return s.path("objects.json")
    }

    @Test("--soft --exr writes 16-bit mattes and named half EXR layers from --start-number; binary outputs stay the same",
          .timeLimit(.minutes(3)), arguments: [("piz", "piz"), ("dwaa", "dwa, small scanline blocks")])
    func softAndEXR(compression: String, exrheaderName: String) throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 4)
        let objects = try objects(s)
        let plain = try track(s.path("clip.mp4"), s.path("plain"), ["--objects", objects, "--start-number", "1001"] + accept)
        #expect(plain.status == 0, "\(plain.stderr)")
        let soft = try track(s.path("clip.mp4"), s.path("soft"), ["--objects", objects, "--start-number", "1001", "--soft",
                                                                   "--exr", "--exr-colour", "--exr-compression", compression] + accept)
        #expect(soft.status == 0, "\(soft.stderr)")

        #expect(s.list("soft/exr") == (1001...1004).map { "matte.\($0).exr" })
        #expect(s.list("soft/masks_soft") == ["1", "2"])
        #expect(s.list("soft/masks_soft/1") == (1001...1004).map { String(format: "%06d.png", $0) })
        for folder in ["masks/1", "masks/2", "palette"] {
            #expect(s.list("soft/" + folder) == s.list("plain/" + folder))
            for name in s.list("plain/" + folder) {
                #expect(try Data(contentsOf: s.file("soft/\(folder)/\(name)")) == Data(contentsOf: s.file("plain/\(folder)/\(name)")),
                        "\(folder)/\(name) changed with --soft")
            }
        }
        for name in s.list("plain/frames") {
            #expect(try Data(contentsOf: s.file("soft/frames/\(name)")) == Data(contentsOf: s.file("plain/frames/\(name)")),
                    "frames/\(name) changed with --soft")
        }

        for i in 0..<4 {
            let number = 1001 + i
            let exr = s.file("soft/exr/matte.\(number).exr")
            let header = try EXRReference.header(exr)
            #expect(header.channels.map(\.name) == ["A", "B", "G", "R", "car.A", "obj2.A"])
            #expect(header.channels.allSatisfy { $0.type == "16-bit floating-point" })
            #expect(header.compression == exrheaderName, "\(header.compression)")
            let pixels = try EXRReference.pixels(exr)
            let json = try FrameJSON.read(s.file("soft/frames/" + String(format: "%06d.json", i)))
            var union = [Float](repeating: 0, count: 64 * 48)
            for (id, layer) in [(1, "car.A"), (2, "obj2.A")] {
                let png = try ImageReader.readGray16(s.file("soft/masks_soft/\(id)/" + String(format: "%06d.png", number)))
                let values = try #require(pixels[layer])
                let bad = values.indices.filter {
                    let v = Float(png.pixels[$0]) / 65535
                    return abs(values[$0] - v) > max(v * 0x1p-11, 0x1p-25) + 0.5 / 65535 + 1e-7
                }
                #expect(bad.isEmpty, "frame \(i) \(layer): \(bad.count) values differ from the PNG")
                // The soft matte agrees with the binary mask: at least half inside, at most half outside.
                let object = try #require(json.objects.first { $0.id == id })
                let mask = object.mask.decode()
                if object.state == "tracked" {
                    #expect(mask.indices.allSatisfy { mask[$0] ? png.pixels[$0] >= 32767 : png.pixels[$0] <= 32768 })
                    #expect(mask.contains(true))
                } else {
                    #expect(png.pixels.allSatisfy { $0 == 0 }, "an object that is not tracked has alpha 0")
                }
                for p in union.indices { union[p] = max(union[p], Float(png.pixels[p]) / 65535) }
            }
            let a = try #require(pixels["A"])
            #expect(a.indices.allSatisfy { abs(a[$0] - union[$0]) <= max(union[$0] * 0x1p-11, 0x1p-25) + 0.5 / 65535 + 1e-7 },
                    "A is the union of the mattes")
            let r = try #require(pixels["R"])
            // DWAA is lossy on colour (R, G, B) only: alpha above is checked as tightly as with PIZ.
            let colourTolerance: Float = compression == "dwaa" ? 0.05 : 1e-3
            #expect(r.indices.allSatisfy { r[$0] <= a[$0] + colourTolerance }, "colour is premultiplied")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: s.file("soft/summary.json"))) as! [String: Any]
        let settings = try #require((summary["settings"] as? [String: Any])?["soft_matte"] as? [String: Any])
        #expect(settings["feather"] as? Double == 0 && settings["grow"] as? Int == 0 && settings["fill_holes"] as? Bool == false)
        let exrSettings = try #require(settings["exr"] as? [String: Any])
        #expect(exrSettings["compression"] as? String == compression && exrSettings["colour"] as? Bool == true)
        #expect((summary["outputs"] as? [String: String])?["exr"] == "exr/matte.####.exr")
        #expect((summary["outputs"] as? [String: String])?["masks_soft"] == "masks_soft/<id>/")
    }

    @Test("--fill-holes, --grow and --feather shape the soft matte; the matte video carries it; --resume replays it",
          .timeLimit(.minutes(3)))
    func shapedMatteVideoAndResume() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 3)
        let objects = try objects(s)
        let options = ["--objects", objects, "--soft", "--fill-holes", "--grow", "2", "--feather", "3", "--matte-video"] + accept
        let r = try track(s.path("clip.mp4"), s.path("out"), options)
        #expect(r.status == 0, "\(r.stderr)")
        /// matte.mov's alpha as 16-bit values.
        func matteAlpha() throws -> [UInt16] {
            let raw = [UInt8](try TrackCLI.tool("ffmpeg", ["-i", s.path("out/matte.mov"), "-vf", "alphaextract", "-f", "rawvideo",
                                                           "-pix_fmt", "gray16le", "-"]))
            return (0..<(raw.count / 2)).map { UInt16(raw[2 * $0]) | UInt16(raw[2 * $0 + 1]) << 8 }
        }
        func pngUnion(_ i: Int) throws -> [Float] {
            var union = [Float](repeating: 0, count: 64 * 48)
            for id in [1, 2] {
                let png = try ImageReader.readGray16(s.file("out/masks_soft/\(id)/" + String(format: "%06d.png", i)))
                for p in union.indices { union[p] = max(union[p], Float(png.pixels[p]) / 65535) }
            }
            return union
        }
        func check(_ alpha: [UInt16]) throws {
            #expect(alpha.count == 3 * 64 * 48)
            for i in 0..<3 {
                let union = try pngUnion(i)
                let frame = alpha[(i * 64 * 48)..<((i + 1) * 64 * 48)]
                let worst = zip(frame, union).map { abs(Float($0) / 65535 - $1) * 1023 }.max() ?? 0
                // The 16-bit union through ProRes's 10-bit alpha: within one 10-bit step (an 8-bit
                // alpha would be off by up to 2 steps).
                #expect(worst <= 1, "matte video frame \(i) is the union of the soft mattes (10-bit): off by \(worst) steps")
            }
        }
        try check(try matteAlpha())
        // Grown and feathered: more soft coverage than the binary mask, and no hard 0/1 edge everywhere.
        let json = try FrameJSON.read(s.file("out/frames/000000.json"))
        let png = try ImageReader.readGray16(s.file("out/masks_soft/1/000000.png"))
        let binaryArea = json.objects[0].mask.decode().filter { $0 }.count
        #expect(png.pixels.filter { $0 >= 32768 }.count >= binaryArea)
        #expect(png.pixels.contains { $0 > 0 && $0 < 65535 })

        let refused = try track(s.path("clip.mp4"), s.path("out"), ["--objects", objects, "--resume", "--matte-video"] + accept)
        #expect(refused.status != 0 && refused.stderr.contains("soft-matte"), "\(refused.stderr)")
        try FileManager.default.removeItem(at: s.file("out/matte.mov"))
        let resumed = try track(s.path("clip.mp4"), s.path("out"), options + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        try check(try matteAlpha())
    }

    @Test("a backward --soft --exr run writes the frames it tracked")
    func backward() throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 5)
        let r = try track(s.path("clip.mp4"), s.path("out"), ["--box", "13,12,27,26", "--start-frame", "3", "--backward",
                                                              "--soft", "--exr", "--exr-name", "shot", "--start-number", "1001"] + accept)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.list("out/exr") == (1001...1004).map { "shot.\($0).exr" })
        #expect(s.list("out/masks_soft/1").count == 4)
        #expect(try EXRReference.header(s.file("out/exr/shot.1001.exr")).channels.map(\.name) == ["obj1.A"])
    }

    @Test("soft-matte options are checked before anything runs", arguments: [
        (["--feather", "2"], "give --soft too"),
        (["--exr"], "give --soft too"),
        (["--soft", "--feather=-1"], "--feather must be 0 or more"),
        (["--soft", "--exr", "--exr-compression", "jpeg"], "exr-compression"),
        (["--soft", "--exr-colour"], "give --exr too"),
        (["--soft", "--max-hole-area", "4"], "give --fill-holes too"),
    ])
    func badOptions(arguments: [String], message: String) throws {
        let s = try Scratch()
        try TrackCLI.makeClip(s.file("clip.mp4"), frames: 2)
        let r = try track(s.path("clip.mp4"), s.path("out"), ["--box", "4,12,18,26"] + arguments)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.path("out")), "nothing is created")
    }
}
