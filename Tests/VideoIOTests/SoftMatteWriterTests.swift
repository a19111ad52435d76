import Foundation
import Testing
import TestSupport
import VideoIO

/// 16-bit PNG and EXR mattes, read back by decoders this project did not write: FFmpeg's CLI for
/// PNG, OpenEXR's exrheader and OpenImageIO's oiiotool for EXR.
@Suite("soft matte writers")
struct SoftMatteWriterTests {
    /// Alpha values that exercise half precision: exact 0 and 1, a ramp, tiny (subnormal-half) values.
    static func alphas(width: Int, height: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<(width * height)).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            switch i % 5 {
            case 0: return 0
            case 1: return 1
            case 2: return Float(i) / Float(width * height)
            case 3: return Float(state >> 40) / Float(1 << 24) * 1e-3
            default: return Float(state >> 40) / Float(1 << 24)
            }
        }
    }

    /// |exr - png / 65535| within half precision (relative 2^-11, absolute 2^-25 below the normal
    /// range) plus the PNG's own rounding (half a 16-bit step).
    static func agrees(exr: Float, png: UInt16) -> Bool {
        let v = Float(png) / 65535
        return abs(exr - v) <= max(abs(v) * 0x1p-11, 0x1p-25) + 0.5 / 65535 + 1e-7
    }

    @Test("16-bit PNGs decode to the same values, through ImageReader and through the ffmpeg CLI")
    func png16RoundTrip() throws {
        let dir = try TemporaryDirectory()
        let (w, h) = (37, 5)
        var values: [UInt16] = [0, 1, 255, 256, 257, 32767, 32768, 65534, 65535]
        var state: UInt64 = 7
        while values.count < w * h {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values.append(UInt16(truncatingIfNeeded: state >> 33))
        }
        let url = dir.file("soft.png")
        try ImageWriter.writePNG(Gray16Image(width: w, height: h, pixels: values), to: url)
        #expect(try FFmpegCLI.probe(url)["pix_fmt"] == "gray16be")
        #expect(try ImageReader.readGray16(url).pixels == values)
        let raw = try FFmpegCLI.rawPixels(of: url, pixelFormat: "gray16be")
        #expect((0..<(w * h)).map { UInt16(raw[2 * $0]) << 8 | UInt16(raw[2 * $0 + 1]) } == values)
        #expect(try dir.contents() == ["soft.png"], "no temporary file left")
    }

    @Test("alpha becomes 16-bit by round(alpha * 65535), clamped to 0...1")
    func alphaQuantisation() {
        let image = Gray16Image(width: 6, height: 1, alpha: [0, 0.5, 1, -0.1, 1.2, 0.49 / 65535])
        #expect(image.pixels == [0, 32768, 65535, 0, 65535, 0])
    }

    @Test("a two-object EXR has named half layers and the PNG mattes' values, for each compression",
          arguments: EXRCompression.allCases)
    func exrLayers(compression: EXRCompression) throws {
        let dir = try TemporaryDirectory()
        let (w, h) = (29, 19)  // more rows than one ZIP block (16) holds; PIZ and DWAA hold 32, DWAB 256
        let car = Self.alphas(width: w, height: h, seed: 1), obj2 = Self.alphas(width: w, height: h, seed: 2)
        let pngs = [Gray16Image(width: w, height: h, alpha: car), Gray16Image(width: w, height: h, alpha: obj2)]
        let union = zip(car, obj2).map { max($0, $1) }
        let red = (0..<(w * h)).map { Float($0 % w) / Float(w) * union[$0] }
        let url = dir.file("shot.1001.exr")
        try EXRWriter.write([EXRChannel(name: "car.A", values: car), EXRChannel(name: "obj2.A", values: obj2),
                             EXRChannel(name: "R", values: red), EXRChannel(name: "A", values: union)],
                            width: w, height: h, compression: compression, to: url)
        #expect(try dir.contents() == ["shot.1001.exr"], "no temporary file left")

        let header = try EXRReference.header(url)
        #expect(header.channels.map(\.name).sorted() == ["A", "R", "car.A", "obj2.A"])
        #expect(header.channels.allSatisfy { $0.type == "16-bit floating-point" }, "\(header.channels)")
        #expect(header.compression.hasPrefix(Self.exrheaderName[compression]!), "\(header.compression)")
        #expect(header.dataWindow == "(0 0) - (\(w - 1) \(h - 1))")

        let pixels = try EXRReference.pixels(url)
        for (name, png) in [("car.A", pngs[0]), ("obj2.A", pngs[1])] {
            let values = try #require(pixels[name], "oiiotool found no \(name) in \(pixels.keys.sorted())")
            #expect(values.count == w * h)
            let bad = values.indices.filter { !Self.agrees(exr: values[$0], png: png.pixels[$0]) }
            #expect(bad.isEmpty, "\(name): \(bad.count) values differ, first at \(bad.first.map { "\($0): \(values[$0]) vs \(png.pixels[$0])" } ?? "")")
        }
        let a = try #require(pixels["A"])
        #expect(a.indices.allSatisfy { abs(a[$0] - union[$0]) <= max(union[$0] * 0x1p-11, 0x1p-25) }, "A is lossless half")
        // DWA is lossy on colour only; the others are lossless.
        let r = try #require(pixels["R"])
        let tolerance: Float = [.dwaa, .dwab].contains(compression) ? 0.05 : 0
        #expect(r.indices.allSatisfy { abs(r[$0] - red[$0]) <= max(abs(red[$0]) * 0x1p-11, 0x1p-25) + tolerance })
    }

    /// exrheader's name for each compression (DWAA and DWAB differ only in lines per block).
    static let exrheaderName: [EXRCompression: String] = [
        .none: "none", .zip: "zip, multi-scanline blocks", .piz: "piz",
        .dwaa: "dwa, small scanline blocks", .dwab: "dwa, medium scanline blocks",
    ]

    @Test("a DWA file (OpenEXR's C++ writer) has a ZIP file's header (OpenEXRCore's) apart from the compression",
          arguments: [EXRCompression.dwaa, .dwab])
    func dwaHeaderMatchesZip(compression: EXRCompression) throws {
        let dir = try TemporaryDirectory()
        let (w, h) = (7, 40)
        let channels = ["A", "B", "G", "R", "car.A", "obj2.A"].enumerated().map { k, name in
            EXRChannel(name: name, values: Self.alphas(width: w, height: h, seed: UInt64(k)))
        }
        try EXRWriter.write(channels, width: w, height: h, compression: .zip, to: dir.file("zip.exr"))
        try EXRWriter.write(channels, width: w, height: h, compression: compression, to: dir.file("dwa.exr"))
        let zip = try EXRReference.header(dir.file("zip.exr")), dwa = try EXRReference.header(dir.file("dwa.exr"))
        #expect(dwa.compression == Self.exrheaderName[compression]!)
        #expect(dwa.channels == zip.channels && dwa.version == zip.version)
        var expected = zip.attributes
        expected["compression"] = dwa.attributes["compression"]
        #expect(dwa.attributes == expected)
        #expect(Set(dwa.attributes.keys).isSuperset(of: ["dataWindow", "displayWindow", "lineOrder", "pixelAspectRatio"]))
    }

    @Test("a DWA write that OpenEXR's C++ writer refuses is an error naming the file and leaves nothing behind; NULs in names are refused")
    func dwaErrors() throws {
        let dir = try TemporaryDirectory()
        let one = [Float](repeating: 1, count: 4)
        // Imf would cut the name to 255 bytes without a word; OpenEXRCore refuses it, and so does the C++ writer.
        let long = String(repeating: "x", count: 300) + ".A"
        let url = dir.file("long.exr")
        let error = #expect(throws: VideoIOError.self) {
            try EXRWriter.write([EXRChannel(name: long, values: one)], width: 2, height: 2, compression: .dwaa, to: url)
        }
        if case .openEXRException(let path, let compression, let message) = error {
            #expect(path == url.path && compression == "dwaa" && message.contains("longer than 255"), "\(message)")
        } else {
            Issue.record("expected an OpenEXR C++ writer error, got \(String(describing: error))")
        }
        #expect(error.map { "\($0)".contains(url.path) } == true)
        // Both writers take C strings: "car\0.A" and "car\0.B" would both become "car".
        let nul = dir.file("nul.exr")
        #expect(throws: VideoIOError.invalidImage(path: nul.path, reason: "channel name 'car\0.A' is empty, holds a NUL or is given twice")) {
            try EXRWriter.write([EXRChannel(name: "car\0.A", values: one), EXRChannel(name: "car\0.B", values: one)],
                                width: 2, height: 2, compression: .dwaa, to: nul)
        }
        #expect(try dir.contents().isEmpty, "no file or temporary file is left by a failed write")
    }

    @Test("EXR failures are errors naming the file: a missing folder, a repeated channel, a name OpenEXR refuses")
    func exrErrors() throws {
        let dir = try TemporaryDirectory()
        let one = [Float](repeating: 1, count: 4)
        let missing = dir.file("no/such/x.exr")
        #expect(throws: VideoIOError.cannotWrite(path: missing.path, reason: "directory \(missing.deletingLastPathComponent().path) does not exist; create it first")) {
            try EXRWriter.write([EXRChannel(name: "A", values: one)], width: 2, height: 2, to: missing)
        }
        #expect(throws: VideoIOError.self) {
            try EXRWriter.write([EXRChannel(name: "A", values: one), EXRChannel(name: "A", values: one)], width: 2, height: 2,
                                to: dir.file("twice.exr"))
        }
        let long = String(repeating: "x", count: 300) + ".A"
        let error = #expect(throws: VideoIOError.self) {
            try EXRWriter.write([EXRChannel(name: long, values: one)], width: 2, height: 2, to: dir.file("long.exr"))
        }
        if case .openEXR(let path, let operation, _, let message) = error {
            #expect(path == dir.file("long.exr").path && operation.hasPrefix("exr_add_channel") && !message.isEmpty)
        } else {
            Issue.record("expected an OpenEXR error, got \(String(describing: error))")
        }
        #expect(try dir.contents().isEmpty, "no file or temporary file is left by a failed write")
    }
}
