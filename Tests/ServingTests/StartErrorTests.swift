import Foundation
import Serving
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
