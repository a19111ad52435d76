// Hand-computed temporal stability measures.
import Imaging
import Metrics
import Testing

/// A 1-pixel-high strip of `width` pixels with the given columns set.
func strip(_ width: Int, _ on: [Int]) -> BinaryMask {
    BinaryMask(width: width, height: 1, bits: (0..<width).map { on.contains($0) })
}

@Suite("Temporal stability")
struct StabilityTests {
    @Test("consecutive IoU of a still mask is 1 and of a one-pixel object that jumps is 0")
    func consecutiveIoU() {
        #expect(StabilityMeasures.consecutiveIoU([strip(4, [1]), strip(4, [1])]) == [1])
        #expect(StabilityMeasures.consecutiveIoU([strip(4, [1]), strip(4, [2]), strip(4, [2, 3])]) == [0, 0.5])
        #expect(StabilityMeasures.consecutiveIoU([strip(4, []), strip(4, [])]) == [1])
    }

    @Test("area volatility is the mean change relative to the pair's mean area")
    func areaVolatility() {
        // 10 -> 20: 10 / 15; 20 -> 20: 0; 0 -> 0 contributes 0; 0 -> 5 is 2 (appears from nothing).
        #expect(abs(StabilityMeasures.areaVolatility([10, 20, 20])! - 1.0 / 3) < 1e-12)
        #expect(StabilityMeasures.areaVolatility([0, 0, 5]) == 1)
        #expect(StabilityMeasures.areaVolatility([7]) == nil)
    }

    @Test("centre jitter is 0 for constant velocity and d for one frame displaced by d")
    func jitter() {
        let moving = [0, 2, 4, 6].map { Box(x: $0, y: 3, width: 2, height: 2) }
        #expect(StabilityMeasures.centreJitter(moving) == 0)
        let spike = [0, 5, 0].map { Box(x: $0, y: 0, width: 1, height: 1) }
        #expect(StabilityMeasures.centreJitter(spike) == 5)
        // Empty boxes are skipped, and with no interior frame left there is no figure.
        #expect(StabilityMeasures.centreJitter([.empty, Box(x: 1, y: 1, width: 1, height: 1), .empty]) == nil)
    }

    @Test("a one-pixel object that blinks off for one frame flickers once")
    func flickerBlink() {
        let frames = [strip(3, [1]), strip(3, []), strip(3, [1]), strip(3, [1])]
        // t=1: the pixel turns off and is back at t=2, extent 1 -> 1. t=2: turns on and stays -> 0. t=3: no change.
        #expect(StabilityMeasures.flicker(frames, window: 3) == [1, 0, 0])
    }

    @Test("flicker ignores changes that last longer than the window")
    func flickerWindow() {
        let frames = [strip(3, [0]), strip(3, []), strip(3, []), strip(3, [0])]
        // Off for frames 1 and 2: a two-frame excursion.
        #expect(StabilityMeasures.flicker(frames, window: 1) == [0, 0, 0])
        #expect(StabilityMeasures.flicker(frames, window: 2) == [1, 0, 0])
        // A steady move of an object wider than its per-frame motion is not flicker...
        let slide = (0..<4).map { strip(8, [$0, $0 + 1, $0 + 2]) }
        #expect(StabilityMeasures.flicker(slide, window: 2) == [0, 0, 0])
        // ...but a one-pixel object moving one pixel a frame covers each pixel for one frame: it counts.
        #expect(StabilityMeasures.flicker([strip(4, [0]), strip(4, [1]), strip(4, [2])], window: 3) == [0.5, 0])
    }

    @Test("the frame-to-frame variance of J is half the mean squared change")
    func temporalVariance() {
        #expect(StabilityMeasures.temporalVariance([1, 0, 1]) == 0.5)
        #expect(StabilityMeasures.temporalVariance([0.8, 0.8, 0.8]) == 0)
        #expect(StabilityMeasures.temporalVariance([0.3]) == nil)
    }

    @Test("an object evaluation reports J, F, J&F and stability together")
    func objectEvaluation() {
        let gt = [strip(8, [2, 3]), strip(8, [2, 3]), strip(8, [2, 3])]
        let pred = [strip(8, [2, 3]), strip(8, [3]), strip(8, [])]
        let e = VideoEvaluation.evaluate(ObjectTrack(sequence: "s", object: "1", prediction: pred, groundTruth: gt))
        #expect(e.jPerFrame == [1, 0.5, 0])
        #expect(e.j.mean == 0.5)
        #expect(e.j.recall == 1.0 / 3)
        #expect(e.fPerFrame[0] == 1 && e.fPerFrame[2] == 0)
        #expect(e.jAndF == (0.5 + e.f.mean!) / 2)
        #expect(e.stability.jTemporalVariance == 0.125)
        #expect(e.groundTruthStability.consecutiveIoU == 1)
        let report = VideoEvaluation.evaluate([
            ObjectTrack(sequence: "s", object: "1", prediction: pred, groundTruth: gt),
            ObjectTrack(sequence: "s", object: "2", prediction: gt, groundTruth: gt),
        ])
        #expect(report.sequences.count == 1)
        #expect(report.overall.jMean == 0.75)
    }
}
