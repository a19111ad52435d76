import Foundation
import Testing
import Tracking
import VideoIO
import VideoTracking

/// Propagation from the page: one at a time, frames stay served while it runs, and the run folder
/// it leaves is the one the tracking library writes for the same keyframes (as `track --prompts`).
@Suite("serve propagates keyframes with the tracking library", .serialized)
struct PropagationTests {
    func post(_ f: ServerFixture, _ path: String, _ body: String) async throws -> LoopbackResponse {
        try await f.client.send("POST", path, headers: f.auth.merging(["Content-Type": "application/json"]) { a, _ in a }, body: Data(body.utf8))
    }

    func running(_ f: ServerFixture) async throws -> Bool {
        !(f.json(try await f.client.send("GET", "/api/plan", headers: f.auth))["running"] is NSNull)
    }

    func waitForEnd(_ f: ServerFixture) async throws {
        for _ in 0..<1200 {
            if !(try await running(f)) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the propagation did not end in 120 s")
    }

    /// masks/, palette/, frames/ and overlay.mp4, by relative path.
    func outputs(_ folder: URL) throws -> [String: Data] {
        var found: [String: Data] = ["overlay.mp4": try Data(contentsOf: folder.appendingPathComponent("overlay.mp4"))]
        for sub in ["masks", "palette", "frames"] {
            let root = folder.appendingPathComponent(sub)
            let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
            while let url = e?.nextObject() as? URL {
                if url.hasDirectoryPath { continue }
                found[sub + String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
            }
        }
        return found
    }

    @Test("while a run is held mid-way: a second propagate or export is 409, frames and its live masks are served; the folder equals the library's run, twice")
    func propagateTwice() async throws {
        // The first run stops on its third frame until the test lets it go: whatever the test
        // gets meanwhile, it got while a propagation was under way (on a loaded machine too).
        let gate = RunGate(holdAt: 2)
        let f = try await ServerFixture(frames: 24, frameLanded: { gate.landed($0) })
        defer { f.removeAll() }
        #expect(try await post(f, "/api/propagate", "{}").status == 400, "no keyframes yet")
        #expect(try await post(f, "/api/keyframes", #"{"id": 1, "name": "square", "frame": 0, "box": [18, 22, 38, 42]}"#).status == 200)
        // The progress stream, from before the start to the end of the run.
        async let events = f.client.stream("/api/progress?token=\(ServerFixture.token)", headers: [:], until: "event: done", seconds: 180)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await post(f, "/api/propagate", "{}").status == 202)
        try await gate.waitUntilHeld()
        // A page opened mid-run hears the run from its start.
        async let late = f.client.stream("/api/progress?token=\(ServerFixture.token)", headers: [:], until: "event: done", seconds: 180)
        let second = try await post(f, "/api/propagate", "{}")
        #expect(second.status == 409 && second.text.contains("running"), "\(second.status) \(second.text)")
        #expect(try await post(f, "/api/export", "{}").status == 409)
        #expect(try await running(f))
        // Frames (each of them) and the masks landed so far, while the run holds the model.
        for t in 0..<24 {
            #expect(try await f.client.send("GET", "/api/frames/\(t)", headers: f.auth).status == 200, "frame \(t)")
        }
        let live = try await f.client.send("GET", "/api/overlay/0", headers: f.auth)
        #expect(live.status == 200 && live.headers["content-type"] == "image/png", "\(live.status)")
        #expect(!FileManager.default.fileExists(atPath: f.output.appendingPathComponent("palette/000000.png").path),
                "the overlay came from a finished run, not the running one")
        let liveStates = f.json(try await f.client.send("GET", "/api/states", headers: f.auth))["frames"] as? [[String: String]] ?? []
        #expect(liveStates.first?["1"] == "tracked", "live states: \(liveStates.prefix(3))")
        gate.release()
        try await waitForEnd(f)
        let stream = try await events
        #expect(stream.status == 200 && stream.headers["content-type"] == "text/event-stream")
        for name in ["event: started", "event: frame", "\"pass\":\"backward\"", "event: done", "\"ok\":true"] {
            #expect(stream.text.contains(name), "the progress stream lacks \(name): \(stream.text.prefix(400))")
        }
        let lateStream = try await late
        for name in ["event: started", "\"index\":0,", "event: done"] {
            #expect(lateStream.text.contains(name), "a page opened mid-run lacks \(name): \(lateStream.text.prefix(400))")
        }
        try await compare(f)

        // A correction on frame 12 and a second propagation: an update of the same folder.
        #expect(try await post(f, "/api/keyframes", #"{"id": 1, "frame": 12, "points": [[52, 31, 1]]}"#).status == 200)
        #expect(try await post(f, "/api/propagate", "{}").status == 202)
        try await waitForEnd(f)
        try await compare(f)
        let overlay = try await f.client.send("GET", "/api/overlay/5", headers: f.auth)
        let palette = try Data(contentsOf: f.output.appendingPathComponent("palette/000005.png"))
        #expect(overlay.status == 200 && overlay.body == palette)
        let states = f.json(try await f.client.send("GET", "/api/states", headers: f.auth))["frames"] as? [[String: String]] ?? []
        #expect(states.count == 24 && states[5]["1"] == "tracked", "\(states.prefix(6))")
        await f.stop()
    }

    /// The server's folder against a run of the library on prompts.json, as `track --prompts` runs it.
    func compare(_ f: ServerFixture) async throws {
        let reference = f.root.appendingPathComponent("reference-\(UUID().uuidString)")
        var request = TrackRequest(video: f.video, folderFrameRate: Rational(24_000, 1000), objects: [], output: reference)
        request.prompts = try KeyframePlan.read(path: f.output.appendingPathComponent("prompts.json").path)
        let job = try TrackJob(request)
        let model = try ModelLoader.trackModel(model: ModelLoader.defaultSpec, plugin: "default", route: .auto)
        _ = try job.run(model: model, stop: StopFlag()) { _ in }
        let (served, expected) = (try outputs(f.output), try outputs(reference))
        #expect(served.count == expected.count && served.count > 24 * 3)
        for (name, data) in expected where served[name] != data { Issue.record("\(name) differs from the library's run") }
        try FileManager.default.removeItem(at: reference)
    }
}

/// Holds the first propagation on frame `holdAt` until released.
final class RunGate: @unchecked Sendable {
    private let holdAt: Int
    private let lock = NSLock()
    private var used = false
    private let held = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)

    init(holdAt: Int) { self.holdAt = holdAt }

    /// On the propagation thread.
    func landed(_ frame: Int) {
        lock.lock()
        let hold = frame == holdAt && !used
        if hold { used = true }
        lock.unlock()
        guard hold else { return }
        held.signal()
        go.wait()
    }

    func waitUntilHeld() async throws {
        let held = self.held
        let reached = try await LoopbackClient.onThread { held.wait(timeout: .now() + 120) == .success }
        if !reached { Issue.record("the run never reached frame \(holdAt)") }
    }

    func release() { go.signal() }
}
