import Tracking

// Scenes with exact ground truth and model doubles shared by the tracking tests.


/// A scene of solid squares on black, with exact geometry per frame.
struct Scene {
    var width = 96, height = 64
    /// Per object: colour and the square's (x, y, side) on each frame, nil when hidden.
    var squares: [(color: UInt8, path: [(x: Int, y: Int, side: Int)?])]

    func frame(_ t: Int) -> FramePixels {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for square in squares {
            guard let s = square.path[t] else { continue }
            for y in max(s.y, 0)..<min(s.y + s.side, height) {
                for x in max(s.x, 0)..<min(s.x + s.side, width) { rgb[(y * width + x) * 3] = square.color }
            }
        }
        return FramePixels(width: width, height: height, rgb: rgb)
    }

    func truth(object: Int, frame t: Int) -> [Bool] {
        let f = frame(t)
        return (0..<(width * height)).map { f.rgb[$0 * 3] == squares[object].color }
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
    var frame: FramePixels?
    var encodeCount = 0
    var prompts: [Box] = []
    var hints: [Int?] = []
    /// When set, every answer is this mask (e.g. the whole frame) with this score.
    var forced: (mask: Bool, score: Double)?

    func encode(_ frame: FramePixels) throws {
        self.frame = frame
        encodeCount += 1
    }

    func candidates(box: Box, hint: Int?) throws -> [Segmentation<Int>] { [try segment(box: box, hint: hint)] }

    func segment(box: Box, hint: Int?) throws -> Segmentation<Int> {
        let f = frame!
        prompts.append(box)
        hints.append(hint)
        if let forced { return Segmentation(mask: .init(repeating: forced.mask, count: f.width * f.height), score: forced.score) }
        var counts = [Int](repeating: 0, count: 256)
        var mask = [Bool](repeating: false, count: f.width * f.height)
        for y in max(Int(box.y0), 0)..<min(Int(box.y1.rounded(.up)), f.height) {
            for x in max(Int(box.x0), 0)..<min(Int(box.x1.rounded(.up)), f.width) { counts[Int(f.rgb[(y * f.width + x) * 3])] += 1 }
        }
        let (dx, dy) = (box.width * reach, box.height * reach)
        let (x0, y0) = (Int((box.x0 - dx).rounded(.down)), Int((box.y0 - dy).rounded(.down)))
        let (x1, y1) = (Int((box.x1 + dx).rounded(.up)), Int((box.y1 + dy).rounded(.up)))
        guard let colour = (1..<256).max(by: { counts[$0] < counts[$1] }), counts[colour] > 0 else {
            return Segmentation(mask: mask, score: 0.1)
        }
        for y in max(y0, 0)..<min(y1, f.height) {
            for x in max(x0, 0)..<min(x1, f.width) where f.rgb[(y * f.width + x) * 3] == UInt8(colour) {
                mask[y * f.width + x] = true
            }
        }
        return Segmentation(mask: mask, score: score ?? 0.95, stability: 0.9, hint: colour,
                            appearance: reportsAppearance ? colourFeatures(UInt8(colour)) : nil)
    }
}

/// A one-hot "histogram" of one colour: different colours have cosine 0, the same colour 1.
func colourFeatures(_ colour: UInt8) -> [Float] {
    var v = [Float](repeating: 0, count: 256)
    v[Int(colour)] = 1
    return v
}

func iou(_ a: [Bool], _ b: [Bool]) -> Double {
    let i = zip(a, b).filter { $0 && $1 }.count, u = zip(a, b).filter { $0 || $1 }.count
    return u == 0 ? 1 : Double(i) / Double(u)
}
