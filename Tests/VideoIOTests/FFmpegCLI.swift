import Foundation
import Testing

/// The `ffmpeg`/`ffprobe` binaries on PATH make reference files and decodes that the
/// library under test must agree with.
enum FFmpegCLI {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func find(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure(description: "\(name) not found on PATH; install FFmpeg (apt-get install ffmpeg)")
    }

    /// Five frames at 160x120, then five at 320x240, as one MPEG-TS H.264 stream (two encodes
    /// concatenated byte for byte, which is how broadcast streams switch resolution).
    static func makeSizeChange(_ url: URL, dir: TemporaryDirectory) throws {
        var bytes = Data()
        for (i, size) in ["160x120", "320x240"].enumerated() {
            let part = dir.file("part\(i).ts")
            try run("ffmpeg", ["-f", "lavfi", "-i", "testsrc=size=\(size):rate=10", "-frames:v", "5", "-c:v", "libx264",
                               "-pix_fmt", "yuv420p", "-output_ts_offset", "\(Double(i) * 0.5)", part.path])
            bytes.append(try Data(contentsOf: part))
        }
        try bytes.write(to: url)
    }

    /// Runs the tool quietly and returns its stdout; a non-zero exit throws with stderr.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = try find(tool)
        process.arguments = ["-v", "error"] + (tool == "ffmpeg" ? ["-nostdin", "-y"] : []) + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) failed: "
                          + String(decoding: errors, as: UTF8.self))
        }
        return data
    }

    /// One frame of a lavfi test source written to `url` (format from its extension).
    static func makeImage(_ url: URL, source: String = "testsrc=size=37x23", extra: [String] = []) throws {
        try run("ffmpeg", ["-f", "lavfi", "-i", source, "-frames:v", "1"] + extra + [url.path])
    }

    /// FFmpeg's own decode of a file as packed pixels, converted with the same swscale flags
    /// VideoIO uses.
    static func rawPixels(of url: URL, pixelFormat: String = "rgb24") throws -> [UInt8] {
        [UInt8](try run("ffmpeg", ["-i", url.path, "-sws_flags", "bitexact+accurate_rnd+neighbor",
                                   "-f", "rawvideo", "-pix_fmt", pixelFormat, "-"]))
    }

    /// ffprobe's view of the first video stream, e.g. ["width": "37", "pix_fmt": "pal8"].
    static func probe(_ url: URL) throws -> [String: String] {
        let text = String(decoding: try run("ffprobe", ["-select_streams", "v:0", "-show_entries",
                                                       "stream=width,height,pix_fmt,codec_name",
                                                       "-of", "default=noprint_wrappers=1", url.path]),
                          as: UTF8.self)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }
}

/// A fresh directory per test, removed afterwards.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("videoio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    deinit {
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        try? FileManager.default.removeItem(at: url)
    }
}
