import Imaging
import Testing
import Tracking
@testable import VideoTracking

/// A keyframe box's answer must not swallow another object the sweep follows.
@Suite("swallow guard")
struct SwallowGuardTests {
    static let (width, height) = (20, 10)

    /// Object `id` covering columns `x0..<x1`, every row.
    func object(_ id: Int, _ x0: Int, _ x1: Int) -> ObjectFrame {
        var a = ObjectFrame.absent(id: id, name: nil, state: .tracked, why: "", width: Self.width, height: Self.height)
        a.mask = (0..<(Self.width * Self.height)).map { (x0..<x1).contains($0 % Self.width) }
        a.area = (x1 - x0) * Self.height
        a.rejection = nil
        return a
    }

    @Test("an object counts as swallowed when the answer covers more than half of it")
    func swallowedShare() {
        let answer = object(1, 0, 10).mask
        let (most, less) = (object(2, 6, 12), object(3, 8, 18))   // 4 of 6 columns; 2 of 10
        #expect(SwallowGuard.swallowed(by: answer, others: [most, less]).map(\.id) == [2])
        var hidden = most
        hidden.state = .occluded
        #expect(SwallowGuard.swallowed(by: answer, others: [hidden]).isEmpty, "only followed (tracked) objects count")
    }

    @Test("the negative point lies on the swallowed object outside the keyframe's box, never inside it")
    func negativePointOutsideBox() throws {
        let other = object(2, 6, 16)
        let box = Box(x0: 0, y0: 0, x1: 10, y1: 10)
        let p = try #require(SwallowGuard.negativePoint(on: other, outside: box, width: Self.width))
        #expect(!p.positive)
        #expect(p.x > box.x1 + 2 && p.x < 16, "x \(p.x): on the object, past the box and its 2-pixel margin")
        #expect(SwallowGuard.negativePoint(on: object(2, 2, 8), outside: box, width: Self.width) == nil,
                "an object wholly inside the box gets no point: there it may be the keyed object")
    }
}
