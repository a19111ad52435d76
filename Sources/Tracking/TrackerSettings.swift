/// Tunable parts of the tracker. Every default is a choice of this project, named so it can
/// be changed from the CLI or a test. The choice weights and thresholds were set on the
/// synthetic tests and the bundled clips; real footage with official weights may want others.
public struct TrackerSettings: Sendable, Hashable {
    // Prompt

    /// Padding on each side of the prompt box, as a fraction of the box's width / height:
    /// room for motion the velocity model misses and for the object growing.
    public var margin: Double = 0.1
    /// Also give the model the previous frame's low-res logits as a mask prompt.
    public var useMaskPrompt = false
    /// Extra margin per rejected frame in a row, so the search widens while the object is gone.
    public var searchGrowth = 0.25
    /// Largest margin the search reaches.
    public var maxMargin = 1.5
    /// The search of an unseen object is at least the object's recent full size: the largest
    /// accepted box, shrunk by this factor per accepted frame so that real shrinking is followed.
    public var fullSizeMemory = 0.97

    // Rejection

    /// Masks the model itself scores below this are rejected (quality collapse).
    public var minScore = 0.4
    /// Masks with fewer pixels are "vanished".
    public var minArea = 9
    /// Masks covering more of the frame are rejected: a whole-frame answer is SAM's usual
    /// failure on an empty prompt region, never a plausible tracked object.
    public var maxAreaFraction = 0.9
    /// A mask more than this many times the last good area has bled into the background.
    public var maxGrowth = 4.0
    /// A mask more than this many times the object's reference area is refused ("grew past its
    /// size"); the reference moves `referenceRate` of the way to each accepted area. It catches
    /// growth feedback that stays under `maxGrowth` frame by frame: a mask spilling a little
    /// further on every frame, as the bundled recipe's plugin does on exit_reenter (4,580 px to
    /// 31,000 in six frames against a 3,700 px object). nil (the default): off, until it is tuned
    /// together with the next bundled model.
    public var maxReferenceGrowth: Double?
    public var referenceRate = 0.1
    /// Rejected frames in a row before `occluded` becomes `lost`.
    public var occludedFrames = 15
    /// Unused since the Kalman filter estimates velocity; kept so older settings still decode.
    public var velocitySmoothing = 0.5

    // Choosing among the model's candidates: combined = weighted mean of the terms present
    // (a term is absent when there is nothing to compare with, e.g. no template yet), minus
    // `fillPenalty` for a mask that fills its prompt box.

    /// Weight of the IoU between a candidate's box and the Kalman prediction: motion agreement,
    /// SAMURAI's main signal.
    public var boxAgreementWeight = 0.3
    /// Weight of the IoU between a candidate's mask and the previous mask moved by the predicted
    /// motion: shape agreement, which a box IoU cannot see (a mask spilling into a neighbour).
    public var maskAgreementWeight = 0.3
    /// Weight of the cosine between a candidate's pooled image features and the object's template.
    public var appearanceWeight = 0.2
    /// Weight of the model's predicted IoU: useful, but a weak model is confident about masks that
    /// fill loose boxes, so it never decides alone.
    public var predictedIoUWeight = 0.2
    /// Subtracted from a box-filling candidate's combined score: filling the prompt is evidence of
    /// failure (the model coloured the box), and accepting it would feed the error back as growth.
    public var fillPenalty = 0.5
    /// Subtracted from a candidate's combined score per unit share of its pixels where another
    /// object is expected (and this one is not): in a video segmentation every pixel belongs to
    /// one object, so such a mask is a spill onto a neighbour or an identity switch.
    public var sharedPenalty = 0.5
    /// A candidate with more than this share of its pixels where another object is expected is
    /// rejected ("taken by another object"): it is that object, found a second time.
    public var maxShared = 0.5

    // Box filling

    /// A mask fills its prompt when its box touches at least this many padded prompt sides...
    public var fillSides = 3
    /// ...where "touches" means a gap under this fraction of the padding on that side (the padding
    /// is where a correct mask leaves room; a gap of a few percent of it is pixel rounding).
    public var fillTolerance = 0.25
    /// A mask also fills its prompt when it covers more than this fraction of a padded prompt box
    /// (a square object in a box padded by 10 % covers 69 %).
    public var maxFillRatio = 0.9

    // Motion

    /// Noise of the constant-velocity Kalman filter on the box.
    public var kalman = KalmanNoise()
    /// Velocity kept per unseen frame: hidden objects slow down, turn or stop more often than not.
    public var velocityDamping = 0.8
    /// Largest size change per frame fed to the filter, as a fraction of the predicted size: a
    /// mask bleeding into the background grows faster than a real object. 0.15 (with
    /// `kalman.sizeVelocity` 0.03) was the best setting on the validation clips (J&F 0.533 against
    /// 0.487 at 0.05): tighter clamps lose objects that really change size (morph, approach).
    public var maxSizeChange = 0.15
    /// Estimate global camera motion and move the prediction (and the warped mask) with it.
    public var estimateCameraMotion = true

    // Appearance

