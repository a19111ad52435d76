import DefaultModel
import Foundation
import Imaging
import Metrics
import SegmentAnything
import Testing
import Tracking
import VideoIO
import VideoTracking

/// `track --prompts` through the library: keyframes propagate both ways, stay on their frames,
/// change nothing beyond their neighbours, and `update` recomputes only what they reach.
@Suite("keyframes")
struct KeyframeTests {
    static let (width, height) = (96, 72)

    /// A 20-px white square moving 3 px right per frame on grey; its true box on frame t.
    static func square(_ t: Int) -> Box { Box(x0: Double(8 + 3 * t), y0: 26, x1: Double(28 + 3 * t), y1: 46) }

    /// A second, 18-px square moving 3 px left per frame below the first.
    static func second(_ t: Int) -> Box { Box(x0: Double(70 - 3 * t), y0: 50, x1: Double(88 - 3 * t), y1: 68) }

    func scene(frames: Int, two: Bool = false) throws -> (folder: URL, video: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keyframes-\(UUID().uuidString)")
        let video = folder.appendingPathComponent("frames", isDirectory: true)
        try FileManager.default.createDirectory(at: video, withIntermediateDirectories: true)
        let (w, h) = (Self.width, Self.height)
        for t in 0..<frames {
            var pixels = [UInt8](repeating: 90, count: w * h * 3)
            for b in two ? [Self.square(t), Self.second(t)] : [Self.square(t)] {
                for y in Int(b.y0)..<Int(b.y1) { for x in Int(b.x0)..<Int(b.x1) { for c in 0..<3 { pixels[(y * w + x) * 3 + c] = 240 } } }
            }
            try ImageWriter.writePNG(RGBImage(width: w, height: h, pixels: pixels),
                                     to: video.appendingPathComponent(String(format: "%05d.png", t)))
        }
        return (folder, video)
    }

