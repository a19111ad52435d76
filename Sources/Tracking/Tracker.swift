// Frame-to-frame propagation without feeding errors back. A Kalman filter on the box (moved
// with the camera) predicts where each object is; its padded estimate, not the last raw mask
// box, is the next prompt. The model answers with several candidates; the tracker takes the
// one that agrees best with the predicted box, the previous mask moved by the predicted motion,
// the object's appearance and the model's confidence, and rejects answers that merely fill
// their prompt box, so a weak model's loose masks cannot grow the track frame after frame.

import Imaging

public enum ObjectState: String, Sendable, Codable {
    /// The mask of this frame was accepted.
    case tracked
    /// Recently rejected (mask vanished or collapsed): the object is probably hidden; the
    /// tracker searches around its predicted position.
    case occluded
    /// Rejected for more than `occludedFrames` frames; the search keeps widening.
    case lost
}

/// One object to follow: id (1...255, the palette index), optional name, box on the first frame.
public struct ObjectSpec: Sendable, Codable, Hashable {
    public var id: Int
    public var name: String?
    public var box: Box

    public init(id: Int, name: String? = nil, box: Box) {
        self.id = id
        self.name = name
        self.box = box
    }
}

/// The tracker's answer for one object on one frame.
public struct ObjectFrame: Sendable {
    public var id: Int
    public var name: String?
    public var state: ObjectState
    /// The box given to the model.
    public var promptBox: Box
    /// Tight box of the emitted mask; nil when the mask is empty.
    public var box: Box?
    public var area: Int
    /// The model's score for its answer (also when the answer was rejected).
    public var score: Double
    public var stability: Double?
    /// Stable-SAM's `[a1, a2]` for this answer when the plugin ran.
    public var route: [Double]?
    /// Why the model's answer was rejected; nil when tracked.
    public var rejection: String?
    /// The emitted mask, row-major at frame size; all false unless `state == .tracked`.
    public var mask: [Bool]
    /// The chosen candidate and its figures (also when it was rejected); nil when the model gave none.
    public var choice: CandidateScores?
    /// The Kalman prediction of the box the prompt was built from; nil on the first frame.
    public var predictedBox: Box?
    /// Global camera motion from the previous frame to this one; nil when not estimated.
    public var cameraMotion: CameraShift?
    /// Log-odds of the emitted mask (the chosen answer's `Segmentation.logits`), row-major at frame
    /// size, for soft mattes; nil when the model gave none or the object is not tracked (alpha 0).
    public var logits: [Float]? = nil
}

extension ObjectFrame {
    /// An answer read back from its record (frames/NNNNNN.json form), mask decoded.
    public init(_ record: ObjectRecord) {
        self.init(id: record.id, name: record.name, state: record.state, promptBox: record.promptBox, box: record.box,
                  area: record.area, score: record.score, stability: record.stability, route: record.route,
                  rejection: record.rejection, mask: record.mask.decode(), choice: record.choice,
                  predictedBox: record.predictedBox,
                  cameraMotion: record.cameraMotion.flatMap { $0.count == 2 ? CameraShift(dx: $0[0], dy: $0[1]) : nil })
    }

    /// Nothing of the object on this frame (`why` says why), for frames no prompt reaches.
    public static func absent(id: Int, name: String?, state: ObjectState, why: String, width: Int, height: Int) -> ObjectFrame {
        ObjectFrame(id: id, name: name, state: state, promptBox: Box(x0: 0, y0: 0, x1: 0, y1: 0), box: nil, area: 0, score: 0,
                    stability: nil, route: nil, rejection: why, mask: [Bool](repeating: false, count: width * height),
                    choice: nil, predictedBox: nil, cameraMotion: nil)
    }
}

/// Follows objects through frames, one `step` per frame, encoding each frame once.
public final class Tracker<Model: Segmenting> {
    public let model: Model
    public let settings: TrackerSettings
    public let width: Int
    public let height: Int
    private var objects: [ObjectTrack<Model.MaskHint>]
    private let cameraMotion = CameraMotionEstimator()

