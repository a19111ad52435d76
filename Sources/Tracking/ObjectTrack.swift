import Imaging
import Metrics

/// Per-object state that survives a restart.
public struct ObjectSnapshot: Sendable, Codable {
    public var spec: ObjectSpec
    public var state: ObjectState
    /// Box of the last accepted mask (the user's box before the first frame).
    public var lastBox: Box
    public var lastArea: Int?
    /// Centre displacement per frame, pixels (the Kalman filter's velocity; kept for readers of older snapshots).
    public var velocityX: Double
    public var velocityY: Double
    /// Rejected frames in a row.
    public var missed: Int
    /// Whether any frame has been processed (the first frame uses the user's box as is).
    public var started: Bool
    public var stats: ObjectStability
    /// The box filter after the last frame; nil before the first accepted mask and in snapshots
    /// written before the filter existed (then it restarts from `lastBox` and the velocity).
    public var kalman: KalmanBoxFilter?
    /// The filter's box when the last mask was accepted: where the predicted motion that moves
    /// `lastMask` onto the next frame starts.
    public var acceptedEstimate: Box?
    /// The last accepted mask, cut to its box, for the shape comparison.
    public var lastMask: MaskCrop?
    /// Unit-length pooled features of the first accepted mask: the object's look, never updated.
    public var template: [Float]?
    /// A slowly updated template that follows gradual changes of look.
    public var recentTemplate: [Float]?
    /// The object's recent full size (a decaying maximum of accepted box sizes): while it is
    /// unseen the search is at least this big, since an object that slid behind another shrank
    /// its estimate to the sliver that was still visible.
    public var fullWidth: Double?
    public var fullHeight: Double?
    /// The same decaying maximum of the mask's area: growth is judged against it, so an object
    /// coming out from behind another may regrow to its size, while a spill past it is refused.
    public var fullArea: Double?
    /// The model's score for the last accepted mask.
    public var lastScore: Double?
    /// The area `maxReferenceGrowth` is judged against (kept only with that rule on).
    public var referenceArea: Double?
}

/// The prompt for one object on one frame and how it was built.
struct ObjectPrompt {
    var box: Box
    /// The Kalman prediction the prompt was padded from; nil on the first frame (the user's box).
    var predicted: Box?
    /// Padding given on each side, pixels.
    var padX: Double
    var padY: Double
}

/// A candidate with the figures the tracker judges it by.
struct ScoredCandidate {
    var summary: MaskSummary
    var scores: CandidateScores
}

/// The mutable per-object state and its rules.
struct ObjectTrack<Hint> {
    var snapshot: ObjectSnapshot
    var hint: Hint?
    /// Previous emitted mask, for the frame-to-frame IoU figure.
    var previousMask: [Bool]?
    /// The filter moved to the frame being processed (`predict`).
    private var predicted: KalmanBoxFilter
    /// `snapshot.lastMask` decoded.
    private var lastMaskBits: [Bool]?

    var spec: ObjectSpec { snapshot.spec }
    var state: ObjectState { snapshot.state }
    var stats: ObjectStability { snapshot.stats }

    init(spec: ObjectSpec, settings: TrackerSettings) {
        snapshot = ObjectSnapshot(spec: spec, state: .tracked, lastBox: spec.box, lastArea: nil, velocityX: 0,
                                  velocityY: 0, missed: 0, started: false, stats: ObjectStability(id: spec.id, name: spec.name))
        predicted = KalmanBoxFilter(box: spec.box, noise: settings.kalman)
    }

    init(snapshot: ObjectSnapshot, settings: TrackerSettings) {
        self.snapshot = snapshot
        predicted = snapshot.kalman ?? KalmanBoxFilter(box: snapshot.lastBox, noise: settings.kalman)
        lastMaskBits = snapshot.lastMask?.mask.decode()
    }

    /// The filter after the last frame; a snapshot from before the filter existed starts one
    /// from its box and velocity.
    private func posterior(_ settings: TrackerSettings) -> KalmanBoxFilter {
        if let kalman = snapshot.kalman { return kalman }
        var filter = KalmanBoxFilter(box: snapshot.lastBox, noise: settings.kalman)
        filter.setVelocity(x: snapshot.velocityX, y: snapshot.velocityY)
        return filter
    }

