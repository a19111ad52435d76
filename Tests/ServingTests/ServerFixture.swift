import Foundation
import Imaging
@testable import Serving
import VideoIO

/// A real server on a free loopback port, over a small generated clip (an image folder: a bright
/// square moving on grey) and a fresh run folder, both under one temporary folder.
final class ServerFixture: @unchecked Sendable {
    static let token = String(repeating: "ab", count: 32)
    let root: URL
    let video: URL
    let output: URL
    let server: StableSAMServer
    let port: Int
    private let task: Task<Void, any Error>

    var client: LoopbackClient { LoopbackClient(port: port) }
    var auth: [String: String] { ["X-StableSAM-Token": Self.token] }

    static let width = 96, height = 64

    /// The square of frame `t`: 16 px, moving 2 px a frame.
    static func square(_ t: Int) -> (x: Int, y: Int) { (20 + 2 * t, 24) }

    init(frames: Int = 6, output existing: URL? = nil, root existingRoot: URL? = nil,
         frameLanded: (@Sendable (Int) -> Void)? = nil) async throws {
        root = existingRoot ?? FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)")
        video = root.appendingPathComponent("clip")
        output = existing ?? root.appendingPathComponent("run")
        if existingRoot == nil {
            try FileManager.default.createDirectory(at: video, withIntermediateDirectories: true)
            for t in 0..<frames {
                var image = RGBImage(width: Self.width, height: Self.height, fill: RGBColor(r: 90, g: 90, b: 90))
                let s = Self.square(t)
                for y in s.y..<(s.y + 16) { for x in s.x..<(s.x + 16) { image[x, y] = RGBColor(r: 240, g: 200, b: 40) } }
                try ImageWriter.writePNG(image, to: video.appendingPathComponent(String(format: "%05d.png", t)))
            }
        }
        var settings = ServeSettings(video: video, output: output, port: 0, token: Self.token)
        settings.frameLanded = frameLanded
        server = try StableSAMServer(settings: settings)
        let bound = AsyncStream<Int>.makeStream()
        let server = self.server
        task = Task { try await server.run { bound.continuation.yield($0) } }
        var it = bound.stream.makeAsyncIterator()
        guard let p = await it.next() else { throw CocoaError(.fileNoSuchFile) }
        port = p
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    func removeAll() { try? FileManager.default.removeItem(at: root) }

    /// Every file under the fixture's folder, relative paths.
    func allFiles() -> Set<String> {
        var found: Set<String> = []
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = e?.nextObject() as? URL { found.insert(String(url.path.dropFirst(root.path.count))) }
        return found
    }

    func json(_ r: LoopbackResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any] ?? [:]
    }
}
