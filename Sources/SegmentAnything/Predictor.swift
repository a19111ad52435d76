// Port of segment_anything/predictor.py (SamPredictor)
import Foundation
import Imaging
import Tensor

/// A prompt in original-image pixel coordinates.
public struct Prompt: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double, y: Double
        public var positive: Bool
        public init(x: Double, y: Double, positive: Bool = true) { self.x = x; self.y = y; self.positive = positive }
    }
    /// Corners in original-image pixels.
    public var box: Box?
    public var points: [Point]
    /// Low-resolution logits `[1, 4e, 4e]` from an earlier prediction (`Prediction.lowResLogits`).
    public var maskInput: Tensor?

    public init(box: Box? = nil, points: [Point] = [], maskInput: Tensor? = nil) {
        self.box = box; self.points = points; self.maskInput = maskInput
    }
}

public struct Prediction: Sendable {
    /// Logits at the original image size `[M, H, W]`; the mask is `logit > 0`.
    public var logits: Tensor
    /// Predicted IoU per mask `[M]`.
    public var iou: [Float]
    /// Low-resolution logits `[M, 4e, 4e]`, usable as the next prompt's `maskInput`.
    public var lowResLogits: Tensor
    /// Sparse and dense prompt embeddings, kept for inspection and parity tests.
    public var sparseEmbeddings: Tensor
    public var denseEmbeddings: Tensor
    /// Stable-SAM's route weights [a1 (deformed), a2 (regular)] for this prompt; nil without a plugin.
    public var route: [Float]?

    /// Binary mask `i` (0/1), row-major at the original size.
    public func mask(_ i: Int) -> [UInt8] {
        let plane = logits.shape[1] * logits.shape[2]
        return logits.storage[(i * plane)..<((i + 1) * plane)].map { $0 > 0 ? 1 : 0 }
    }
}

public enum PromptError: Error, CustomStringConvertible, Equatable {
    case noImage
    case emptyPrompt
    case notFinite(what: String)
    case degenerateBox(x0: Double, y0: Double, x1: Double, y1: Double)
    case boxOutsideImage(x0: Double, y0: Double, x1: Double, y1: Double, width: Int, height: Int)
    case pointOutsideImage(x: Double, y: Double, width: Int, height: Int)
    case maskInputShape(expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .noImage: return "no image set: call setImage before predict"
        case .emptyPrompt: return "the prompt is empty: give a box (--box x0,y0,x1,y1) or at least one point (--point x,y)"
        case .notFinite(let what): return "\(what) is not a finite number (NaN or infinity): give pixel coordinates"
        case let .degenerateBox(x0, y0, x1, y1):
            return "box \(x0),\(y0),\(x1),\(y1) has zero or negative area: need x0 < x1 and y0 < y1"
        case let .boxOutsideImage(x0, y0, x1, y1, w, h):
            return "box \(x0),\(y0),\(x1),\(y1) lies outside the \(w)x\(h) image: boxes are in pixels, origin top-left"
        case let .pointOutsideImage(x, y, w, h):
            return "point \(x),\(y) lies outside the \(w)x\(h) image: points are in pixels, origin top-left"
        case let .maskInputShape(e, a): return "mask input has shape \(a), expected \(e) (the lowResLogits of an earlier prediction)"
        }
    }
}

/// Encodes an image once, then answers any number of prompts against the cached embedding.
public final class Predictor {
    public let model: Sam
    public let transform: ResizeLongestSide
    public private(set) var imageEmbedding: Tensor?
    /// The image behind `imageEmbedding` (nil after `setEmbedding`), so callers can skip re-encoding.
    public private(set) var lastImage: RGBImage?
    public private(set) var inputImage: Tensor?
    public private(set) var originalSize = (h: 0, w: 0)
    public private(set) var inputSize = (h: 0, w: 0)
    private lazy var densePE: Tensor = model.promptEncoder.densePositionalEncoding()

    public init(model: Sam) {
        self.model = model
        transform = ResizeLongestSide(targetLength: model.config.imgSize)
    }