    /// Moves the estimate to this frame: with the camera, then one constant-velocity step.
    /// The first frame keeps the user's box.
    mutating func predict(camera: CameraShift, settings: TrackerSettings) {
        var filter = posterior(settings)
        if snapshot.started {
            filter.translate(dx: camera.dx, dy: camera.dy)
            filter.predict(noise: settings.kalman)
        }
        predicted = filter
    }

    /// The predicted box padded by the margin (wider for each missed frame), then clipped to the
    /// frame. A box the motion model pushed entirely off-frame is slid back to the nearest edge,
    /// so the model is always asked about pixels that exist.
    func prompt(settings: TrackerSettings, width: Int, height: Int) -> ObjectPrompt {
        let s = snapshot
        guard s.started else {
            return ObjectPrompt(box: s.spec.box.clipped(width: width, height: height) ?? s.spec.box, predicted: nil, padX: 0, padY: 0)
        }
        let estimate = predicted.box
        let pad = min(settings.margin + settings.searchGrowth * Double(s.missed), settings.maxMargin)
        // Searching: around the object's full size, not the sliver it shrank to while disappearing.
        let (sw, sh) = s.missed > 0 ? (max(estimate.width, s.fullWidth ?? 0), max(estimate.height, s.fullHeight ?? 0))
                                    : (estimate.width, estimate.height)
        var box = Box(centerX: estimate.centerX, centerY: estimate.centerY,
                      width: sw * (1 + 2 * pad), height: sh * (1 + 2 * pad))
        let (w, h) = (Double(width), Double(height))
        let slideX = box.x1 < 1 ? 1 - box.x1 : (box.x0 > w - 1 ? w - 1 - box.x0 : 0)
        let slideY = box.y1 < 1 ? 1 - box.y1 : (box.y0 > h - 1 ? h - 1 - box.y0 : 0)
        box = Box(x0: box.x0 + slideX, y0: box.y0 + slideY, x1: box.x1 + slideX, y1: box.y1 + slideY)
        return ObjectPrompt(box: box.clipped(width: width, height: height) ?? Box(x0: 0, y0: 0, x1: w, y1: h),
                            predicted: estimate, padX: sw * pad, padY: sh * pad)
    }

    /// Where the object may be on the previous and this frame, for the camera-motion estimate to
    /// leave out: the last estimate and its velocity step, padded like a prompt.
    func exclusionBox(settings: TrackerSettings) -> Box {
        guard snapshot.started else { return snapshot.spec.box }
        let filter = posterior(settings)
        let (b, v) = (filter.box, filter.velocity)
        let pad = min(settings.margin + settings.searchGrowth * Double(snapshot.missed), settings.maxMargin) + 0.1
        let (px, py) = (b.width * pad, b.height * pad)
        return Box(x0: min(b.x0, b.x0 + v.x) - px, y0: min(b.y0, b.y0 + v.y) - py,
                   x1: max(b.x1, b.x1 + v.x) + px, y1: max(b.y1, b.y1 + v.y) + py)
    }

    /// Where the object is expected on this frame (its last mask moved by the prediction); nil
    /// unless it was tracked on the previous frame.
    func support() -> WarpedSupport? {
        guard snapshot.state == .tracked, snapshot.missed == 0 else { return nil }
        return warpedLastMask()
    }

    /// The last accepted mask moved by the predicted motion; nil before the first one.
    private func warpedLastMask() -> WarpedSupport? {
        guard let crop = snapshot.lastMask, let bits = lastMaskBits, let from = snapshot.acceptedEstimate else { return nil }
        return WarpedSupport(crop: crop, bits: bits, motion: BoxMotion(from: from, to: predicted.box),
                             score: snapshot.lastScore ?? 1)
    }