    public init(model: Model, objects specs: [ObjectSpec], width: Int, height: Int, settings: TrackerSettings = .init()) {
        precondition(width > 0 && height > 0, "frame size \(width)x\(height)")
        self.model = model
        self.settings = settings
        self.width = width
        self.height = height
        objects = specs.map { ObjectTrack(spec: $0, settings: settings) }
    }

    /// Resumes from snapshots written by an earlier run (see `snapshot()`).
    public init(model: Model, resuming snapshots: [ObjectSnapshot], width: Int, height: Int,
                settings: TrackerSettings = .init()) {
        self.model = model
        self.settings = settings
        self.width = width
        self.height = height
        objects = snapshots.map { ObjectTrack(snapshot: $0, settings: settings) }
    }

    /// Starts an object from a keyframe on the frame just stepped or primed (`prime`), replacing
    /// any track of the same id: `answer` (the model's answer to the person's prompt on that
    /// encoded frame, or their own mask) is accepted as it is, since the keyframe is the truth on
    /// its frame, and `step` continues from it. Returns what the keyframe's frame emits. An empty
    /// answer is rejected: the object starts unseen and searches around the keyframe's box.
    /// Objects stay in id order, so a tracker rebuilt from `snapshot()` steps them the same way.
    @discardableResult
    public func begin(keyframe spec: ObjectSpec, answer: Segmentation<Model.MaskHint>) -> ObjectFrame {
        end(id: spec.id)
        var track = ObjectTrack<Model.MaskHint>(spec: spec, settings: settings)
        let summary = MaskSummary(answer.mask, width: width, height: height)
        let scores = CandidateScores(output: answer.output, kfBoxIoU: nil, maskIoU: nil, appearance: nil,
                                     predictedIoU: answer.score, fillRatio: nil, fillsPrompt: false, shared: nil,
                                     combined: answer.score)
        var result = ObjectFrame(id: spec.id, name: spec.name, state: .tracked, promptBox: spec.box, box: summary.box,
                                 area: summary.area, score: answer.score, stability: answer.stability, route: answer.route,
                                 rejection: nil, mask: answer.mask, choice: scores, predictedBox: nil)
        result.logits = answer.logits
        if summary.area > 0 {
            track.accept(answer, ScoredCandidate(summary: summary, scores: scores), settings: settings, width: width)
        } else {
            track.reject(settings: settings)
            result.state = track.state
            result.rejection = "vanished"
            result.logits = nil
        }
        objects.insert(track, at: objects.firstIndex { $0.spec.id > spec.id } ?? objects.endIndex)
        return result
    }

    /// Stops following the object (its propagation ends here); nothing when it is not followed.
    public func end(id: Int) {
        objects.removeAll { $0.spec.id == id }
    }

    /// Whether the camera-motion estimate leaves the objects' boxes out (their own motion is not
    /// the camera's). A keyframe sweep turns it off: there the estimate must not depend on which
    /// objects are followed, or a correction of one object would move every other object's
    /// prediction slightly, and a sweep could never find its stored state again after it.
    public var excludeObjectsFromCameraMotion = true

    /// Ids of the objects followed, in the order `step` answers them.
    public var ids: [Int] { objects.map(\.spec.id) }

    /// Shows the camera-motion estimator a frame without stepping: the frame an object begins on
    /// when nothing was stepped there, or the frame before a tracker rebuilt from snapshots.
    public func prime(_ frame: RGBImage) {
        if settings.estimateCameraMotion { _ = cameraMotion.estimate(frame, excluding: []) }
    }

    /// Encodes the frame once and answers every object against it. With several objects, each
    /// candidate is also penalised for covering where another object is expected and this one is
    /// not, so two tracks cannot settle on one object. `encode: false` when the caller already
    /// encoded this frame on `model` (several trackers sharing one model and frame).
    public func step(_ frame: RGBImage, encode: Bool = true) throws -> [ObjectFrame] {
        precondition(frame.width == width && frame.height == height,
                     "frame \(frame.width)x\(frame.height) in a \(width)x\(height) track")
        let excluded = excludeObjectsFromCameraMotion ? objects.map { $0.exclusionBox(settings: settings) } : []
        let shift = settings.estimateCameraMotion ? cameraMotion.estimate(frame, excluding: excluded) : nil
        if encode { try model.encode(frame) }
        for i in objects.indices { objects[i].predict(camera: shift ?? .zero, settings: settings) }
        let supports = objects.count > 1 ? objects.map { $0.support() } : []
        var results: [ObjectFrame] = []
        for i in objects.indices {
            var asked = try ask(object: i)
            if !supports.isEmpty {
                let others = supports.indices.compactMap { $0 == i ? nil : supports[$0] }
                for k in asked.scored.indices {
                    share(&asked.scored[k], answer: asked.answers[k], own: supports[i], others: others)
                }
            }
            var result = judge(object: i, asked)
            result.cameraMotion = shift
            results.append(result)
        }
        return results
    }

