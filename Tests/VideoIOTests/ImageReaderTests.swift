import Foundation
import Testing
import VideoIO

@Suite("reading still images")
struct ImageReaderTests {
    @Test("an RGB PNG of odd size reads back exactly as FFmpeg decodes it")
    func rgbPNG() throws {
        let dir = try TemporaryDirectory()
        let png = dir.file("x.png")
        try FFmpegCLI.makeImage(png, extra: ["-pix_fmt", "rgb24"])
        #expect(try FFmpegCLI.probe(png)["pix_fmt"] == "rgb24")
        let image = try ImageReader.read(png)
        #expect(image.width == 37 && image.height == 23)
        #expect(image.pixels == (try FFmpegCLI.rawPixels(of: png)))
    }

    @Test("an RGBA PNG reads as its RGB channels, alpha dropped")
    func rgbaPNG() throws {
        let dir = try TemporaryDirectory()
        let png = dir.file("alpha.png")
        // Alpha varies across the image, so a conversion that premultiplied would show.
        try FFmpegCLI.makeImage(png, source: "testsrc=size=31x17", extra: ["-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*8'", "-pix_fmt", "rgba"])
        #expect(try FFmpegCLI.probe(png)["pix_fmt"] == "rgba")
        let rgba = try FFmpegCLI.rawPixels(of: png, pixelFormat: "rgba")
        let expected = stride(from: 0, to: rgba.count, by: 4).flatMap { rgba[$0..<$0 + 3] }
        let image = try ImageReader.read(png)
        #expect(image.width == 31 && image.height == 17)
        #expect(image.pixels == expected)
    }

    @Test("a gray PNG reads as equal R, G, B and exactly as gray")
    func grayPNG() throws {
        let dir = try TemporaryDirectory()
        let png = dir.file("gray.png")
        try FFmpegCLI.makeImage(png, source: "testsrc=size=29x11", extra: ["-pix_fmt", "gray"])
        #expect(try FFmpegCLI.probe(png)["pix_fmt"] == "gray")
        let gray = try FFmpegCLI.rawPixels(of: png, pixelFormat: "gray")
        let image = try ImageReader.read(png)
        #expect(image.pixels == gray.flatMap { [$0, $0, $0] })
        let asGray = try ImageReader.readGray(png)
        #expect(asGray.width == 29 && asGray.height == 11)
        #expect(asGray.pixels == gray)
    }

    @Test("a 4:2:0 JPEG reads bit-exactly as ffmpeg converts it with the same swscale flags")
    func jpeg() throws {
        let dir = try TemporaryDirectory()
        let jpg = dir.file("x.jpg")
        try FFmpegCLI.makeImage(jpg, extra: ["-pix_fmt", "yuvj420p", "-q:v", "2"])
        let image = try ImageReader.read(jpg)
        #expect(image.width == 37 && image.height == 23)
        let reference = try FFmpegCLI.rawPixels(of: jpg)
        #expect(reference.count == image.pixels.count)
        let worst = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst == 0, "largest channel difference from ffmpeg's decode: \(worst)")
    }

    @Test("BMP, TIFF and lossless WebP decode to the same pixels as the PNG", arguments: ["bmp", "tiff", "webp"])
    func otherFormats(_ ext: String) throws {
        let dir = try TemporaryDirectory()
        let png = dir.file("x.png"), other = dir.file("x.\(ext)")
        try FFmpegCLI.makeImage(png, source: "testsrc=size=33x9", extra: ["-pix_fmt", "rgb24"])
        let extra = ext == "webp" ? ["-lossless", "1"] : []
        try FFmpegCLI.run("ffmpeg", ["-i", png.path] + extra + [other.path])
        let fromOther = try ImageReader.read(other)
        #expect(fromOther.width == 33 && fromOther.height == 9)
        // Lossless WebP decodes to ARGB, BMP and TIFF to RGB24: all three are exact.
        #expect(fromOther.pixels == (try ImageReader.read(png)).pixels)
    }
}

@Suite("image read errors")
struct ImageReadErrorTests {
    @Test("a missing file is reported as missing, by name")
    func missingFile() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("nowhere.png")
        #expect(throws: VideoIOError.fileNotFound(path: url.path)) { try ImageReader.read(url) }
    }

    @Test("a text file is not an image, and the error names it", arguments: ["notes.txt", "disguised.png"])
    func textFile(_ name: String) throws {
        let dir = try TemporaryDirectory()
        let url = dir.file(name)
        try Data("this is not a picture\n".utf8).write(to: url)
        let error = try #require(throws: VideoIOError.self) { try ImageReader.read(url) }
        #expect(error.description.contains(url.path))
        #expect(error != .fileNotFound(path: url.path))
    }

    @Test("a zero-byte file is reported as empty")
    func emptyFile() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("empty.png")
        try Data().write(to: url)
        #expect(throws: VideoIOError.emptyFile(path: url.path)) { try ImageReader.read(url) }
    }

    @Test("reading palette indices from an RGB PNG is refused")
    func indexedFromRGB() throws {
        let dir = try TemporaryDirectory()
        let png = dir.file("rgb.png")
        try FFmpegCLI.makeImage(png, extra: ["-pix_fmt", "rgb24"])
        let error = try #require(throws: VideoIOError.self) { try ImageReader.readIndexed(png) }
        #expect(error.description.contains("palette"))
    }
}