    /// The figures of one candidate against this object's prediction, last mask and templates.
    func score(_ answer: Segmentation<Hint>, prompt: ObjectPrompt, settings: TrackerSettings,
               width: Int, height: Int) -> ScoredCandidate {
        let summary = MaskSummary(answer.mask, width: width, height: height)
        guard let box = summary.box else {
            // An empty candidate only wins when every candidate is empty.
            return ScoredCandidate(summary: summary, scores: CandidateScores(
                output: answer.output, kfBoxIoU: nil, maskIoU: nil, appearance: nil, predictedIoU: answer.score,
                fillRatio: 0, fillsPrompt: false, shared: nil, combined: -1))
        }
        let kfBoxIoU = box.iou(predicted.box)
        let maskIoU = warpedLastMask().map {
            warpedMaskIoU(answer.mask, box: box, area: summary.area, width: width, warped: $0)
        }
        let appearance = similarity(answer.appearance, settings: settings)
        let fill = snapshot.started
            ? fillEvidence(mask: box, area: summary.area, prompt: prompt.box, padX: prompt.padX, padY: prompt.padY,
                           width: width, height: height, settings: settings)
            : (ratio: prompt.box.area > 0 ? Double(summary.area) / prompt.box.area : 0, fills: false)
        let combined = combinedScore(kfBoxIoU: kfBoxIoU, maskIoU: maskIoU, appearance: appearance,
                                     predictedIoU: answer.score, fills: fill.fills, settings: settings)
        return ScoredCandidate(summary: summary, scores: CandidateScores(
            output: answer.output, kfBoxIoU: kfBoxIoU, maskIoU: maskIoU, appearance: appearance, predictedIoU: answer.score,
            fillRatio: fill.ratio, fillsPrompt: fill.fills, shared: nil, combined: combined))
    }

    /// Cosine with the first-frame template, blended with the recent one; nil before a template exists.
    func similarity(_ features: [Float]?, settings: TrackerSettings) -> Double? {
        guard let first = cosine(features, snapshot.template) else { return nil }
        guard let recent = cosine(features, snapshot.recentTemplate) else { return first }
        return (1 - settings.recentTemplateShare) * first + settings.recentTemplateShare * recent
    }

    /// Why this candidate cannot be the object, or nil when it is acceptable. An occluded or lost
    /// object must match its template and score more closely: its widened search sees distractors.
    func judge(_ candidate: ScoredCandidate, score: Double, settings: TrackerSettings, width: Int, height: Int) -> String? {
        let area = candidate.summary.area
        let frameArea = width * height
        let redetecting = snapshot.state != .tracked
        // An empty mask is never tracked, even with `minArea` 0.
        if area == 0 || area < settings.minArea { return "vanished" }
        if Double(area) > settings.maxAreaFraction * Double(frameArea) { return "whole frame" }
        if !(score >= (redetecting ? max(settings.minScore, settings.redetectScore) : settings.minScore)) { return "low score" }
        if candidate.scores.fillsPrompt { return "fills prompt" }
        if let shared = candidate.scores.shared, shared > settings.maxShared { return "taken by another object" }
        if let last = snapshot.lastArea, Double(area) > settings.maxGrowth * max(Double(last), snapshot.fullArea ?? 0) {
            return "grew too fast"
        }
        if let limit = settings.maxReferenceGrowth, let reference = snapshot.referenceArea, Double(area) > limit * reference {
            return "grew past its size"
        }
        if let a = candidate.scores.appearance, a < (redetecting ? settings.redetectAppearance : settings.minAppearance) {
            return "appearance mismatch"
        }
        if redetecting, settings.reentryEdge >= 0, hasLeftFrame(width: width, height: height),
           let box = candidate.summary.box, !touchesEdge(box, within: settings.reentryEdge, width: width, height: height) {
            return "left the frame"
        }
        return nil
    }

    /// Whether the motion model puts the object mostly outside the frame (it went out through an edge).
    private func hasLeftFrame(width: Int, height: Int) -> Bool {
        guard snapshot.started else { return false }
        let b = predicted.box
        let inside = b.clipped(width: width, height: height)?.area ?? 0
        return b.area > 0 && inside < 0.5 * b.area
    }

    private func touchesEdge(_ b: Box, within d: Double, width: Int, height: Int) -> Bool {
        b.x0 <= d || b.y0 <= d || b.x1 >= Double(width) - d || b.y1 >= Double(height) - d
    }

