// The tracker's only view of a segmentation model. Tracking never imports the model
// module: the CLI adapts SegmentAnything's Predictor to this protocol, and tests use
// doubles that return known masks.

import Imaging

/// Which of the model's outputs a candidate is. SAM's mask decoder always computes four mask
/// tokens: token 0 is the single-mask answer, tokens 1-3 the three multimask answers (whole,
/// part, subpart, roughly).
public enum CandidateOutput: String, Sendable, Codable, Hashable, CaseIterable {
    case single, multi1, multi2, multi3
}

/// One candidate answer of a model for one prompt on the encoded frame.
public struct Segmentation<MaskHint> {
    /// Row-major at frame size: `mask[y * width + x]`.
    public var mask: [Bool]
    /// The model's own quality estimate (SAM: predicted IoU), 0...1.
    public var score: Double
    /// How little the mask changes when the logit threshold moves (SAM's stability score:
    /// area(logit > +1) / area(logit > -1)); nil when the model has no logits.
    public var stability: Double?
    /// Model-specific state that can prompt the next frame (SAM: low-res logits).
    public var hint: MaskHint?
    /// Routing weights the model reports for this answer (Stable-SAM's `[a1, a2]`); nil when none.
    public var route: [Double]?
    /// Which output this is.
    public var output: CandidateOutput
    /// Image features pooled under the mask (SAM: the image embedding weighted by the mask's
    /// probabilities), compared by cosine with the object's template; nil when the model has none.
    public var appearance: [Float]?
    /// Per-pixel log-odds at frame size, row-major like `mask`, which is exactly `logits > 0` (SAM:
    /// the upscaled mask logits); soft mattes are their sigmoid. Nil unless soft mattes were asked.
    public var logits: [Float]?

    public init(mask: [Bool], score: Double, stability: Double? = nil, hint: MaskHint? = nil, route: [Double]? = nil,
                output: CandidateOutput = .single, appearance: [Float]? = nil, logits: [Float]? = nil) {
        self.mask = mask
        self.score = score
        self.stability = stability
        self.hint = hint
        self.route = route
        self.output = output
        self.appearance = appearance
        self.logits = logits
    }
}

/// A promptable segmenter: encode a frame once (the expensive step), then answer one box
/// prompt per object against that encoding.
public protocol Segmenting: AnyObject {
    /// Opaque mask prompt carried from one frame to the next (SAM: low-res logits).
    associatedtype MaskHint

    func encode(_ frame: RGBImage) throws
    /// Every candidate one model pass gives for this prompt (SAM: the single-mask answer and the
    /// three multimask answers); the tracker chooses. A model with one answer returns one.
    /// `box` is in frame pixels and overlaps the frame; `hint` is an earlier chosen answer's hint.
    func candidates(box: Box, hint: MaskHint?) throws -> [Segmentation<MaskHint>]
    /// The answer to a keyframe on the encoded frame (`width x height`): the model's mask for a
    /// box and/or points, or the keyframe's own mask with the model's features for it; nil when
    /// the prompt gives nothing to answer. A default for box-only models is in KeyframePrompt.swift.
    func answer(_ prompt: KeyframePrompt, width: Int, height: Int) throws -> Segmentation<MaskHint>?
}
