import Foundation
import Metrics
import Testing
import TestSupport

/// Runs the built `stablesam` binary and the FFmpeg tools for end-to-end tests.
enum TrackCLI {
    struct Result {
        var status: Int32
        var output: Data
        var stderr: String
        var stdout: String { String(decoding: output, as: UTF8.self) }
    }

    static let tinyModel = Fixtures.url("sam_tiny_win.pth").path

    @discardableResult
    static func run(_ arguments: [String], executable: URL? = nil) throws -> Result {
        let r = try CLIRunner.run(arguments, executable: executable)
        return Result(status: r.status, output: r.stdoutData, stderr: r.stderr)
    }

    /// Runs an FFmpeg tool; a failure throws with its stderr.
    @discardableResult
    static func tool(_ name: String, _ arguments: [String]) throws -> Data {
        let path = ["/usr/bin", "/usr/local/bin", "/bin"].map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? name
        let extra = name == "ffmpeg" ? ["-v", "error", "-nostdin", "-y"] : ["-v", "error"]
        let r = try run(extra + arguments, executable: URL(fileURLWithPath: path))
        guard r.status == 0 else { throw Failure(description: "\(name) \(arguments) failed: \(r.stderr)") }
        return r.output
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A clip of moving solid squares: object k is a `side` x `side` square of colour k
    /// that moves `speed` px per frame along x, starting at `starts[k]`.
    static func makeClip(_ url: URL, size: (Int, Int) = (64, 48), frames: Int = 8, rate: Int = 10,
                         extra: [String] = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]) throws {
        let graph = "color=c=black:s=\(size.0)x\(size.1):r=\(rate):d=\(Double(frames) / Double(rate))[bg];"
            + "color=c=red:s=14x14:r=\(rate)[a];color=c=0x00ff00:s=10x10:r=\(rate)[b];"
            + "[bg][a]overlay=x='4+3*n':y=12:shortest=1[ab];[ab][b]overlay=x='50-2*n':y=30:shortest=1"
        try tool("ffmpeg", ["-f", "lavfi", "-i", graph, "-frames:v", "\(frames)"] + extra + [url.path])
    }

    /// ffprobe's presentation times of every frame ("0.100000").
    static func frameTimes(_ url: URL) throws -> [String] {
        String(decoding: try tool("ffprobe", ["-select_streams", "v:0", "-show_entries", "frame=pts_time",
                                             "-of", "csv=p=0", url.path]), as: UTF8.self)
            .split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")) }.filter { !$0.isEmpty }
    }

    static func streamField(_ url: URL, _ field: String) throws -> String {
        String(decoding: try tool("ffprobe", ["-select_streams", "v:0", "-show_entries", "stream=\(field)",
                                             "-of", "default=noprint_wrappers=1:nokey=1", url.path]), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The parts of frames/NNNNNN.json the tests read.
struct FrameJSON: Decodable {
    struct Object: Decodable {
        var id: Int
        var name: String?
        var state: String
        var promptBox: [Double]
        var box: [Double]?
        var area: Int
        var score: Double
        var route: [Double]?
        var mask: RLE
    }
    var frame: Int
    var time: Double
    var objects: [Object]

    static func read(_ url: URL) throws -> FrameJSON {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(FrameJSON.self, from: Data(contentsOf: url))
    }
}

/// A fresh folder per test, removed afterwards.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("track-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func list(_ name: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(name))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
