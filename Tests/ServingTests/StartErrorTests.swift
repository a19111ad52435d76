import Foundation
import Serving
import VideoIO
import VideoTracking
import Testing

/// A server that cannot start says why and what to change, and leaves nothing behind.
@Suite("serve refuses to start with a clear message")
struct StartErrorTests {
    @Test("a missing video: the error names the path; no run folder is created")
    func missingVideo() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("serve-start-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let output = root.appendingPathComponent("run")
        let video = root.appendingPathComponent("missing.mp4")
        #expect { _ = try StableSAMServer(settings: ServeSettings(video: video, output: output, port: 0)) } throws: { error in
            "\(error)".contains(video.path) && "\(error)".contains("no such file")
        }
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("a port already in use: the error says so and how to choose another")
    func portInUse() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let second = try StableSAMServer(settings: ServeSettings(video: f.video, output: f.root.appendingPathComponent("second"), port: f.port))
        await #expect { try await second.run { _ in } } throws: { error in
            "\(error)".contains("port \(f.port) on 127.0.0.1 is in use") && "\(error)".contains("--port")
        }
        await f.stop()
    }
}

/// `serve`'s defaults are `track`'s, so that a folder propagated with them is the one `track --prompts` writes.
@Suite("serve runs with track's defaults")
struct ServeDefaultsTests {
    @Test("the merge rule, start number, matte video and frame rate default as in a TrackRequest")
    func defaults() {
        let url = URL(fileURLWithPath: "/nonexistent")
        let serve = ServeSettings(video: url, output: url)
        let track = TrackRequest(video: url, folderFrameRate: serve.folderFrameRate, objects: [], output: url)
        #expect(serve.merge == track.merge)
        #expect(serve.startNumber == track.startNumber && serve.matteVideo == track.matteVideo && serve.softMatte == nil)
        #expect(serve.folderFrameRate == Rational(24_000, 1000), "track's --fps 24, as the CLI turns it into a rational")
    }
}
