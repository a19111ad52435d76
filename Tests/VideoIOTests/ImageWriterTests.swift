import Foundation
import Imaging
import Testing
import VideoIO

/// Deterministic pixel noise (a 64-bit LCG), so a round trip exercises every byte value.
func noise(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

@Suite("writing PNG files")
struct ImageWriterTests {
    @Test("an RGB image of odd size survives a PNG round trip exactly")
    func rgbRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("rgb.png")
        let image = RGBImage(width: 37, height: 23, pixels: noise(count: 37 * 23 * 3, seed: 1))
        try ImageWriter.writePNG(image, to: url)
        #expect(try FFmpegCLI.probe(url)["pix_fmt"] == "rgb24")
        #expect(try ImageReader.read(url) == image)
        #expect(try FFmpegCLI.rawPixels(of: url) == image.pixels)
    }

    @Test("a gray image survives a PNG round trip exactly and is stored as gray")
    func grayRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("matte.png")
        let image = GrayImage(width: 13, height: 7, pixels: noise(count: 13 * 7, seed: 2))
        try ImageWriter.writePNG(image, to: url)
        #expect(try FFmpegCLI.probe(url)["pix_fmt"] == "gray")
        #expect(try ImageReader.readGray(url) == image)
        #expect(try ImageReader.read(url).pixels == image.pixels.flatMap { [$0, $0, $0] })
    }

    @Test("a palette image is stored as pal8 and reads back as its indices and DAVIS colours")
    func paletteRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("00000.png")
        let indices = noise(count: 11 * 5, seed: 3).map { $0 % 4 }  // background + objects 1-3
        let image = IndexedImage(width: 11, height: 5, indices: indices)
        try ImageWriter.writePNG(image, to: url)
        #expect(try FFmpegCLI.probe(url)["pix_fmt"] == "pal8")

        let indexed = try ImageReader.readIndexed(url)
        #expect(indexed.indices == indices)
        #expect(Array(indexed.palette.prefix(4)) == [
            RGBColor(r: 0, g: 0, b: 0), RGBColor(r: 128, g: 0, b: 0),
            RGBColor(r: 0, g: 128, b: 0), RGBColor(r: 128, g: 128, b: 0),
        ])
        // ffmpeg's own decode shows the palette colours at each pixel.
        #expect(try FFmpegCLI.rawPixels(of: url) == image.rgb.pixels)
        #expect(try ImageReader.read(url) == image.rgb)
    }

    @Test("writing replaces an existing file and leaves no temporary file")
    func replacesAtomically() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("frame.png")
        try Data("old contents".utf8).write(to: url)
        let image = RGBImage(width: 3, height: 2, fill: RGBColor(r: 1, g: 2, b: 3))
        try ImageWriter.writePNG(image, to: url)
        #expect(try dir.contents() == ["frame.png"])
        #expect(try ImageReader.read(url) == image)
    }

    @Test("writing into a missing directory fails by name and leaves nothing")
    func missingDirectory() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("no/such/dir/out.png")
        let error = try #require(throws: VideoIOError.self) {
            try ImageWriter.writePNG(GrayImage(width: 2, height: 2, pixels: [0, 255, 255, 0]), to: url)
        }
        #expect(error.description.contains(url.path))
        #expect(try dir.contents().isEmpty)
    }

    @Test("writing below a regular file (not a directory) fails cleanly")
    func parentIsAFile() throws {
        let dir = try TemporaryDirectory()
        try Data("x".utf8).write(to: dir.file("plain"))
        let url = dir.file("plain/out.png")
        #expect(throws: VideoIOError.self) {
            try ImageWriter.writePNG(RGBImage(width: 1, height: 1), to: url)
        }
        #expect(try dir.contents() == ["plain"])
    }

    @Test("writing into a read-only directory fails and leaves no partial file",
          .enabled(if: getuid() != 0, "root ignores directory permissions"))
    func readOnlyDirectory() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.url.path)
        let url = dir.file("out.png")
        let error = try #require(throws: VideoIOError.self) {
            try ImageWriter.writePNG(RGBImage(width: 4, height: 4), to: url)
        }
        #expect(error.description.contains(url.path))
        #expect(try dir.contents().isEmpty)
    }

    @Test("an image with no pixels is refused before anything is written")
    func emptyImage() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("empty.png")
        #expect(throws: VideoIOError.self) {
            try ImageWriter.writePNG(RGBImage(width: 0, height: 5, pixels: []), to: url)
        }
        #expect(try dir.contents().isEmpty)
    }

    @Test("AtomicFile writes exactly the bytes given")
    func atomicBytes() throws {
        let dir = try TemporaryDirectory()
        let url = dir.file("summary.json")
        let bytes = Data(noise(count: 100_000, seed: 4))
        try AtomicFile.write(bytes, to: url)
        #expect(try Data(contentsOf: url) == bytes)
        #expect(try dir.contents() == ["summary.json"])
    }
}
