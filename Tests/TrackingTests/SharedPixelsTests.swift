import Imaging
import Testing
import Tracking

/// Object B (colour 100) passes behind object A (colour 200, static): while hidden, the only
/// thing under B's prompt is A. A model without telling features (no appearance) then offers A's
/// pixels for B, and nothing but the rule that a pixel belongs to one object stops B's track
/// from settling on A.
func passingBehindScene(frames: Int) -> Scene {
    Scene(width: 160, height: 96, squares: [
        (100, (0..<frames).map { (x: 20 + 4 * $0, y: 40, side: 16) }),   // B, drawn first: behind
        (200, (0..<frames).map { _ in (x: 70, y: 40, side: 16) }),        // A, in front
    ])
}

@Suite("tracker: one pixel, one object")
struct SharedPixelsTests {
    let objects = [ObjectSpec(id: 1, name: "B", box: Box(x0: 20, y0: 40, x1: 36, y1: 56)),
                   ObjectSpec(id: 2, name: "A", box: Box(x0: 70, y0: 40, x1: 86, y1: 56))]

    /// Tracks the scene and returns, per frame, B's result and its IoU with A's and B's truth.
    func track(_ settings: TrackerSettings, frames: Int) throws -> [(b: ObjectFrame, onA: Double, onB: Double)] {
        let scene = passingBehindScene(frames: frames)
        let model = ColorSegmenter()
        model.everyColour = true
        let tracker = Tracker(model: model, objects: objects, width: scene.width, height: scene.height, settings: settings)
        return try (0..<frames).map { t in
            let r = try tracker.step(scene.frame(t))
            #expect(iou(r[1].mask, scene.truth(object: 1, frame: t)) == 1, "frame \(t): A itself is always found")
            return (r[0], iou(r[0].mask, scene.truth(object: 1, frame: t)), iou(r[0].mask, scene.truth(object: 0, frame: t)))
        }
    }

    @Test("a track passing behind a same-looking object is not taken over by it, and is found again")
    func noIdentitySwitch() throws {
        let frames = 26
        let run = try track(TrackerSettings(), frames: frames)
        for (t, r) in run.enumerated() {
            #expect(r.onA < 0.5, "frame \(t): B's track is on A (state \(r.b.state), IoU with A \(r.onA))")
        }
        // B is fully out from behind A from frame 17 (x = 88 > 86) and must be followed again: its
        // search is as big as B was before it shrank to a sliver, and it may regrow to that size.
        for t in 19..<frames {
            #expect(run[t].b.state == .tracked && run[t].onB > 0.9, "frame \(t): B \(run[t].b.state), IoU \(run[t].onB)")
        }
        #expect(run.contains { $0.b.rejection == "taken by another object" }, "the scene never exercised the rule")
    }

    @Test("with the rule switched off the same scene does switch identity (the test above can fail)")
    func controlWithoutRule() throws {
        var settings = TrackerSettings()
        settings.sharedPenalty = 0
        settings.maxShared = 1
        let run = try track(settings, frames: 26)
        #expect(run.contains { $0.onA > 0.5 }, "B's track should end up on A without the rule")
    }

    @Test("a single-object track records no shared share")
    func singleObject() throws {
        let scene = passingBehindScene(frames: 3)
        let tracker = Tracker(model: ColorSegmenter(), objects: [objects[1]], width: scene.width, height: scene.height)
        for t in 0..<3 { #expect(try tracker.step(scene.frame(t))[0].choice?.shared == nil) }
    }
}

/// Two still squares; the model spills A's mask over B (a blob it is unsure of) but segments B
/// well and surely, except on frame 2, where B is not found (so B is searching, with no support
/// of its own, when it is seen again).
final class SpillingNeighbourSegmenter: Segmenting {
    typealias MaskHint = Int
    let width = 160, height = 96
    let a = Box(x0: 40, y0: 30, x1: 60, y1: 50), b = Box(x0: 64, y0: 30, x1: 84, y1: 50)
    var blobScore = 0.5
    var frame = -1
    var calls = 0

    func encode(_ frame: RGBImage) throws { self.frame += 1 }

    func rectangle(_ r: Box) -> [Bool] {
        var m = [Bool](repeating: false, count: width * height)
        for y in Int(r.y0)..<Int(r.y1) { for x in Int(r.x0)..<Int(r.x1) { m[y * width + x] = true } }
        return m
    }

    func candidates(box: Box, hint: Int?) throws -> [Segmentation<Int>] {
        // The tracker asks for its objects in order, once per frame: A, then B.
        calls += 1
        return calls % 2 == 1 ? [Segmentation(mask: rectangle(Box(x0: a.x0, y0: a.y0, x1: b.x1, y1: b.y1)), score: blobScore)]
                     : [Segmentation(mask: frame == 2 ? rectangle(Box(x0: 0, y0: 0, x1: 0, y1: 0)) : rectangle(b), score: 0.9)]
    }
}

extension SharedPixelsTests {
    @Test("a neighbour's unsure blob does not keep a surely segmented object from being found again; a sure one does")
    func surerClaimWins() throws {
        for (blobScore, bKept) in [(0.5, true), (0.95, false)] {
            let model = SpillingNeighbourSegmenter()
            model.blobScore = blobScore
            var settings = TrackerSettings()
            settings.maxGrowth = 10   // the blob is allowed; this test is about the shared pixels only
            settings.margin = 0.5     // a loose prompt, so the blob does not fill it
            let tracker = Tracker(model: model, objects: [ObjectSpec(id: 1, box: model.a), ObjectSpec(id: 2, box: model.b)],
                                  width: model.width, height: model.height, settings: settings)
            var states: [ObjectState] = []
            for _ in 0..<6 {
                let r = try tracker.step(RGBImage(width: model.width, height: model.height,
                                                     pixels: [UInt8](repeating: 0, count: model.width * model.height * 3)))
                #expect(r[0].state == .tracked)
                states.append(r[1].state)
            }
            #expect(states[2] != .tracked)
            #expect(states.dropFirst(3).allSatisfy { ($0 == .tracked) == bKept }, "blob score \(blobScore): B \(states)")
        }
    }
}