    /// The prompt box object `i` gets on the next frame, if the camera does not move.
    public func nextPrompt(forObjectAt i: Int) -> Box {
        var track = objects[i]
        track.predict(camera: .zero, settings: settings)
        return track.prompt(settings: settings, width: width, height: height).box
    }

    public var stability: [ObjectStability] { objects.map(\.stats) }

    /// Everything needed to continue after this frame in a later process (no model state:
    /// the mask hint is dropped, which costs at most one frame of refinement).
    public func snapshot() -> [ObjectSnapshot] { objects.map(\.snapshot) }

    /// One object's prompt and the model's scored answers to it.
    private struct Asked {
        var prompt: ObjectPrompt
        var answers: [Segmentation<Model.MaskHint>]
        var scored: [ScoredCandidate]
    }

    private func ask(object i: Int) throws -> Asked {
        let prompt = objects[i].prompt(settings: settings, width: width, height: height)
        let hint = settings.useMaskPrompt ? objects[i].hint : nil
        let answers = try model.candidates(box: prompt.box, hint: hint)
        let scored = answers.map { answer in
            precondition(answer.mask.count == width * height,
                         "segmenter returned \(answer.mask.count) mask values for a \(width)x\(height) frame")
            return objects[i].score(answer, prompt: prompt, settings: settings, width: width, height: height)
        }
        return Asked(prompt: prompt, answers: answers, scored: scored)
    }

    /// Records how much of the candidate lies where another object is expected and lowers its
    /// combined score by it.
    private func share(_ candidate: inout ScoredCandidate, answer: Segmentation<Model.MaskHint>, own: WarpedSupport?,
                       others: [WarpedSupport]) {
        guard let box = candidate.summary.box else { return }
        let shared = sharedFraction(answer.mask, box: box, area: candidate.summary.area, score: answer.score, width: width,
                                    own: own, others: others)
        candidate.scores.shared = shared
        candidate.scores.combined -= settings.sharedPenalty * shared
    }

    private func judge(object i: Int, _ asked: Asked) -> ObjectFrame {
        let (prompt, answers, scored) = (asked.prompt, asked.answers, asked.scored)
        // Ties go to the earlier candidate (the single-mask output first).
        let best = scored.indices.max { scored[$0].scores.combined < scored[$1].scores.combined ||
            (scored[$0].scores.combined == scored[$1].scores.combined && $0 > $1) }
        let spec = objects[i].spec
        var result = ObjectFrame(id: spec.id, name: spec.name, state: objects[i].state, promptBox: prompt.box, box: nil,
                                 area: 0, score: 0, stability: nil, route: nil, rejection: "vanished",
                                 mask: [Bool](repeating: false, count: width * height), choice: nil,
                                 predictedBox: prompt.predicted)
        guard let best else {
            objects[i].reject(settings: settings)
            result.state = objects[i].state
            return result
        }
        let answer = answers[best], candidate = scored[best]
        result.score = answer.score
        result.stability = answer.stability
        result.route = answer.route
        result.choice = candidate.scores
        if let rejection = objects[i].judge(candidate, score: answer.score, settings: settings, width: width, height: height) {
            objects[i].reject(settings: settings)
            result.state = objects[i].state
            result.rejection = rejection
            return result
        }
        objects[i].accept(answer, candidate, settings: settings, width: width)
        result.state = .tracked
        result.rejection = nil
        result.box = candidate.summary.box
        result.area = candidate.summary.area
        result.mask = answer.mask
        result.logits = answer.logits
        return result
    }
}
