import Imaging
import Metrics
import PluginTraining
import SegmentAnything
import Tensor
import Tracking

/// Adapts SegmentAnything's Predictor to the tracker's `Segmenting` protocol: one image
/// encoding per frame, one decoder pass per object giving all four mask tokens as candidates.
/// Appearance descriptors are mask-pooled embeddings centred on the frame's mean embedding.
final class TrackSegmenter: Segmenting {
    typealias MaskHint = Tensor
    let predictor: Predictor
    /// Also give each candidate its frame-size logits, for soft mattes (a copy; the sigmoid is
    /// taken on the writer thread, of the chosen candidate only).
    let softAlpha: Bool
    private static let outputs: [CandidateOutput] = [.single, .multi1, .multi2, .multi3]

    init(model: Sam, softAlpha: Bool = false) {
        predictor = Predictor(model: model)
        self.softAlpha = softAlpha
    }

    func encode(_ frame: RGBImage) throws {
        predictor.setImage(frame)
    }

    /// A keyframe's answer. A mask is kept as given, with the features pooled under it and its
    /// low-res form as the next frame's mask hint. Box and points: one point alone is ambiguous,
    /// so the best-scored multimask answer (as SAM's predictor recommends); otherwise the
    /// single-mask answer.
    func answer(_ prompt: KeyframePrompt, width: Int, height: Int) throws -> Segmentation<Tensor>? {
        if let mask = prompt.mask {
            let low = LowResTarget.make(BinaryMask(width: width, height: height, bits: mask),
                                        imgSize: predictor.model.config.imgSize, lowSize: 4 * predictor.model.config.embeddingSize)
            let side = low.shape[3]
            // 0/1 -> confident logits, so the pooled weights are the mask itself.
            let logits = Tensor(shape: [1, side, side], storage: low.storage.map { $0 > 0.5 ? 12 : -12 })
            let features = try predictor.maskPooledEmbedding(logits, centered: true)[0]
            return Segmentation(mask: mask, score: 1, hint: logits, output: .single,
                                appearance: features.isEmpty ? nil : features,
                                logits: softAlpha ? mask.map { $0 ? 12 : -12 } : nil)
        }
        guard prompt.box != nil || !prompt.points.isEmpty else { return nil }
        let points = prompt.points.map { Prompt.Point(x: $0.x, y: $0.y, positive: $0.positive) }
        let ask = Prompt(box: prompt.box, points: points)
        let all = try candidates(ask)
        guard !all.isEmpty else { return nil }
        if prompt.box == nil && prompt.points.count == 1 && all.count > 1 {
            return all[1...].max { $0.score < $1.score }
        }
        return all[0]
    }

    /// The single-mask answer (SAM's recommendation for a box) and the three multimask answers
    /// from the same pass; each with its mask-pooled image features for the appearance check.
    func candidates(box: Box, hint: Tensor?) throws -> [Segmentation<Tensor>] {
        try candidates(Prompt(box: box, maskInput: hint))
    }

    private func candidates(_ prompt: Prompt) throws -> [Segmentation<Tensor>] {
        let prediction = try predictor.predictAllMasks(prompt)
        let features = try predictor.maskPooledEmbedding(prediction.lowResLogits, centered: true)
        let route = prediction.route.map { $0.map(Double.init) }
        let count = min(prediction.iou.count, Self.outputs.count)
        let plane = prediction.logits.shape[1] * prediction.logits.shape[2]
        let (side0, side1) = (prediction.lowResLogits.shape[1], prediction.lowResLogits.shape[2])
        return prediction.logits.storage.withUnsafeBufferPointer { logits in
            (0..<count).map { k in
                var mask = [Bool](repeating: false, count: plane)
                // SAM's stability score (automatic mask generator): area above +1 over area above -1.
                var strong = 0, weak = 0
                for i in 0..<plane {
                    let v = logits[k * plane + i]
                    if v > 0 { mask[i] = true }
                    if v > 1 { strong += 1 }
                    if v > -1 { weak += 1 }
                }
                let soft = softAlpha ? Array(logits[(k * plane)..<((k + 1) * plane)]) : nil
                return Segmentation(mask: mask, score: Double(prediction.iou[k]),
                                    stability: weak > 0 ? Double(strong) / Double(weak) : nil,
                                    hint: prediction.lowResLogits.slice(axis: 0, k..<(k + 1)).reshaped([1, side0, side1]),
                                    route: route, output: Self.outputs[k],
                                    appearance: features[k].isEmpty ? nil : features[k], logits: soft)
            }
        }
    }
}
