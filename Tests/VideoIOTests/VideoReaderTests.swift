import Foundation
import Imaging
import Testing
import VideoIO

/// Reads every frame of `url` with VideoReader.
func readAll(_ url: URL) throws -> (VideoInfo, [VideoFrame]) {
    let reader = try VideoReader(url: url)
    var frames: [VideoFrame] = []
    while let frame = try reader.next() { frames.append(frame) }
    return (reader.info, frames)
}

/// ffprobe's presentation times of every frame, as printed ("0.100000").
func probeTimes(_ url: URL) throws -> [String] {
    String(decoding: try FFmpegCLI.run("ffprobe", ["-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                                  "-of", "csv=p=0", url.path]), as: UTF8.self)
        .split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")) }.filter { !$0.isEmpty }
}

@Suite("reading and writing video")
struct VideoReaderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var codec: [String]
        var testDescription: String { "\(file) \(codec.joined(separator: " "))" }
    }

    static let cases: [Case] = [
        Case(file: "a.mp4", codec: ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        Case(file: "b.mov", codec: ["-c:v", "prores_ks", "-pix_fmt", "yuv422p10le"]),
        Case(file: "c.mkv", codec: ["-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error"]),
        Case(file: "d.webm", codec: ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p"]),
        Case(file: "e.avi", codec: ["-c:v", "mpeg4", "-pix_fmt", "yuv420p"]),
        Case(file: "f.mp4", codec: ["-c:v", "libx264", "-pix_fmt", "yuv444p10le"]),
    ]

    @Test("every container and codec decodes to FFmpeg's own pixels, frame for frame", arguments: cases)
    func codecs(_ c: Case) throws {
        let dir = try TemporaryDirectory()
        let url = dir.file(c.file)
        // Odd size where the codec allows it (4:2:0 needs even sides).
        let size = c.codec.contains("yuv420p") || c.codec.contains("yuv420p10le") ? "38x24" : "37x23"
        try FFmpegCLI.run("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=\(size):rate=12", "-frames:v", "7"] + c.codec + [url.path])
        let (info, frames) = try readAll(url)
        #expect(frames.count == 7)
        #expect("\(info.width)x\(info.height)" == size)
        let expected = try FFmpegCLI.rawPixels(of: url)
        #expect(frames.flatMap(\.image.pixels) == expected)
        #expect(frames.map(\.index) == Array(0..<7))
    }

    @Test("variable frame rate timestamps are kept, and the writer reproduces them")
    func variableFrameRate() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("vfr.mp4")
        // Irregular gaps: 0, .17, .24, .35, .42, ...
        try FFmpegCLI.run("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=10", "-frames:v", "8",
                                     "-vf", "settb=1/1000,setpts='(N*0.1+mod(N\\,2)*0.05+mod(N\\,3)*0.02)/TB'",
                                     "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-c:v", "libx264", url.path])
        let (info, frames) = try readAll(url)
        let times = try probeTimes(url)
        #expect(Set(zip(times.dropFirst(), times).map { Double($0)! - Double($1)! }.map { ($0 * 1000).rounded() }).count > 1,
                "the input must really be VFR: \(times)")
        #expect(frames.map { String(format: "%.6f", $0.time) } == times)

        let out = dir.file("copy.mp4")
        let writer = try VideoWriter(url: out, width: info.width, height: info.height, codec: .h264,
                                     timeBase: info.timeBase, frameRate: info.frameRate)
        for f in frames { try writer.append(f.image, pts: f.pts, duration: f.duration) }
        try writer.finish()
        #expect(try probeTimes(out) == times)
    }

    @Test("rotation metadata turns frames upright, as FFmpeg's autorotate does")
    func rotation() throws {
        let dir = try TemporaryDirectory()
        let plain = dir.file("plain.mp4"), rotated = dir.file("rotated.mp4")
        try FFmpegCLI.run("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=40x24:rate=5", "-frames:v", "2",
                                     "-c:v", "libx264", "-pix_fmt", "yuv444p", "-qp", "0", plain.path])
        try FFmpegCLI.run("ffmpeg", ["-i", plain.path, "-c", "copy", "-metadata:s:v", "rotate=90", rotated.path])
        let (info, frames) = try readAll(rotated)
        // The mov muxer stores the tag as a display matrix that turns the picture a quarter
        // turn; FFmpeg's CLI (the reference users compare with) reads it as 270 clockwise.
        #expect(info.rotation == 270)
        #expect(info.width == 24 && info.height == 40)
        let (_, upright) = try readAll(plain)
        #expect(frames[0].image == upright[0].image.rotated(clockwise: 270))
        // 270 clockwise: the source's top-right pixel lands top-left.
        #expect(frames[0].image[0, 0] == upright[0].image[39, 0])
        let reference = try FFmpegCLI.rawPixels(of: rotated)
        #expect(frames.flatMap(\.image.pixels) == reference, "differs from ffmpeg's autorotated decode")
    }

    @Test("an image folder reads in natural name order at the given rate")
    func imageFolder() throws {
        let dir = try TemporaryDirectory()
        let names = ["1.png", "2.png", "10.png"]
        for (i, name) in names.enumerated() {
            try FFmpegCLI.makeImage(dir.file(name), source: "color=c=0x\(String(format: "%02x", 50 + 100 * i))0000:size=9x7")
        }
        _ = FileManager.default.createFile(atPath: dir.file("notes.txt").path, contents: Data("x".utf8))
        let reader = try VideoReader(url: dir.url, folderFrameRate: Rational(25, 1))
        #expect(reader.info.frameCount == 3 && reader.info.isImageSequence)
        var reds: [UInt8] = [], times: [Double] = []
        while let f = try reader.next() { reds.append(f.image.pixels[0]); times.append(f.time) }
        // The colour source is YUV: allow its rounding.
        #expect(zip(reds, [50, 150, 250]).allSatisfy { abs(Int($0) - $1) <= 2 }, "\(reds)")
        #expect(times == [0, 0.04, 0.08])
    }

    @Test("missing, empty, non-video and frameless inputs are clear errors")
    func badInputs() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: VideoIOError.fileNotFound(path: dir.file("nope.mp4").path)) { try VideoReader(url: dir.file("nope.mp4")) }
        _ = FileManager.default.createFile(atPath: dir.file("empty.mp4").path, contents: Data())
        #expect(throws: VideoIOError.emptyFile(path: dir.file("empty.mp4").path)) { try VideoReader(url: dir.file("empty.mp4")) }
        _ = FileManager.default.createFile(atPath: dir.file("text.mp4").path, contents: Data("hello, not a video\n".utf8))
        #expect(performing: { try VideoReader(url: dir.file("text.mp4")) }, throws: { error in
            if case .notAVideo = error as? VideoIOError { return true } else { return false }
        })
        try FileManager.default.createDirectory(at: dir.file("nothing"), withIntermediateDirectories: true)
        #expect(throws: VideoIOError.noFrames(path: dir.file("nothing").path)) { try VideoReader(url: dir.file("nothing")) }
        let audio = dir.file("audio.m4a")
        try FFmpegCLI.run("ffmpeg", ["-f", "lavfi", "-i", "sine=duration=0.2", audio.path])
        #expect(performing: { try VideoReader(url: audio) }, throws: { error in
            if case .notAVideo = error as? VideoIOError { return true } else { return false }
        })
    }

    @Test("a stream that changes size mid-way comes out at its first size, each rescaled frame flagged")
    func sizeChange() throws {
        // Two H.264 segments in MPEG-TS, 160x120 then 320x240: a valid resolution switch (issue 17's
        // crash 7: the tracker trapped on the first bigger frame).
        let dir = try TemporaryDirectory()
        let clip = dir.file("switch.ts")
        try FFmpegCLI.makeSizeChange(clip, dir: dir)
        let reader = try VideoReader(url: clip)
        #expect(reader.info.width == 160 && reader.info.height == 120)
        var sizes: [String] = [], flagged: [Int] = [], times: [Int64] = []
        while let f = try reader.next() {
            sizes.append("\(f.image.width)x\(f.image.height)")
            times.append(f.pts)
            if let from = f.rescaledFrom {
                #expect(from.width == 320 && from.height == 240)
                flagged.append(f.index)
            }
        }
        #expect(sizes.count == 10 && Set(sizes) == ["160x120"], "\(sizes)")
        #expect(flagged == [5, 6, 7, 8, 9])
        // The two encodes restart their clocks; the frames still come out in increasing time.
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "\(times)")
    }

    @Test("ProRes 4444 keeps the alpha channel exactly")
    func proresAlpha() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("matte.mov")
        let (w, h) = (21, 13)
        let writer = try VideoWriter(url: out, width: w, height: h, codec: .prores4444, timeBase: Rational(1, 25),
                                     frameRate: Rational(25, 1))
        let alpha = (0..<(w * h)).map { UInt8($0 % 3 == 0 ? 255 : 0) }
        for t in 0..<3 {
            try writer.append(RGBImage(width: w, height: h, fill: RGBColor(r: 200, g: 50, b: 10)),
                              alpha: GrayImage(width: w, height: h, pixels: alpha), pts: Int64(t), duration: 1)
        }
        #expect(!(try dir.contents().contains("matte.mov")), "nothing under the final name before finish")
        try writer.finish()
        let decoded = try FFmpegCLI.run("ffmpeg", ["-i", out.path, "-vf", "alphaextract", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        #expect([UInt8](decoded) == Array([[UInt8]](repeating: alpha, count: 3).joined()))
        #expect(try probeTimes(out) == ["0.000000", "0.040000", "0.080000"])
    }
}
