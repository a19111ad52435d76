import Imaging
import Tracking

// Scenes with exact ground truth and model doubles shared by the tracking tests.


/// A scene of solid squares on black, with exact geometry per frame.
struct Scene {
    var width = 96, height = 64
    /// Per object: colour and the square's (x, y, side) on each frame, nil when hidden.
    var squares: [(color: UInt8, path: [(x: Int, y: Int, side: Int)?])]

    func frame(_ t: Int) -> RGBImage {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for square in squares {
            guard let s = square.path[t] else { continue }
            for y in max(s.y, 0)..<min(s.y + s.side, height) {
                for x in max(s.x, 0)..<min(s.x + s.side, width) { rgb[(y * width + x) * 3] = square.color }
            }
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    func truth(object: Int, frame t: Int) -> [Bool] {
        let f = frame(t)
        return (0..<(width * height)).map { f.pixels[$0 * 3] == squares[object].color }
    }
}

/// Segments like an ideal but prompt-bound model: the pixels of the commonest non-black
/// colour under the prompt box, within the box grown by `reach` of its size on each side (a
/// box that lags the object clips the mask, as a real model's mask follows its prompt).
final class ColorSegmenter: Segmenting {
    typealias MaskHint = Int
    var reach = 0.5
    /// Report a one-hot colour histogram as the appearance (nil: the model has no features).
    var reportsAppearance = false
    /// When set, every non-empty answer carries this score instead of 0.95.
    var score: Double?
    var frame: RGBImage?
    var encodeCount = 0
    var prompts: [Box] = []
    var hints: [Int?] = []
    /// When set, every answer is this mask (e.g. the whole frame) with this score.
    var forced: (mask: Bool, score: Double)?
    /// When set, the next answer is this mask (score 0.95), once.
    var forcedMask: [Bool]?
    /// Answer with one candidate per colour under the prompt (commonest first) instead of one.
    var everyColour = false

    func encode(_ frame: RGBImage) throws {
        self.frame = frame
        encodeCount += 1
    }

    func candidates(box: Box, hint: Int?) throws -> [Segmentation<Int>] {
        prompts.append(box)
        hints.append(hint)
        guard everyColour else { return [try segment(box: box, colour: nil)] }
        let outputs = CandidateOutput.allCases
        let colours = coloursUnder(box)
        if colours.isEmpty { return [try segment(box: box, colour: nil)] }
        return try colours.prefix(4).enumerated().map { k, colour in
            var s = try segment(box: box, colour: colour)
            s.output = outputs[k]
            return s
        }
    }

    /// Non-black colours under the box, commonest first.
    func coloursUnder(_ box: Box) -> [Int] {
        let f = frame!
        var counts = [Int](repeating: 0, count: 256)
        for y in max(Int(box.y0), 0)..<min(Int(box.y1.rounded(.up)), f.height) {
            for x in max(Int(box.x0), 0)..<min(Int(box.x1.rounded(.up)), f.width) { counts[Int(f.pixels[(y * f.width + x) * 3])] += 1 }
        }
        return (1..<256).filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] }
    }

    /// The colour's pixels (the commonest colour when nil) within the prompt grown by `reach`.
    func segment(box: Box, colour chosen: Int?) throws -> Segmentation<Int> {
        let f = frame!
        if let mask = forcedMask {
            forcedMask = nil
            return Segmentation(mask: mask, score: 0.95, appearance: reportsAppearance ? histogram(mask, f) : nil)
        }
        if let forced { return Segmentation(mask: .init(repeating: forced.mask, count: f.width * f.height), score: forced.score) }
        var counts = [Int](repeating: 0, count: 256)
        var mask = [Bool](repeating: false, count: f.width * f.height)
        for y in max(Int(box.y0), 0)..<min(Int(box.y1.rounded(.up)), f.height) {
            for x in max(Int(box.x0), 0)..<min(Int(box.x1.rounded(.up)), f.width) { counts[Int(f.pixels[(y * f.width + x) * 3])] += 1 }
        }
        let (dx, dy) = (box.width * reach, box.height * reach)
        let (x0, y0) = (Int((box.x0 - dx).rounded(.down)), Int((box.y0 - dy).rounded(.down)))
        let (x1, y1) = (Int((box.x1 + dx).rounded(.up)), Int((box.y1 + dy).rounded(.up)))
        guard let colour = chosen ?? (1..<256).max(by: { counts[$0] < counts[$1] }), counts[colour] > 0 else {
            return Segmentation(mask: mask, score: 0.1)
        }
        for y in max(y0, 0)..<min(y1, f.height) {
            for x in max(x0, 0)..<min(x1, f.width) where f.pixels[(y * f.width + x) * 3] == UInt8(colour) {
                mask[y * f.width + x] = true
            }
        }
        return Segmentation(mask: mask, score: score ?? 0.95, stability: 0.9, hint: colour,
                            appearance: reportsAppearance ? histogram(mask, f) : nil)
    }
}

/// The colour histogram under a mask (red channel): the doubles' appearance features. Masks of
/// different single colours have cosine 0; a mask that spills onto black moves towards bin 0.
func histogram(_ mask: [Bool], _ frame: RGBImage) -> [Float] {
    var v = [Float](repeating: 0, count: 256)
    for i in mask.indices where mask[i] { v[Int(frame.pixels[i * 3])] += 1 }
    return v
}

/// A weak model: besides the object's own pixels it offers masks that spill towards the prompt
/// box: `bleed` 0 is the object's box, 1 the whole prompt box, filled.
final class BleedingSegmenter: Segmenting {
    typealias MaskHint = Int
    let inner = ColorSegmenter()
    /// Per candidate: how far its rectangle spills towards the prompt box (nil: the object's own
    /// pixels) and the score the model gives it. The first is the single-mask output.
    var answers: [(bleed: Double?, score: Double)] = [(1, 0.95)]

    func encode(_ frame: RGBImage) throws { try inner.encode(frame) }

    func candidates(box: Box, hint: Int?) throws -> [Segmentation<Int>] {
        let f = inner.frame!
        let exact = try inner.segment(box: box, colour: nil)
        inner.prompts.append(box)
        let outputs = CandidateOutput.allCases
        return answers.enumerated().map { k, answer in
            var mask = exact.mask
            if let bleed = answer.bleed, let object = Box.bounding(exact.mask, width: f.width, height: f.height) {
                let r = Box(x0: object.x0 + bleed * (box.x0 - object.x0), y0: object.y0 + bleed * (box.y0 - object.y0),
                            x1: object.x1 + bleed * (box.x1 - object.x1), y1: object.y1 + bleed * (box.y1 - object.y1))
                for y in max(0, Int(r.y0.rounded(.down)))..<min(f.height, Int(r.y1.rounded(.up))) {
                    for x in max(0, Int(r.x0.rounded(.down)))..<min(f.width, Int(r.x1.rounded(.up))) { mask[y * f.width + x] = true }
                }
            }
            return Segmentation(mask: mask, score: answer.score, output: outputs[k], appearance: histogram(mask, f))
        }
    }
}

func iou(_ a: [Bool], _ b: [Bool]) -> Double {
    let i = zip(a, b).filter { $0 && $1 }.count, u = zip(a, b).filter { $0 || $1 }.count
    return u == 0 ? 1 : Double(i) / Double(u)
}
