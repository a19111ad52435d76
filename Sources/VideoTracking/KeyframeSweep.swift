import Foundation
import Imaging
import Tracking
import VideoIO

/// One direction's propagation of every keyframe, frame by frame: one multi-object tracker
/// follows every object whose keyframe lies behind (forward: earlier; backward: later), so
/// objects keep apart as in a plain run (a candidate covering where another object is expected
/// is penalised). An object's keyframe restarts it from the keyframe's answer; its next keyframe
/// (an absent one too) ends the propagation. Frames stored by an earlier run are reused while
/// their link matches (see `SweepFiles`); the tracker is rebuilt from the stored state where
/// computing starts.
final class KeyframeSweep<Model: Segmenting> {
    struct Key {
        var object: KeyframePlan.Object
        var keyframe: KeyframePlan.Keyframe
        var fingerprint: String
    }

    let forward: Bool
    let files: SweepFiles
    private let model: Model
    private let store: KeyframeStore
    private let plan: KeyframePlan
    private let keys: [Int: [Key]]
    private let settings: TrackerSettings
    private let width: Int
    private let height: Int

    /// The stored frame each processed frame's answers are in (frames where nothing is followed
    /// and nothing starts have none).
    private(set) var used: [Int: SweepFiles.Entry] = [:]
    /// Frames the tracker stepped in this run.
    private(set) var computed = 0
    private var stateHash = SweepState.emptyHash
    private var previousFrame: Int?
    /// In memory while frames are being computed; nil while stored frames are reused.
    private var tracker: Tracker<Model>?

    init(forward: Bool, model: Model, store: KeyframeStore, plan: KeyframePlan, fingerprints: [Int: [Int: String]],
         settings: TrackerSettings, width: Int, height: Int) throws {
        self.forward = forward
        self.model = model
        self.store = store
        self.plan = plan
        self.settings = settings
        self.width = width
        self.height = height
        files = try store.sweep(forward: forward)
        var keys: [Int: [Key]] = [:]
        for o in plan.objects {
            for k in o.keyframes { keys[k.frame, default: []].append(Key(object: o, keyframe: k, fingerprint: fingerprints[o.id]?[k.frame] ?? "")) }
        }
        self.keys = keys.mapValues { $0.sorted { $0.object.id < $1.object.id } }
    }

    private func link(before state: String, at t: Int) -> String {
        let here = (keys[t] ?? []).map { "\($0.object.id):\($0.fingerprint)" }.joined(separator: ",")
        return KeyframeFingerprint.hex(KeyframeFingerprint.fnv1a(Data("\(state)|\(here)".utf8)))
    }

    /// The first frame, in sweep order over `frames`, that stored frames cannot serve (nil: all can).
    func firstToCompute(_ frames: StrideThrough<Int>) -> Int? {
        var state = SweepState.emptyHash
        for t in frames {
            if state == SweepState.emptyHash && keys[t] == nil { continue }
            guard let e = files.entry(frame: t, link: link(before: state, at: t)) else { return t }
            state = e.state
        }
        return nil
    }

    /// Processes frame `t` (frames come in sweep order). `pixels` gives the frame, `previous` the
    /// frame processed before it; either is asked for only when the frame is computed. Returns
    /// the answers computed on it (propagated and keyframe answers); empty when reused.
    func process(_ t: Int, pixels: () throws -> RGBImage, previous: () throws -> RGBImage) throws -> [ObjectFrame] {
        defer { previousFrame = t }
        let here = keys[t] ?? []
        if stateHash == SweepState.emptyHash && here.isEmpty {
            tracker = nil
            return []
        }
        let link = link(before: stateHash, at: t)
        if let e = files.entry(frame: t, link: link) {
            used[t] = e
            stateHash = e.state
            tracker = nil
            return []
        }
        let tracker = try self.tracker ?? rebuilt(previous: previous)
        let frame = try pixels()
        for k in here { tracker.end(id: k.object.id) }
        var encoded = false
        var answers: [(ObjectFrame, recovered: Bool)] = []
        if !tracker.ids.isEmpty {
            try model.encode(frame)
            encoded = true
            answers = zip(try tracker.step(frame, encode: false), tracker.stability).map { ($0, $1.recoveries > 0) }
            computed += 1
        }
        var keyAnswers: [ObjectFrame] = []
        for k in here where !k.keyframe.absent {
            if !encoded {
                try model.encode(frame)
                tracker.prime(frame)
                encoded = true
            }
            let answer = try keyframeAnswer(k, others: answers.map(\.0) + keyAnswers)
            keyAnswers.append(tracker.begin(keyframe: ObjectSpec(id: k.object.id, name: k.object.name, box: answer.box),
                                            answer: answer.answer))
        }
        let state = tracker.snapshot()
        let hash = SweepState.hash(state, encoder: store.encoder)
        used[t] = try files.write(frame: t, link: link, stateHash: hash, state: state, answers: answers, keyAnswers: keyAnswers,
                                  width: width, height: height)
        stateHash = hash
        self.tracker = state.isEmpty ? nil : tracker
        return answers.map(\.0) + keyAnswers
    }