    /// Resizes, normalises and encodes an RGB image (the expensive step: once per frame).
    public func setImage(_ image: RGBImage) {
        let resized = transform.applyImage(image)
        let input = model.preprocess(resized)
        originalSize = (image.height, image.width)
        inputSize = (resized.height, resized.width)
        inputImage = input
        imageEmbedding = model.imageEncoder(input)
        lastImage = image
    }

    /// Uses an embedding computed elsewhere (e.g. cached), for an image of `originalSize`.
    public func setEmbedding(_ embedding: Tensor, originalSize: (h: Int, w: Int)) {
        self.originalSize = originalSize
        inputSize = transform.outputSize(height: originalSize.h, width: originalSize.w)
        imageEmbedding = embedding
        lastImage = nil
    }

    public func predict(_ prompt: Prompt, multimask: Bool) throws -> Prediction {
        try decode(prompt, tokens: multimask ? .multimask : .single)
    }

    /// Every mask token of one decoder pass: index 0 is `predict(multimask: false)`'s mask, 1-3
    /// are `predict(multimask: true)`'s, so a caller choosing among them pays for one pass, not two.
    public func predictAllMasks(_ prompt: Prompt) throws -> Prediction {
        try decode(prompt, tokens: .all)
    }

    /// Which of the decoder's mask tokens a prediction returns.
    enum MaskTokens { case single, multimask, all }

    private func decode(_ prompt: Prompt, tokens: MaskTokens) throws -> Prediction {
        guard let embedding = imageEmbedding else { throw PromptError.noImage }
        try validate(prompt)
        let (h, w) = originalSize
        let points = prompt.points.map { p -> PromptPoint in
            let (x, y) = transform.applyCoords(x: p.x, y: p.y, originalSize: (h, w))
            return PromptPoint(x: x, y: y, label: p.positive ? 1 : 0)
        }
        let box = prompt.box.map { transform.applyBox($0, originalSize: (h, w)) }
        let pe = model.promptEncoder
        let sparse = pe.sparseEmbeddings(points: points, box: box)
        let dense = pe.denseEmbeddings(mask: prompt.maskInput.map { $0.reshaped([1, 1, $0.dim(-2), $0.dim(-1)]) })
        let (lowRes, iou, route): (Tensor, Tensor, Tensor?)
        switch tokens {
        case .single, .multimask:
            (lowRes, iou, route) = model.maskDecoder(imageEmbedding: embedding, imagePE: densePE, sparse: sparse,
                                              dense: dense, multimask: tokens == .multimask)
        case .all:
            (lowRes, iou, route) = model.maskDecoder.predictMasks(imageEmbedding: embedding, imagePE: densePE, sparse: sparse, dense: dense)
        }
        let logits = model.postprocessMasks(lowRes, inputSize: inputSize, originalSize: originalSize)
        let m = lowRes.shape[1]
        return Prediction(logits: logits.reshaped([m, h, w]), iou: iou.storage,
                          lowResLogits: lowRes.reshaped([m, lowRes.shape[2], lowRes.shape[3]]),
                          sparseEmbeddings: sparse, denseEmbeddings: dense,
                          route: route?.storage)
    }