    /// Cosine to the template below which a candidate is rejected while tracked ("appearance mismatch").
    public var minAppearance = 0.5
    /// Cosine an occluded or lost object's candidate needs to be taken as the object again: stricter
    /// than `minAppearance`, since a widened search sees distractors.
    public var redetectAppearance = 0.75
    /// Predicted IoU an occluded or lost object's candidate needs to re-enter `tracked`.
    public var redetectScore = 0.4
    /// An object whose predicted box lies mostly outside the frame has left it; it can only come
    /// back through an edge, so a candidate must then touch one (within this many pixels) to be
    /// taken as the object again: a look-alike in the middle of the frame is not it. Negative: off.
    public var reentryEdge = 2.0
    /// Rate at which the recent template follows accepted appearances (per frame): slow, so an
    /// error does not become the template.
    public var templateUpdate = 0.05
    /// Share of the recent template in the appearance figure (the rest is the first frame's template,
    /// which never drifts).
    public var recentTemplateShare = 0.5

    public init() {}
}

extension TrackerSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case margin, useMaskPrompt, searchGrowth, maxMargin, fullSizeMemory, minScore, minArea, maxAreaFraction, maxGrowth
        case maxReferenceGrowth, referenceRate
        case occludedFrames, velocitySmoothing
        case boxAgreementWeight, maskAgreementWeight, appearanceWeight, predictedIoUWeight = "predictedIouWeight"
        case fillPenalty, sharedPenalty, maxShared, fillSides, fillTolerance, maxFillRatio
        case kalman, velocityDamping, maxSizeChange, estimateCameraMotion
        case minAppearance, redetectAppearance, redetectScore, templateUpdate, recentTemplateShare, reentryEdge
    }

    /// Missing keys keep their defaults, so settings written before a field existed still decode.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        self.init()
        try read(.margin, &margin)
        try read(.useMaskPrompt, &useMaskPrompt)
        try read(.searchGrowth, &searchGrowth)
        try read(.maxMargin, &maxMargin)
        try read(.fullSizeMemory, &fullSizeMemory)
        try read(.minScore, &minScore)
        try read(.minArea, &minArea)
        try read(.maxAreaFraction, &maxAreaFraction)
        try read(.maxGrowth, &maxGrowth)
        maxReferenceGrowth = try c.decodeIfPresent(Double.self, forKey: .maxReferenceGrowth)
        try read(.referenceRate, &referenceRate)
        try read(.occludedFrames, &occludedFrames)
        try read(.velocitySmoothing, &velocitySmoothing)
        try read(.boxAgreementWeight, &boxAgreementWeight)
        try read(.maskAgreementWeight, &maskAgreementWeight)
        try read(.appearanceWeight, &appearanceWeight)
        try read(.predictedIoUWeight, &predictedIoUWeight)
        try read(.fillPenalty, &fillPenalty)
        try read(.sharedPenalty, &sharedPenalty)
        try read(.maxShared, &maxShared)
        try read(.fillSides, &fillSides)
        try read(.fillTolerance, &fillTolerance)
        try read(.maxFillRatio, &maxFillRatio)
        try read(.kalman, &kalman)
        try read(.velocityDamping, &velocityDamping)
        try read(.maxSizeChange, &maxSizeChange)
        try read(.estimateCameraMotion, &estimateCameraMotion)
        try read(.minAppearance, &minAppearance)
        try read(.redetectAppearance, &redetectAppearance)
        try read(.redetectScore, &redetectScore)
        try read(.templateUpdate, &templateUpdate)
        try read(.recentTemplateShare, &recentTemplateShare)
        try read(.reentryEdge, &reentryEdge)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(margin, forKey: .margin)
        try c.encode(useMaskPrompt, forKey: .useMaskPrompt)
        try c.encode(searchGrowth, forKey: .searchGrowth)
        try c.encode(maxMargin, forKey: .maxMargin)
        try c.encode(fullSizeMemory, forKey: .fullSizeMemory)
        try c.encode(minScore, forKey: .minScore)
        try c.encode(minArea, forKey: .minArea)
        try c.encode(maxAreaFraction, forKey: .maxAreaFraction)
        try c.encode(maxGrowth, forKey: .maxGrowth)
        // Only when on: settings written by runs without the rule stay as they were.
        if let maxReferenceGrowth {
            try c.encode(maxReferenceGrowth, forKey: .maxReferenceGrowth)
            try c.encode(referenceRate, forKey: .referenceRate)
        }
        try c.encode(occludedFrames, forKey: .occludedFrames)
        try c.encode(velocitySmoothing, forKey: .velocitySmoothing)
        try c.encode(boxAgreementWeight, forKey: .boxAgreementWeight)
        try c.encode(maskAgreementWeight, forKey: .maskAgreementWeight)
        try c.encode(appearanceWeight, forKey: .appearanceWeight)
        try c.encode(predictedIoUWeight, forKey: .predictedIoUWeight)
        try c.encode(fillPenalty, forKey: .fillPenalty)
        try c.encode(sharedPenalty, forKey: .sharedPenalty)
        try c.encode(maxShared, forKey: .maxShared)
        try c.encode(fillSides, forKey: .fillSides)
        try c.encode(fillTolerance, forKey: .fillTolerance)
        try c.encode(maxFillRatio, forKey: .maxFillRatio)
        try c.encode(kalman, forKey: .kalman)
        try c.encode(velocityDamping, forKey: .velocityDamping)
        try c.encode(maxSizeChange, forKey: .maxSizeChange)
        try c.encode(estimateCameraMotion, forKey: .estimateCameraMotion)
        try c.encode(minAppearance, forKey: .minAppearance)
        try c.encode(redetectAppearance, forKey: .redetectAppearance)
        try c.encode(redetectScore, forKey: .redetectScore)
        try c.encode(templateUpdate, forKey: .templateUpdate)
        try c.encode(recentTemplateShare, forKey: .recentTemplateShare)
        try c.encode(reentryEdge, forKey: .reentryEdge)
    }
}
