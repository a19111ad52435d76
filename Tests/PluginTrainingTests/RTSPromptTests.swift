import Imaging
import Metrics
import PluginTraining
import Testing

/// RTS's prompt draws (train.py `draw_prompt`, `noisy_box`, `temporal_prompt`, `epoch_stream`).
@Suite("RTS prompts and the epoch stream")
struct RTSPromptTests {
    /// A 40x30 mask with a 10x8 object at (12, 9).
    static let object: BinaryMask = {
        var bits = [Bool](repeating: false, count: 40 * 30)
        for y in 9..<17 { for x in 12..<22 { bits[y * 40 + x] = true } }
        return BinaryMask(width: 40, height: 30, bits: bits)
    }()

    @Test("still prompts: the GT box is the tight box, noisy boxes stay in the image with area, points lie on the object; all three kinds come up")
    func still() {
        var rng = TrainingRandom(seed: 11)
        var kinds = Set<String>(), pointCounts: [Int: Int] = [:]
        for _ in 0..<600 {
            let p = RTSPrompts.still(Self.object, rng: &rng)
            kinds.insert(p.kind.hasPrefix("points") ? "points" : p.kind)
            if p.kind == "box" { #expect(p.box == Box(x0: 12, y0: 9, x1: 22, y1: 17)) }
            if let b = p.box {
                #expect(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= 40 && b.y1 <= 30 && b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1, "\(b)")
            }
            if p.kind.hasPrefix("points") {
                #expect(p.kind == "points\(p.points.count)" && (1...10).contains(p.points.count))
                pointCounts[p.points.count, default: 0] += 1
                for q in p.points { #expect(Self.object[Int(q.x), Int(q.y)], "point \(q) off the object") }
                #expect(Set(p.points.map { "\($0.x),\($0.y)" }).count == p.points.count, "points drawn without replacement")
            }
        }
        #expect(kinds == ["box", "noisy_box", "points"])
        // k weighted towards 1 and 3 (0.3 each, 0.05 for the others).
        #expect(pointCounts[1, default: 0] > 2 * pointCounts[2, default: 0] && pointCounts[3, default: 0] > 2 * pointCounts[4, default: 0])
    }

    @Test("temporal prompts come from a visible frame at most 3 away and stay in the image")
    func temporal() {
        let boxes: [Int: Box] = [0: Box(x0: 2, y0: 2, x1: 10, y1: 10), 1: Box(x0: 4, y0: 2, x1: 12, y1: 10),
                                      5: Box(x0: 30, y0: 20, x1: 39, y1: 29)]
        var rng = TrainingRandom(seed: 3)
        var sources = Set<Int>()
        for _ in 0..<200 {
            let (b, src) = RTSPrompts.temporal(boxes: boxes, frame: 1, rng: &rng, width: 40, height: 30)
            sources.insert(src)
            #expect(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= 40 && b.y1 <= 30 && b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1, "\(b)")
        }
        #expect(sources == [0], "frame 1's only visible neighbour within 3 is frame 0 (5 is 4 away)")
        let (_, alone) = RTSPrompts.temporal(boxes: [5: boxes[5]!], frame: 5, rng: &rng, width: 40, height: 30)
        #expect(alone == 5, "no visible neighbour: the frame's own box")
    }

    @Test("loose temporal prompts are grown boxes (30-80 % padding), and loose 0 draws exactly the default prompts")
    func looseTemporal() {
        let boxes: [Int: Box] = [0: Box(x0: 400, y0: 400, x1: 500, y1: 500)]
        var a = TrainingRandom(seed: 9), b = TrainingRandom(seed: 9)
        for _ in 0..<50 {
            let plain = RTSPrompts.temporal(boxes: boxes, frame: 0, rng: &a, width: 1000, height: 1000)
            let zero = RTSPrompts.temporal(boxes: boxes, frame: 0, rng: &b, width: 1000, height: 1000, loose: 0)
            #expect(plain.box == zero.box)
        }
        // width / source width = (1 - cut) (1 + 2 m): at most 1.6 with the default margin U(0, 0.3)
        func widthRatios(loose: Double) -> [Double] {
            var rng = TrainingRandom(seed: 11)
            return (0..<400).map { _ in
                let (box, _) = RTSPrompts.temporal(boxes: boxes, frame: 0, rng: &rng, width: 1000, height: 1000, loose: loose)
                return (box.x1 - box.x0) / 100
            }
        }
        #expect(widthRatios(loose: 0).allSatisfy { $0 <= 1.6 + 1e-6 })
        let grown = widthRatios(loose: 1)
        #expect(grown.allSatisfy { $0 <= 2.6 + 1e-6 })
        #expect(Double(grown.filter { $0 > 1.6 }.count) / Double(grown.count) > 0.75, "loose 1: nearly all prompts padded past 30 %")
    }

    @Test("the epoch stream holds every still once and round(N·s/(1−s)) clip samples")
    func stream() {
        var rng = TrainingRandom(seed: 5)
        let plain = RTSPrompts.epochStream(stills: 7, clipSamples: nil, share: 0.5, rng: &rng)
        #expect(plain.compactMap { if case .still(let i) = $0 { i } else { nil } }.sorted() == Array(0..<7))
        let mixed = RTSPrompts.epochStream(stills: 10, clipSamples: 7, share: 0.4, rng: &rng)   // round(6.67) = 7
        let clips = mixed.compactMap { if case .clip(let j) = $0 { j } else { nil } }
        #expect(mixed.count == 17 && clips.sorted() == Array(0..<7))
        let cycled = RTSPrompts.epochStream(stills: 8, clipSamples: 3, share: 0.5, rng: &rng)   // 8 clip samples from 3
        let counts = Dictionary(grouping: cycled.compactMap { if case .clip(let j) = $0 { j } else { nil } }, by: { $0 }).mapValues(\.count)
        #expect(counts.values.reduce(0, +) == 8 && counts.values.allSatisfy { $0 == 2 || $0 == 3 })
    }
}
