import Imaging
import Testing
import Tracking
@testable import VideoTracking

/// `--merge agreement`: one hand-over frame per gap, where the two propagations agree best.
@Suite("keyframe hand-over")
struct KeyframeHandoverTests {
    static let (width, height) = (20, 1)

    /// A tracked answer covering columns `x0..<x1`; nil range: not tracked.
    func answer(_ columns: Range<Int>?) -> ObjectFrame {
        var a = ObjectFrame.absent(id: 1, name: nil, state: .lost, why: "", width: Self.width, height: Self.height)
        guard let columns else { return a }
        a.state = .tracked
        a.rejection = nil
        a.mask = (0..<Self.width).map { columns.contains($0) }
        a.area = columns.count
        return a
    }

    /// Gap from keyframe 0 to keyframe 20; `agree(t)` says whether the two sweeps agree at frame t.
    func handover(_ agree: (Int) -> Bool) -> Int {
        var h = KeyframeHandover()
        for t in 1..<20 {
            h.add(object: 1, gapStart: 0, frame: t, forward: answer(0..<10), backward: answer(agree(t) ? 0..<10 : 10..<20))
        }
        return h.handover(object: 1, start: 0, end: 20)
    }

    @Test("agreement is mask IoU; two absent answers agree, one absent and one tracked do not")
    func agreementMeasure() {
        #expect(KeyframeHandover.agreement(answer(0..<10), answer(5..<15)) == 5.0 / 15.0)
        #expect(KeyframeHandover.agreement(answer(nil), answer(nil)) == 1)
        #expect(KeyframeHandover.agreement(answer(0..<10), answer(nil)) == 0)
    }

    @Test("the hand-over lands where both sweeps agree, not in the middle of the gap")
    func handsOverWhereTheyAgree() {
        // Forward was right up to frame 6 and backward from frame 3 on: they agree on 3...5 only.
        let at = handover { (3...5).contains($0) }
        #expect(at == 5, "the agreeing frame nearest the middle (11), got \(at)")
        let side = KeyframeMerge.agreement.choose(forward: (answer(0..<10), 4), backward: (answer(0..<10), 16), handover: at)
        #expect(side == .forward, "frame 4 lies before the hand-over")
        #expect(KeyframeMerge.agreement.choose(forward: (answer(0..<10), 8), backward: (answer(0..<10), 12), handover: at)
            == .backward, "frame 8 lies past it, where only the backward sweep is right; nearer would keep the forward one")
    }

    @Test("where the sweeps agree everywhere or nowhere, the hand-over is the middle, as with nearer")
    func middleWithoutInformation() {
        #expect(handover { _ in true } == 11)
        #expect(handover { _ in false } == 11)
        for d in 1..<20 {
            let f = (answer(0..<10), distance: d), b = (answer(0..<10), distance: 20 - d)
            #expect(KeyframeMerge.agreement.choose(forward: f, backward: b, handover: 11)
                == KeyframeMerge.nearer.choose(forward: f, backward: b))
        }
    }
}
