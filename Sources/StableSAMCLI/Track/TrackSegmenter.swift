import SegmentAnything
import Tensor
import Tracking

/// Adapts SegmentAnything's Predictor to the tracker's `Segmenting` protocol: one image
/// encoding per frame, one single-mask box prediction per object.
final class TrackSegmenter: Segmenting {
    typealias MaskHint = Tensor
    let predictor: Predictor

    init(model: Sam) {
        predictor = Predictor(model: model)
    }

    func encode(_ frame: FramePixels) throws {
        predictor.setImage(RGB8Image(width: frame.width, height: frame.height, pixels: frame.rgb))
    }

    /// Single-mask output: for a box prompt SAM's own predictor recommends it, and the
    /// tracker wants one answer to judge, not three to choose from.
    func segment(box: Box, hint: Tensor?) throws -> Segmentation<Tensor> {
        let prediction = try predictor.predict(Prompt(box: (box.x0, box.y0, box.x1, box.y1), maskInput: hint),
                                               multimask: false)
        let logits = prediction.logits.storage
        var mask = [Bool](repeating: false, count: logits.count)
        // SAM's stability score (automatic mask generator): area above +1 over area above -1.
        var strong = 0, weak = 0
        for i in logits.indices {
            let v = logits[i]
            if v > 0 { mask[i] = true }
            if v > 1 { strong += 1 }
            if v > -1 { weak += 1 }
        }
        return Segmentation(mask: mask, score: Double(prediction.iou[0]),
                            stability: weak > 0 ? Double(strong) / Double(weak) : nil,
                            hint: prediction.lowResLogits, route: prediction.route.map { $0.map(Double.init) })
    }
}
