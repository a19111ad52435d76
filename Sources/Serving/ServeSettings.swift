import Foundation
import SegmentAnything
import VideoIO
import VideoTracking

/// What `stablesam serve` was started with: the one video and run folder it serves, where it
/// listens, and the run settings every propagation uses (the same as `track --prompts` flags, so
/// the run folder equals what `track` writes for the same keyframes).
public struct ServeSettings: Sendable {
    public var video: URL
    /// The run folder: prompts.json (the keyframes), the run's outputs, and `.serve/` (caches).
    public var output: URL
    /// Address to bind; 127.0.0.1 unless the person asks for another.
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// The access token every request must carry; `AccessToken.random()` unless a test fixes it.
    public var token: String
    /// `--model` and `--plugin` values as `track` takes them; loaded on the first propagation.
    public var model: String
    public var plugin: String
    public var route: Route
    public var folderFrameRate: Rational
    public var merge: KeyframeMerge
    public var startNumber: Int
    public var matteVideo: Bool
    public var softMatte: SoftMatteRequest?

    public init(video: URL, output: URL, host: String = "127.0.0.1", port: Int = 8080, token: String = AccessToken.random(),
                model: String = ModelLoader.defaultSpec, plugin: String = "default", route: Route = .auto,
                folderFrameRate: Rational = Rational(24_000, 1000), merge: KeyframeMerge = .agreement, startNumber: Int = 0,
                matteVideo: Bool = false, softMatte: SoftMatteRequest? = nil) {
        self.video = video
        self.output = output
        self.host = host
        self.port = port
        self.token = token
        self.model = model
        self.plugin = plugin
        self.route = route
        self.folderFrameRate = folderFrameRate
        self.merge = merge
        self.startNumber = startNumber
        self.matteVideo = matteVideo
        self.softMatte = softMatte
    }

    /// Called on the propagation thread after each frame's event; tests hold a run there, to see
    /// what the server does while one is under way. Not a flag: nothing sets it in `serve`.
    var frameLanded: (@Sendable (Int) -> Void)? = nil

    /// prompts.json in the run folder: the keyframes, in the format `track --prompts` reads.
    public var promptsFile: URL { output.appendingPathComponent("prompts.json") }
    /// The server's own files (decoded frames, live masks of a running propagation); not outputs.
    var cacheFolder: URL { output.appendingPathComponent(".serve") }
}

/// The random secret in the printed URL. 32 bytes from the system's generator, hex.
public enum AccessToken {
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &g)) }.joined()
    }

    /// Compares in time independent of where the strings differ (no timing oracle on the token).
    static func matches(_ given: String, _ expected: String) -> Bool {
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