    func model() throws -> TrackModel {
        TrackModel(sam: try SamLoader.load(try #require(DefaultModel.modelURL)), name: "default", pluginFile: nil, route: .auto)
    }

    func plan(_ frames: [Int], box: (Int) -> Box = { square($0) }) -> KeyframePlan {
        KeyframePlan(objects: [.init(id: 1, name: "square", keyframes: frames.map { .init(frame: $0, box: box($0)) })])
    }

    @discardableResult
    func run(_ video: URL, _ plan: KeyframePlan, out: URL, update: Bool = false,
             events: @escaping (TrackEvent) -> Void = { _ in }, stop: StopFlag = StopFlag()) throws -> TrackOutcome {
        var request = TrackRequest(video: video, folderFrameRate: Rational(24, 1), objects: [], output: out)
        request.prompts = plan
        request.update = update
        return try TrackJob(request).run(model: try model(), stop: stop, events: events)
    }

    /// Every output file but the videos and the manifest (timings differ), by relative path.
    func files(_ out: URL) throws -> [String: Data] {
        var found: [String: Data] = [:]
        for sub in ["masks", "palette", "frames"] {
            let root = out.appendingPathComponent(sub)
            guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in e where url.pathExtension == "png" || url.pathExtension == "json" {
                found[sub + String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
            }
        }
        return found
    }

    func mask(_ out: URL, frame: Int) throws -> [Bool] {
        try ImageReader.readGray(TrackLayout(root: out).maskFile(id: 1, number: frame)).pixels.map { $0 > 127 }
    }

    func trueMask(_ t: Int) -> [Bool] {
        let b = Self.square(t)
        return (0..<(Self.width * Self.height)).map { i in
            let (x, y) = (Double(i % Self.width), Double(i / Self.width))
            return x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1
        }
    }

    func summaryKeyframes(_ out: URL) throws -> [String: Any] {
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: TrackLayout(root: out).summary)) as? [String: Any]
        return try #require(s?["keyframes"] as? [String: Any])
    }

    @Test("a box keyframe's frame keeps the model's answer to that box")
    func boxKeyframeKeepsItsAnswer() throws {
        let s = try scene(frames: 6)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let out = s.folder.appendingPathComponent("out")
        // A loose box, so the answer is the model's and not the box itself.
        try run(s.video, plan([0, 3]) { t in t == 3 ? Box(x0: 12, y0: 20, x1: 42, y1: 52) : Self.square(t) }, out: out)
        let predictor = Predictor(model: try model().sam)
        let frame = try ImageReader.read(s.video.appendingPathComponent("00003.png"))
        predictor.setImage(RGBImage(width: frame.width, height: frame.height, pixels: frame.pixels))
        let prediction = try predictor.predict(Prompt(box: Box(x0: 12, y0: 20, x1: 42, y1: 52)), multimask: false)
        let expected = prediction.logits.storage[0..<(Self.width * Self.height)].map { $0 > 0 }
        #expect(try mask(out, frame: 3) == Array(expected))
    }

    @Test("a mask keyframe's frame is the mask as given, and it propagates")
    func maskKeyframeIsKept() throws {
        let s = try scene(frames: 5)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        // A mask that is not what the model would say: the square without its 3 right columns.
        var given = trueMask(2)
        for i in given.indices where Double(i % Self.width) >= Self.square(2).x1 - 3 { given[i] = false }
        let maskFile = s.folder.appendingPathComponent("half.png")
        try ImageWriter.writePNG(GrayImage(width: Self.width, height: Self.height, pixels: given.map { $0 ? 255 : 0 }), to: maskFile)
        let out = s.folder.appendingPathComponent("out")
        try run(s.video, KeyframePlan(objects: [.init(id: 1, keyframes: [.init(frame: 2, maskPath: maskFile.path)])]), out: out)
        #expect(try mask(out, frame: 2) == given)
        for t in [0, 4] { #expect(try mask(out, frame: t).contains(true), "frame \(t) has no mask") }
    }

    @Test("a middle keyframe tracks backward to frame 0 and forward to the end")
    func middleKeyframeGoesBothWays() throws {
        let s = try scene(frames: 9)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let out = s.folder.appendingPathComponent("out")
        try run(s.video, plan([4]), out: out)
        for t in 0..<9 {
            let iou = MaskMetrics.iou(try mask(out, frame: t), trueMask(t))
            #expect(iou > 0.7, "frame \(t): IoU \(iou) with the square")
        }
        let k = try summaryKeyframes(out)
        #expect(k["tracked_forward"] as? Int == 4 && k["tracked_backward"] as? Int == 4)
    }

    @Test("a correction changes only the frames between its neighbouring keyframes")
    func correctionStaysBetweenNeighbours() throws {
        let s = try scene(frames: 12)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let (a, b) = (s.folder.appendingPathComponent("a"), s.folder.appendingPathComponent("b"))
        // A deliberately wrong correction at 6 (a box off the square), so frames near it change.
        let wrong = Box(x0: 60, y0: 4, x1: 90, y1: 24)
        try run(s.video, plan([2, 9]), out: a)
        try run(s.video, plan([2, 6, 9]) { $0 == 6 ? wrong : Self.square($0) }, out: b)
        let (before, after) = (try files(a), try files(b))
        #expect(before.keys.sorted() == after.keys.sorted())
        var changed: Set<Int> = []
        for (path, data) in before where after[path] != data {
            changed.insert(Int(path.split(separator: "/").last!.prefix(6))!)
        }
        #expect(changed.contains(6))
        #expect(changed.allSatisfy { $0 > 2 && $0 < 9 }, "changed frames \(changed.sorted())")
    }

    @Test("update with one more keyframe writes what a full run with all keyframes writes, tracking less")
    func updateEqualsFullRun() throws {
        let s = try scene(frames: 12)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let (updated, full) = (s.folder.appendingPathComponent("updated"), s.folder.appendingPathComponent("full"))
        try run(s.video, plan([0, 10]), out: updated)
        #expect(throws: TrackError.self) { try run(s.video, plan([0, 5, 10]), out: updated) }  // no --update: refused
        try run(s.video, plan([0, 5, 10]), out: updated, update: true)
        try run(s.video, plan([0, 5, 10]), out: full)
        #expect(try files(updated) == files(full))
        let (u, f) = (try summaryKeyframes(updated), try summaryKeyframes(full))
        let tracked = { (k: [String: Any]) in (k["tracked_forward"] as? Int ?? -1) + (k["tracked_backward"] as? Int ?? -1) }
        // Full: forward 1-4, 6-9, 11 and backward 4-1, 9-6: 17 frames. The update: only what keyframe 5
        // starts (forward 6-9, backward 4-1); the old propagations from 0 and 10 already cover the rest.
        #expect(tracked(f) == 17)
        #expect(tracked(u) == 8, "update tracked \(tracked(u)) frames")
        // The same plan again: nothing to track, and still the full run's files (the backward
        // sweep's stored answers are used, not skipped with the pass).
        try run(s.video, plan([0, 5, 10]), out: updated, update: true)
        #expect(tracked(try summaryKeyframes(updated)) == 0)
        #expect(try files(updated) == files(full), "an update that changes nothing rewrote the folder differently")
        try run(s.video, plan([0, 5, 10]), out: updated, update: true)
        #expect(try files(updated) == files(full), "a second unchanged update lost stored answers")
    }

    /// Two objects, one square each: the first keyframed on `first`, the second on frame 0.
    func twoObjects(_ first: [Int], box: @escaping (Int) -> Box = { square($0) }) -> KeyframePlan {
        KeyframePlan(objects: [.init(id: 1, keyframes: first.map { .init(frame: $0, box: box($0)) }),
                               .init(id: 2, keyframes: [.init(frame: 0, box: Self.second(0))])])
    }

    @Test("two objects propagate together; an update after correcting one writes what a full run writes, tracking less")
    func twoObjectUpdateEqualsFullRun() throws {
        let s = try scene(frames: 14, two: true)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let (updated, full) = (s.folder.appendingPathComponent("updated"), s.folder.appendingPathComponent("full"))
        // A wrong correction, away from object 2: object 1's frames near it change, object 2's stay.
        let wrong = Box(x0: 60, y0: 4, x1: 90, y1: 24)
        try run(s.video, twoObjects([0, 11]), out: updated)
        try run(s.video, twoObjects([0, 6, 11]) { $0 == 6 ? wrong : Self.square($0) }, out: updated, update: true)
        try run(s.video, twoObjects([0, 6, 11]) { $0 == 6 ? wrong : Self.square($0) }, out: full)
        #expect(try files(updated) == files(full))
        let tracked = { (k: [String: Any]) in (k["tracked_forward"] as? Int ?? -1) + (k["tracked_backward"] as? Int ?? -1) }
        let (u, f) = (tracked(try summaryKeyframes(updated)), tracked(try summaryKeyframes(full)))
        // Full: forward 1-13 (object 2 throughout), backward 10-7 and 5-1 (object 1 alone, restarted
        // at 6). The update: forward 6-11, where object 1 restarts and object 2's state is the stored
        // one again, so 12-13 are reused; backward 5-1.
        #expect(f == 22)
        #expect(u == 11, "update tracked \(u) of \(f) frames")
        for t in 0..<14 {
            let second = try ImageReader.readGray(TrackLayout(root: full).maskFile(id: 2, number: t)).pixels.map { $0 > 127 }
            let truth = (0..<(Self.width * Self.height)).map { i -> Bool in
                let (x, y, b) = (Double(i % Self.width), Double(i / Self.width), Self.second(t))
                return x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1
            }
            #expect(MaskMetrics.iou(second, truth) > 0.7, "frame \(t): object 2 off its square")
        }
    }

    @Test("a stopped run continues with --update where it stopped and writes what an uninterrupted run writes")
    func stoppedRunContinues() throws {
        let s = try scene(frames: 12, two: true)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let (stopped, full) = (s.folder.appendingPathComponent("stopped"), s.folder.appendingPathComponent("full"))
        let stop = StopFlag()
        let outcome = try run(s.video, twoObjects([0, 9]), out: stopped, events: { event in
            if case .frame(let e) = event, e.index == 5 { stop.request() }
        }, stop: stop)
        #expect(outcome.interrupted)
        try run(s.video, twoObjects([0, 9]), out: stopped, update: true)
        try run(s.video, twoObjects([0, 9]), out: full)
        #expect(try files(stopped) == files(full))
        let k = try summaryKeyframes(stopped)
        // Forward frames 1-5 were stored before the stop: the continuation steps 6-11, then 8-1 backward.
        #expect((k["tracked_forward"] as? Int, k["tracked_backward"] as? Int) == (6, 8))
    }

    @Test("an absent keyframe stops propagation: its frame and those past it are empty")
    func absentKeyframeStops() throws {
        let s = try scene(frames: 8)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let out = s.folder.appendingPathComponent("out")
        let p = KeyframePlan(objects: [.init(id: 1, keyframes: [.init(frame: 1, box: Self.square(1)), .init(frame: 5, absent: true)])])
        try run(s.video, p, out: out)
        for t in 0..<8 {
            #expect(try mask(out, frame: t).contains(true) == (t < 5), "frame \(t)")
        }
    }

    @Test("two objects keyframed on one square: each pixel goes to one, the other is taken by another object")
    func onePixelOneObject() throws {
        let s = try scene(frames: 4)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let out = s.folder.appendingPathComponent("out")
        let p = KeyframePlan(objects: [1, 2].map { .init(id: $0, keyframes: [.init(frame: 0, box: Self.square(0))]) })
        try run(s.video, p, out: out)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        for t in 0..<4 {
            let record = try decoder.decode(FrameRecord.self, from: Data(contentsOf: TrackLayout(root: out).frameFile(t)))
            let masks = record.objects.map { $0.mask.decode() }
            #expect(!zip(masks[0], masks[1]).contains { $0 && $1 }, "frame \(t): a pixel in two objects")
            #expect(record.objects.filter { $0.state == .tracked }.count == 1, "frame \(t)")
            #expect(record.objects.contains { $0.rejection == "taken by another object" }, "frame \(t)")
        }
    }

    // MARK: bad keyframes

    func prompts(_ json: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent("prompts-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    func refusal(_ json: String, frames: Int = 4) throws -> KeyframeError? {
        let s = try scene(frames: frames)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let png = s.folder.appendingPathComponent("small.png")
        try ImageWriter.writePNG(GrayImage(width: 10, height: 10, pixels: [UInt8](repeating: 255, count: 100)), to: png)
        try Data("not a png".utf8).write(to: s.folder.appendingPathComponent("broken.png"))
        do {
            let plan = try KeyframePlan.read(path: try prompts(json, in: s.folder))
            var request = TrackRequest(video: s.video, folderFrameRate: Rational(24, 1), objects: [],
                                       output: s.folder.appendingPathComponent("out"))
            request.prompts = plan
            _ = try TrackJob(request)
        } catch let error as KeyframeError {
            #expect(!FileManager.default.fileExists(atPath: s.folder.appendingPathComponent("out").path))
            return error
        }
        return nil
    }

    @Test("bad keyframes are refused naming the object and frame", arguments: [
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 9, "box": [1, 1, 20, 20]}]}]}"#, 3, 9, "4 frames"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 1, "box": [200, 200, 220, 230]}]}]}"#, 3, 1, "outside"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 2, "mask": "broken.png"}]}]}"#, 3, 2, "cannot read mask"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 2, "mask": "small.png"}]}]}"#, 3, 2, "10x10"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 2, "box": [1, 1, 9, 9]}, {"frame": 2, "points": [[4, 4, 1]]}]}]}"#, 3, 2, "second keyframe"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 0, "points": [[400, 4, 1]]}]}]}"#, 3, 0, "outside"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 0, "points": [[4, 4, 2]]}]}]}"#, 3, 0, "label"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 0, "absent": true, "box": [1, 1, 9, 9]}]}]}"#, 3, 0, "absent"),
        (#"{"objects": [{"id": 3, "keyframes": [{"frame": 1}]}]}"#, 3, 1, "give a box"),
    ])
    func badKeyframe(json: String, object: Int, frame: Int, says: String) throws {
        let error = try #require(try refusal(json))
        #expect(error.object == object && error.frame == frame, "\(error)")
        #expect(error.description.contains(says), "\(error)")
    }

    @Test("a prompts file that is not one is refused with its shape", arguments: [
        (#"[{"id": 1}]"#, "expected {"),
        (#"{"objects": [{"id": 1.5, "keyframes": [{"frame": 0, "box": [1, 1, 9, 9]}]}]}"#, "whole number in 1...255"),
        (#"{"objects": [{"id": 1, "keyframes": [{"frame": true, "box": [1, 1, 9, 9]}]}]}"#, "\"frame\" must be a whole number"),
        (#"{"objects": [{"id": 1, "keyframes": []}]}"#, "non-empty \"keyframes\""),
        (#"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [1, 1, 9]}]}]}"#, "four numbers"),
        (#"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "absent": true}]}]}"#, "every keyframe is"),
        (#"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [1, 1, 9, 9], "bx": 1}]}]}"#, "unknown key \"bx\""),
        (#"{"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [1, 1, 9, 9]}]}, {"id": 1, "keyframes": [{"frame": 0, "box": [1, 1, 9, 9]}]}]}"#, "used by another object"),
        ("{not json", "not valid JSON"),
    ])
    func badFile(json: String, says: String) throws {
        let error = try #require(try refusal(json))
        #expect(error.description.contains(says), "\(error)")
    }
}

