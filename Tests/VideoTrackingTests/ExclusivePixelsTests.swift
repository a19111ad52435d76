import Imaging
import Testing
import Tracking
@testable import VideoTracking

/// One pixel, one object on a keyframe run's output, and who owns a pixel for the next frame.
@Suite("one pixel, one object")
struct ExclusivePixelsTests {
    static let (width, height) = (20, 10)

    /// Object `id`'s answer covering columns `x0..<x1`, every row.
    func answer(_ id: Int, _ x0: Int, _ x1: Int, score: Double = 0.9) -> ObjectFrame {
        var a = ObjectFrame.absent(id: id, name: nil, state: .tracked, why: "", width: Self.width, height: Self.height)
        a.mask = (0..<(Self.width * Self.height)).map { (x0..<x1).contains($0 % Self.width) }
        a.area = (x1 - x0) * Self.height
        a.box = Box(x0: Double(x0), y0: 0, x1: Double(x1), y1: Double(Self.height))
        a.rejection = nil
        a.score = score
        return a
    }

    func resolve(_ claims: [ExclusivePixels.Claim], previousOwner: [UInt8]?) -> (answers: [ObjectFrame], owner: [UInt8]) {
        ExclusivePixels.resolve(claims, previousOwner: previousOwner, width: Self.width, height: Self.height)
    }

    @Test("a keyframe that swallows most of a smaller object wins its frame; the object keeps its pixels from the next frame on")
    func swallowedObjectKeepsItsPixels() {
        // Object 2 was on columns 10-15; object 1's keyframe answer covers 0-15 (it and object 2).
        let before = [UInt8]((0..<(Self.width * Self.height)).map { (10..<16).contains($0 % Self.width) ? 2 : 0 })
        let key = resolve([.init(answer(1, 0, 16), rank: .keyframe), .init(answer(2, 10, 16), rank: .held)],
                          previousOwner: before)
        #expect(key.answers[0].area == 160 && key.answers[1].state == .occluded, "the keyframe wins its own frame")
        #expect(key.owner[12] == 2 && key.owner[3] == 1, "object 2 still owns its columns for the next frame")
        // Next frame: both propagated; object 2 is where it was, object 1's answer still spans both.
        let next = resolve([.init(answer(1, 0, 16), rank: .held), .init(answer(2, 10, 16), rank: .held)],
                           previousOwner: key.owner)
        #expect(next.answers[1].state == .tracked && next.answers[1].area == 60)
        #expect(next.answers[0].state == .tracked && next.answers[0].area == 100)
    }

    @Test("a keyframe on the object another one slid onto takes it over: the other is dropped from the next frame on")
    func correctedObjectTakesItsPixels() {
        // Object 2 slid onto object 1's object (columns 5-15); the keyframe of 1 is about as big.
        let before = [UInt8]((0..<(Self.width * Self.height)).map { (5..<16).contains($0 % Self.width) ? 2 : 0 })
        let key = resolve([.init(answer(1, 5, 15), rank: .keyframe), .init(answer(2, 6, 16), rank: .held)],
                          previousOwner: before)
        #expect(key.owner[10] == 1)
        let next = resolve([.init(answer(1, 5, 15), rank: .held), .init(answer(2, 6, 16), rank: .held)],
                           previousOwner: key.owner)
        #expect(next.answers[1].state == .occluded && next.answers[1].rejection == "taken by another object")
        #expect(next.answers[0].area == 100)
    }
}