    /// A tracker in the state stored after the previous frame, its camera estimator shown that frame.
    private func rebuilt(previous: () throws -> RGBImage) throws -> Tracker<Model> {
        var stored: [ObjectSnapshot] = []
        if stateHash != SweepState.emptyHash, let p = previousFrame, let e = used[p] { stored = try files.state(frame: p, e) }
        let tracker = Tracker(model: model, resuming: stored, width: width, height: height, settings: settings)
        tracker.excludeObjectsFromCameraMotion = false
        if !tracker.ids.isEmpty { tracker.prime(try previous()) }
        return tracker
    }

    /// The model's answer to the keyframe on the encoded frame (a mask keyframe: the mask with the
    /// model's features), and the box the object starts from. `others`: the other objects' answers
    /// on this frame, which a box's answer must not swallow (`SwallowGuard`). A box keyframe's
    /// answer depends on them, so it is stored with the sweep's frame (whose link covers the state
    /// they came from); the two sweeps may answer a keyframe differently, and the frame shows the
    /// forward one.
    private func keyframeAnswer(_ k: Key, others: [ObjectFrame]) throws -> (answer: Segmentation<Model.MaskHint>, box: Box) {
        let (o, kf) = (k.object, k.keyframe)
        let mask = try kf.maskPath.map { path in
            try KeyframeMask.read(path, width: width, height: height) {
                KeyframeError(path: plan.source, object: o.id, frame: kf.frame, reason: $0)
            }
        }
        let prompt = KeyframePrompt(box: kf.box, points: kf.points, mask: mask)
        var answer = try model.answer(prompt, width: width, height: height)
            ?? Segmentation(mask: [Bool](repeating: false, count: width * height), score: 0)
        if mask == nil, let box = kf.box {
            let eaten = SwallowGuard.swallowed(by: answer.mask, others: others.filter { $0.id != o.id })
            var again = prompt
            again.points += eaten.compactMap { SwallowGuard.negativePoint(on: $0, outside: box, width: width) }
            if again.points.count > prompt.points.count, let second = try model.answer(again, width: width, height: height),
               SwallowGuard.taken(second.mask, of: eaten) < SwallowGuard.taken(answer.mask, of: eaten) {
                answer = second
            }
        }
        let box = kf.box ?? Box.bounding(answer.mask, width: width, height: height)
            ?? Box.around(kf.points) ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
        return (answer, box)
    }
}

/// The hash a sweep's state is known by. Running figures (areas, IoUs) are left out: they steer
/// nothing, so a state that differs only in them (a store written before a rebuilt tracker
/// continued the consecutive-IoU sums) still matches. Whether the object was found again is kept
/// (it ranks the answer's pixels).
enum SweepState {
    static let emptyHash = "0"

    static func hash(_ state: [ObjectSnapshot], encoder: JSONEncoder) -> String {
        guard !state.isEmpty else { return emptyHash }
        let canonical = state.map { s -> ObjectSnapshot in
            var s = s
            var stats = ObjectStability(id: s.stats.id, name: s.stats.name)
            stats.recoveries = min(s.stats.recoveries, 1)
            s.stats = stats
            return s
        }
        let data = (try? encoder.encode(canonical)) ?? Data()
        return KeyframeFingerprint.hex(KeyframeFingerprint.fnv1a(data))
    }
}
