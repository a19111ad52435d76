import Foundation
import Testing
import VideoTracking

/// The page's edits: keyframes land in prompts.json in `track --prompts` form, are checked as
/// `track` checks them, can be undone, and a new server on the folder restores them.
@Suite("serve keeps keyframes in the run folder", .serialized)
struct KeyframeEditTests {
    func post(_ f: ServerFixture, _ path: String, _ body: String) async throws -> LoopbackResponse {
        try await f.client.send("POST", path, headers: f.auth.merging(["Content-Type": "application/json"]) { a, _ in a }, body: Data(body.utf8))
    }

    @Test("a box and a point correction are saved as track reads them; a bad box gets track's message and changes nothing; undo restores")
    func editAndUndo() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let prompts = f.output.appendingPathComponent("prompts.json")
        #expect(try await post(f, "/api/keyframes", #"{"id": 1, "name": "square", "frame": 0, "box": [18, 22, 38, 42]}"#).status == 200)
        let point = try await post(f, "/api/keyframes", #"{"id": 1, "frame": 3, "points": [[33, 31, 1], [5, 5, 0]]}"#)
        #expect(point.status == 200, "\(point.text)")
        let plan = try KeyframePlan.read(path: prompts.path)
        #expect(plan.objects.count == 1 && plan.objects[0].name == "square")
        #expect(plan.objects[0].keyframes.map(\.frame) == [0, 3])
        #expect(plan.objects[0].keyframes[0].box?.x1 == 38)
        #expect(plan.objects[0].keyframes[1].points.map(\.positive) == [true, false])

        let saved = try Data(contentsOf: prompts)
        let outside = try await post(f, "/api/keyframes", #"{"id": 1, "frame": 2, "box": [200, 200, 300, 300]}"#)
        #expect(outside.status == 400 && outside.text.contains("outside the 96x64 frame") && outside.text.contains("object 1"), "\(outside.text)")
        let onlyNegative = try await post(f, "/api/keyframes", #"{"id": 2, "frame": 2, "points": [[5, 5, 0]]}"#)
        #expect(onlyNegative.status == 400 && onlyNegative.text.contains("positive"), "\(onlyNegative.text)")
        #expect(try Data(contentsOf: prompts) == saved, "a refused keyframe changed prompts.json")

        #expect(try await post(f, "/api/undo", "{}").status == 200)
        #expect(try KeyframePlan.read(path: prompts.path).objects[0].keyframes.map(\.frame) == [0])
        #expect(try await post(f, "/api/keyframes/remove", #"{"id": 1, "frame": 0}"#).status == 200)
        #expect(!FileManager.default.fileExists(atPath: prompts.path), "the last keyframe removed: no prompts file")
        #expect(try await post(f, "/api/undo", "{}").status == 200)
        #expect(try await post(f, "/api/undo", "{}").status == 200)
        #expect(try await post(f, "/api/undo", "{}").status == 409, "nothing left to undo")
        #expect(!FileManager.default.fileExists(atPath: prompts.path))
        let missing = try await post(f, "/api/keyframes/remove", #"{"id": 1, "frame": 4}"#)
        #expect(missing.status == 404 && missing.text.contains("no keyframe"))
        await f.stop()
    }

    @Test("a new server on the same run folder lists the same objects and keyframes")
    func restartRestores() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        #expect(try await post(f, "/api/keyframes", #"{"id": 2, "name": "square", "frame": 1, "box": [18, 22, 38, 42]}"#).status == 200)
        #expect(try await post(f, "/api/keyframes", #"{"id": 2, "frame": 4, "points": [[30, 30, 1]]}"#).status == 200)
        let before = try await f.client.send("GET", "/api/plan", headers: f.auth)
        await f.stop()
        let again = try await ServerFixture(output: f.output, root: f.root)
        let after = try await again.client.send("GET", "/api/plan", headers: again.auth)
        let objects = again.json(after)["objects"] as? [[String: Any]] ?? []
        #expect(objects.count == 1 && objects.first?["name"] as? String == "square" && objects.first?["id"] as? Int == 2)
        #expect((objects.first?["keyframes"] as? [[String: Any]])?.compactMap { $0["frame"] as? Int } == [1, 4])
        #expect((f.json(before)["objects"] as? NSArray) == (again.json(after)["objects"] as? NSArray))
        await again.stop()
    }
}
