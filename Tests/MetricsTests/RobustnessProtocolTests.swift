// The prompt-robustness protocol: prompt generation and the per-type scores.
import Metrics
import Testing

@Suite("Robustness protocol")
struct RobustnessProtocolTests {
    let object = BinaryMask(width: 40, height: 30, bits: (0..<1200).map { i in
        let (x, y) = (i % 40, i / 40)
        return x >= 10 && x < 30 && y >= 5 && y < 25
    })

    @Test("the protocol has nine prompt types: GT box, five noisy boxes, 1, 3 and 10 points")
    func kinds() {
        let p = RobustnessProtocol()
        #expect(p.kinds.count == 9)
        #expect(p.kinds.map(\.description) == ["GT box", "noisy box 0.1", "noisy box 0.2", "noisy box 0.3", "noisy box 0.4",
                                               "noisy box 0.5", "1 point", "3 points", "10 points"])
    }

    @Test("the GT box is the tight box in pixel-edge coordinates, drawn once")
    func groundTruthBox() {
        let prompts = RobustnessProtocol().prompts(.groundTruthBox, groundTruth: object, image: 0, object: 0)
        #expect(prompts == [SweepPrompt(box: .init(x0: 10, y0: 5, x1: 30, y1: 25), points: [])])
    }

    @Test("noisy boxes stay inside the HQ-SAM noise bounds and the image, and repeat for the same seed")
    func noisyBoxes() {
        let p = RobustnessProtocol(seed: 7)
        let boxes = p.prompts(.noisyBox(scale: 0.5), groundTruth: object, image: 3, object: 1).map { $0.box! }
        #expect(boxes.count == 20)
        for b in boxes {
            let (cx, cy, w, h) = ((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.x1 - b.x0, b.y1 - b.y0)
            #expect(abs(cx - 20) <= 10 * 0.5 * 1.5 + 1e-9 && abs(cy - 15) <= 10 * 0.5 * 1.5 + 1e-9)
            #expect(w >= 10 - 1e-9 && w <= 30 + 1e-9 && h >= 10 - 1e-9 && h <= 30 + 1e-9)
            #expect(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= 40 && b.y1 <= 30)
        }
        #expect(Set(boxes).count == 20)
        #expect(p.prompts(.noisyBox(scale: 0.5), groundTruth: object, image: 3, object: 1).map { $0.box! } == boxes)
        #expect(RobustnessProtocol(seed: 8).prompts(.noisyBox(scale: 0.5), groundTruth: object, image: 3, object: 1)
                    .map { $0.box! } != boxes)
    }

    @Test("random points are distinct foreground pixels, and a one-pixel object repeats its pixel")
    func points() {
        for prompt in RobustnessProtocol().prompts(.points(count: 10), groundTruth: object, image: 0, object: 0) {
            #expect(prompt.box == nil && prompt.points.count == 10 && Set(prompt.points).count == 10)
            for q in prompt.points { #expect(object[Int(q.x), Int(q.y)]) }
        }
        var one = BinaryMask.empty(width: 5, height: 5)
        one[3, 1] = true
        let p = RobustnessProtocol(draws: 2).prompts(.points(count: 3), groundTruth: one, image: 0, object: 0)
        #expect(p.allSatisfy { $0.points == Array(repeating: SweepPrompt.Point(x: 3, y: 1), count: 3) })
    }

    @Test("ST and pairwise IoU of two draws {a, b} and {b} are 0.75 and 0.5")
    func stabilityOfDraws() {
        let a = BinaryMask(width: 2, height: 1, bits: [true, true]), b = BinaryMask(width: 2, height: 1, bits: [false, true])
        #expect(RobustnessAccumulator.stability([a, b]) == 0.75)
        #expect(RobustnessAccumulator.pairwiseIoU([a, b]) == 0.5)
    }

    @Test("the accumulator averages IoU over objects and draws and leaves ST undefined for one draw")
    func accumulator() {
        var acc = RobustnessAccumulator()
        acc.add(.groundTruthBox, groundTruth: object, masks: [object])
        acc.add(.points(count: 1), groundTruth: object, masks: [object, .empty(width: 40, height: 30)])
        let s = acc.scores
        #expect(s.map(\.kind) == ["GT box", "1 point"])
        #expect(s[0].mIoU == 1 && s[0].mBIoU == 1 && s[0].stability == nil)
        #expect(s[1].mIoU == 0.5 && s[1].mBIoU == 0.5 && s[1].stability == 0.5 && s[1].pairwiseIoU == 0)
    }

    @Test("boundary IoU compares inner bands of 2% of the diagonal")
    func boundaryIoU() {
        #expect(BoundaryMeasure.bandWidth(ratio: 0.02, width: 100, height: 100) == 3)
        #expect(BoundaryMeasure.bandWidth(ratio: 0.02, width: 4, height: 4) == 1)
        // A 4x4 square at (1,1) with band 1: its 12 outer pixels; with band 2: all 16.
        var sq = BinaryMask.empty(width: 6, height: 6)
        for y in 1...4 { for x in 1...4 { sq[x, y] = true } }
        #expect(BoundaryMeasure.innerBand(sq, band: 1).filter { $0 }.count == 12)
        #expect(BoundaryMeasure.innerBand(sq, band: 2).filter { $0 }.count == 16)
        // The image border counts as background: a full mask's band is its outer ring.
        #expect(BoundaryMeasure.innerBand(BinaryMask(width: 3, height: 3, bits: Array(repeating: true, count: 9)), band: 1)
                    .filter { $0 }.count == 8)
        #expect(BoundaryMeasure.boundaryIoU(.empty(width: 6, height: 6), .empty(width: 6, height: 6)) == 1)
        // Squares (1..4) vs (2..5), band 1: rings of 12 sharing 6 pixels -> 6 / 18.
        var moved = BinaryMask.empty(width: 6, height: 6)
        for y in 1...4 { for x in 2...5 { moved[x, y] = true } }
        #expect(abs(BoundaryMeasure.boundaryIoU(sq, moved, ratio: 0.01) - 6.0 / 18) < 1e-12)
    }
}