    mutating func accept(_ answer: Segmentation<Hint>, _ candidate: ScoredCandidate, settings: TrackerSettings, width: Int) {
        let box = candidate.summary.box!  // judge rejects empty masks
        let area = candidate.summary.area
        var filter = predicted
        if snapshot.lastArea == nil || snapshot.missed > 0 {
            // First mask, or found again after an unseen stretch: the old estimate is stale, the
            // mask (which passed the appearance and score checks) is the best start.
            filter = KalmanBoxFilter(box: box, noise: settings.kalman)
        } else {
            // The size fed to the filter may change only so much per frame: a mask bleeding into
            // the background must not become the next, larger prompt.
            let p = predicted.box, c = 1 + settings.maxSizeChange
            let measured = Box(centerX: box.centerX, centerY: box.centerY,
                               width: min(max(box.width, p.width / c), p.width * c),
                               height: min(max(box.height, p.height / c), p.height * c))
            filter.update(measured, noise: settings.kalman)
            filter.limitSizeVelocity(settings.maxSizeChange)
        }
        if snapshot.started && snapshot.state != .tracked { snapshot.stats.recoveries += 1 }
        // A track rebuilt from a snapshot (a resume, a keyframe store) has the last mask as its
        // crop only: expanded, it continues the consecutive-IoU figures as an unbroken run does.
        let previous = previousMask ?? (snapshot.state == .tracked ? snapshot.lastMask.flatMap { crop in
            lastMaskBits.map { crop.full($0, width: width, height: answer.mask.count / max(width, 1)) }
        } : nil)
        if let previous, snapshot.missed == 0 {
            snapshot.stats.addConsecutive(iou: maskIoU(previous, answer.mask))
        }
        snapshot.stats.addTracked(area: area, score: answer.score, stability: answer.stability)
        previousMask = answer.mask
        snapshot.kalman = filter
        snapshot.acceptedEstimate = filter.box
        snapshot.velocityX = filter.velocity.x
        snapshot.velocityY = filter.velocity.y
        snapshot.lastMask = MaskCrop(answer.mask, box: box, area: area, frameWidth: width)
        lastMaskBits = snapshot.lastMask?.mask.decode()
        if let features = answer.appearance.map(normalized) {
            if snapshot.template == nil { snapshot.template = features }
            if let recent = snapshot.recentTemplate, recent.count == features.count {
                let r = Float(settings.templateUpdate)
                snapshot.recentTemplate = normalized(zip(recent, features).map { (1 - r) * $0 + r * $1 })
            } else {
                snapshot.recentTemplate = features
            }
        }
        let memory = settings.fullSizeMemory
        snapshot.fullWidth = max(box.width, (snapshot.fullWidth ?? 0) * memory)
        snapshot.fullHeight = max(box.height, (snapshot.fullHeight ?? 0) * memory)
        snapshot.fullArea = max(Double(area), (snapshot.fullArea ?? 0) * memory * memory)
        if settings.maxReferenceGrowth != nil {
            snapshot.referenceArea = snapshot.referenceArea.map { $0 + settings.referenceRate * (Double(area) - $0) } ?? Double(area)
        }
        snapshot.lastBox = box
        snapshot.lastArea = area
        snapshot.lastScore = answer.score
        snapshot.missed = 0
        snapshot.state = .tracked
        snapshot.started = true
        self.hint = answer.hint
    }

    /// The prediction becomes the estimate, with its velocity damped: the object is unseen.
    mutating func reject(settings: TrackerSettings) {
        if snapshot.started {
            var filter = predicted
            filter.dampVelocity(settings.velocityDamping)
            snapshot.kalman = filter
            snapshot.velocityX = filter.velocity.x
            snapshot.velocityY = filter.velocity.y
        }
        snapshot.missed += 1
        snapshot.state = snapshot.missed <= settings.occludedFrames ? .occluded : .lost
        snapshot.stats.addMissed(snapshot.state)
        snapshot.started = true
        hint = nil
        previousMask = nil
    }
}

func maskIoU(_ a: [Bool], _ b: [Bool]) -> Double {
    var intersection = 0, union = 0
    for i in a.indices {
        if a[i] && b[i] { intersection += 1 }
        if a[i] || b[i] { union += 1 }
    }
    return union == 0 ? 1 : Double(intersection) / Double(union)
}