    /// The current image embedding averaged under each mask, weighted by the mask's probability
    /// (sigmoid of its logits, pooled 4x4 onto the embedding grid, which covers the same padded
    /// square as the low-res masks): an appearance descriptor per mask, for comparing an object
    /// across frames. lowResLogits: [M, 4e, 4e] -> M vectors of C; an empty vector where the mask
    /// has no weight. `centered`: minus the frame's `meanEmbedding()`, the tracker's appearance
    /// descriptor.
    public func maskPooledEmbedding(_ lowResLogits: Tensor, centered: Bool = false) throws -> [[Float]] {
        guard let embedding = imageEmbedding else { throw PromptError.noImage }
        let (c, eh, ew) = (embedding.shape[1], embedding.shape[2], embedding.shape[3])
        let m = lowResLogits.shape[0], (lh, lw) = (lowResLogits.shape[1], lowResLogits.shape[2])
        precondition(lh == 4 * eh && lw == 4 * ew, "low-res masks \(lowResLogits.shape) do not fit embedding \(embedding.shape)")
        let logits = lowResLogits.storage
        var weights = [Float](repeating: 0, count: m * eh * ew)
        for k in 0..<m {
            for y in 0..<lh {
                let row = (k * lh + y) * lw, cell = (k * eh + y / 4) * ew
                for x in 0..<lw { weights[cell + x / 4] += 1 / (1 + expf(-logits[row + x])) }
            }
        }
        // [M, e*e] x [C, e*e]^T -> [M, C], one BLAS product for all masks.
        let pooled = Tensor(shape: [m, eh * ew], storage: weights)
            .matmul(embedding.reshaped([c, eh * ew]), transposeOther: true).storage
        let mean = centered ? try meanEmbedding() : [Float](repeating: 0, count: c)
        return (0..<m).map { k in
            let total = weights[(k * eh * ew)..<((k + 1) * eh * ew)].reduce(0, +)
            guard total > 1e-3 else { return [] }
            return (0..<c).map { pooled[k * c + $0] / total - mean[$0] }
        }
    }

    /// The current image embedding averaged over the cells that cover the image (not the
    /// padding): the component every region of this frame shares. Subtracting it from
    /// `maskPooledEmbedding` leaves what sets a region apart, so cosines between regions spread out
    /// (measured on the validation clips with the bundled model: same object 0.97 vs its box grown
    /// twofold 0.84 uncentred, 0.90 vs 0.65 centred). [C]
    public func meanEmbedding() throws -> [Float] {
        guard let embedding = imageEmbedding else { throw PromptError.noImage }
        let (c, eh, ew) = (embedding.shape[1], embedding.shape[2], embedding.shape[3])
        let stride = model.config.imgSize / max(eh, 1)
        let (vh, vw) = (max(1, min(eh, (inputSize.h + stride - 1) / stride)), max(1, min(ew, (inputSize.w + stride - 1) / stride)))
        var mean = [Float](repeating: 0, count: c)
        embedding.storage.withUnsafeBufferPointer { e in
            for k in 0..<c {
                var sum: Float = 0
                for y in 0..<vh {
                    let row = (k * eh + y) * ew
                    for x in 0..<vw { sum += e[row + x] }
                }
                mean[k] = sum / Float(vh * vw)
            }
        }
        return mean
    }

    func validate(_ prompt: Prompt) throws {
        try prompt.validate(width: originalSize.w, height: originalSize.h)
        if let m = prompt.maskInput {
            let side = 4 * model.config.embeddingSize
            guard m.count == side * side else { throw PromptError.maskInputShape(expected: [1, side, side], actual: m.shape) }
        }
    }
}

extension Prompt {
    /// Checks the prompt against an image of `width x height` pixels: finite numbers, a box with
    /// positive area that overlaps the image (it may overhang: trackers' boxes often do), points inside.
    public func validate(width: Int, height: Int) throws {
        let (h, w) = (Double(height), Double(width))
        if box == nil && points.isEmpty && maskInput == nil { throw PromptError.emptyPrompt }
        if let b = box {
            guard [b.x0, b.y0, b.x1, b.y1].allSatisfy(\.isFinite) else { throw PromptError.notFinite(what: "a box coordinate") }
            guard b.x0 < b.x1 && b.y0 < b.y1 else { throw PromptError.degenerateBox(x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1) }
            guard b.x1 > 0 && b.y1 > 0 && b.x0 < w && b.y0 < h else {
                throw PromptError.boxOutsideImage(x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, width: width, height: height)
            }
        }
        for p in points {
            guard p.x.isFinite && p.y.isFinite else { throw PromptError.notFinite(what: "a point coordinate") }
            guard p.x >= 0 && p.y >= 0 && p.x <= w && p.y <= h else {
                throw PromptError.pointOutsideImage(x: p.x, y: p.y, width: width, height: height)
            }
        }
    }
}
