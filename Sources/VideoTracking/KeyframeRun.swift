import Foundation
import Metrics
import Tracking
import VideoIO

/// A run from keyframes (`track --prompts`): every keyframe propagates forward and backward until
/// its object's neighbouring keyframe; a keyframe's frame keeps its own answer; a frame two
/// propagations reach keeps the one `merge` picks.
///
/// Three passes, none holding more than one frame: (1) decode forwards, computing keyframe
/// answers and forward propagations, and spooling the frames backward propagations need to a
/// file; (2) backward propagations over the spool, last frame first; (3) decode again, merge
/// each frame's answers and write every output. Propagations are independent per object (each
/// its own one-object tracker over a shared encoding), so a changed keyframe changes nothing
/// outside its neighbouring keyframes, and only the propagations it starts or cuts are
/// recomputed (`KeyframeStore`).
struct KeyframeRun<Model: Segmenting> {
    let model: Model
    let plan: KeyframePlan
    let fingerprints: [Int: [Int: String]]
    let store: KeyframeStore
    let layout: TrackLayout
    let info: VideoInfo
    let videoURL: URL
    let folderFrameRate: Rational
    let settings: TrackerSettings
    let merge: KeyframeMerge
    let startNumber: Int
    let matteVideo: Bool
    let softMatte: SoftMatteRequest?
    let stop: StopFlag

    struct Result {
        var outcome = TrackOutcome()
        var stability: [ObjectStability] = []
        /// Frames each pass tracked in this run: what an `--update` had to recompute.
        var forwardFrames = 0
        var backwardFrames = 0
    }

    private var width: Int { info.width }
    private var height: Int { info.height }

    func run(events: (TrackEvent) -> Void) throws -> Result {
        var result = Result()
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let started = clock()
        let all = KeyframeSchedule.propagations(plan, fingerprints: fingerprints)
        let todo = all.filter { !store.isDone($0) }
        for p in todo { try store.reopen(p) }
        events(.log("keyframes: \(all.count) propagations, \(todo.count) to compute"))

        let spool = try FrameSpool(folder: layout.root)
        defer { spool.remove() }
        events(.trackingStarted)
        guard try forwardPass(todo.filter(\.forward), backward: todo.filter { !$0.forward }, spool: spool,
                              result: &result, events: events, clock: clock) else {
            return finishInterrupted(result, started: started, clock: clock, events: events)
        }
        guard try backwardPass(todo.filter { !$0.forward }, spool: spool, result: &result, events: events, clock: clock) else {
            return finishInterrupted(result, started: started, clock: clock, events: events)
        }
        events(.trackingEnded)
        result.stability = try writeOutputs(all)
        result.outcome.timings.wallSeconds = clock() - started
        return result
    }

    private func finishInterrupted(_ r: Result, started: Double, clock: () -> Double, events: (TrackEvent) -> Void) -> Result {
        var r = r
        r.outcome.interrupted = true
        r.outcome.timings.wallSeconds = clock() - started
        events(.trackingEnded)
        return r
    }

    /// The keyframe's prompt as the model takes it (a mask read from its PNG).
    private func prompt(_ k: KeyframePlan.Keyframe, id: Int) throws -> KeyframePrompt {
        let mask = try k.maskPath.map { path in
            try KeyframeMask.read(path, width: width, height: height) {
                KeyframeError(path: plan.source, object: id, frame: k.frame, reason: $0)
            }
        }
        return KeyframePrompt(box: k.box, points: k.points, mask: mask)
    }

    /// A one-object tracker started from the keyframe's answer on the encoded frame.
    private func start(_ o: KeyframePlan.Object, _ k: KeyframePlan.Keyframe, pixels: FramePixels) throws -> Tracker<Model> {
        let p = try prompt(k, id: o.id)
        let answer = try model.answer(p, width: width, height: height)
            ?? Segmentation(mask: [Bool](repeating: false, count: width * height), score: 0)
        let box = k.box ?? Box.bounding(answer.mask, width: width, height: height)
            ?? Box.around(k.points) ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
        return Tracker(model: model, keyframe: ObjectSpec(id: o.id, name: o.name, box: box), answer: answer, frame: pixels,
                       settings: settings)
    }

    private func keyframe(id: Int, frame: Int) -> (KeyframePlan.Object, KeyframePlan.Keyframe)? {
        guard let o = plan.objects.first(where: { $0.id == id }), let k = o.keyframes.first(where: { $0.frame == frame }) else {
            return nil
        }
        return (o, k)
    }

    /// Pass 1. False when stopped.
    private func forwardPass(_ todo: [Propagation], backward: [Propagation], spool: FrameSpool, result: inout Result,
                             events: (TrackEvent) -> Void, clock: () -> Double) throws -> Bool {
        // Keyframe answers not yet stored (or stored for another version of the keyframe).
        var keysToAnswer: [Int: [(Int, String)]] = [:]
        for o in plan.objects {
            for k in o.keyframes where !k.absent {
                let print = fingerprints[o.id]?[k.frame] ?? ""
                if !store.hasKey(id: o.id, frame: k.frame, fingerprint: print) {
                    keysToAnswer[k.frame, default: []].append((o.id, print))
                }
            }
        }
        let spoolRange = backward.isEmpty ? nil : (backward.map { $0.end ?? 0 }.min()!, backward.map(\.frame).max()!)
        let reader = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
        var active: [(Propagation, Tracker<Model>)] = []
        var last = -1
        while let frame = try reader.next() {
            if stop.isRequested { return false }
            let t = frame.index
            last = t
            result.outcome.framesSeen = t + 1
            if let (lo, hi) = spoolRange, t >= lo && t <= hi { try spool.append(frame) }
            let starting = todo.filter { $0.frame == t }
            let keys = keysToAnswer[t] ?? []
            guard !starting.isEmpty || !keys.isEmpty || !active.isEmpty else { continue }
            let pixels = FramePixels(width: width, height: height, rgb: frame.image.pixels)
            let t0 = clock()
            try model.encode(pixels)
            var results: [ObjectFrame] = []
            for (id, print) in keys {
                guard let (o, k) = keyframe(id: id, frame: t) else { continue }
                let tracker = try start(o, k, pixels: pixels)
                if let key = tracker.keyframeResult {
                    try store.writeKey(key, fingerprint: print, frame: t, width: width, height: height)
                    results.append(key)
                }
                if let p = starting.first(where: { $0.id == id }) { active.append((p, tracker)) }
            }
            for p in starting where !keys.contains(where: { $0.0 == p.id }) {
                guard let (o, k) = keyframe(id: p.id, frame: t) else { continue }
                active.append((p, try start(o, k, pixels: pixels)))
            }
            var kept: [(Propagation, Tracker<Model>)] = []
            for (p, tracker) in active {
                guard p.frame < t else { kept.append((p, tracker)); continue }
                let answer = try tracker.step(pixels, encode: false)[0]
                try store.write(answer, recovered: tracker.stability[0].recoveries > 0, forward: true, frame: t,
                                width: width, height: height)
                results.append(answer)
                result.forwardFrames += 1
                if p.end == t { try store.finish(p, through: t, reachedEnd: false) } else { kept.append((p, tracker)) }
            }
            active = kept
            result.outcome.timings.modelSeconds += clock() - t0
            result.outcome.timings.framesProcessed += 1
            events(.frame(FrameEvent(index: t, done: t + 1, tracked: true, results: results)))
        }
        if last < 0 { throw VideoIOError.noFrames(path: info.path) }
        try checkFrames(count: last + 1)
        for (p, _) in active { try store.finish(p, through: last, reachedEnd: true) }
        return true
    }

    /// Every keyframe must lie inside the video (its length is known for sure only now).
    private func checkFrames(count: Int) throws {
        for o in plan.objects {
            if let k = o.keyframes.last, k.frame >= count {
                throw KeyframeError(path: plan.source, object: o.id, frame: k.frame,
                                    reason: "the video has \(count) frames (0...\(count - 1))")
            }
        }
    }

    /// Pass 2, over the spool from its last frame down. False when stopped.
    private func backwardPass(_ todo: [Propagation], spool: FrameSpool, result: inout Result,
                              events: (TrackEvent) -> Void, clock: () -> Double) throws -> Bool {
        guard let top = todo.map(\.frame).max(), let bottom = todo.map({ $0.end ?? 0 }).min() else { return true }
        var active: [(Propagation, Tracker<Model>)] = []
        var done = 0
        for t in stride(from: top, through: bottom, by: -1) {
            if stop.isRequested { return false }
            let starting = todo.filter { $0.frame == t }
            guard !starting.isEmpty || !active.isEmpty else { continue }
            let pixels = FramePixels(width: width, height: height, rgb: try spool.pixels(of: t))
            let t0 = clock()
            try model.encode(pixels)
            var results: [ObjectFrame] = []
            var kept: [(Propagation, Tracker<Model>)] = []
            for (p, tracker) in active {
                let answer = try tracker.step(pixels, encode: false)[0]
                try store.write(answer, recovered: tracker.stability[0].recoveries > 0, forward: false, frame: t,
                                width: width, height: height)
                results.append(answer)
                result.backwardFrames += 1
                if (p.end ?? 0) == t { try store.finish(p, through: t, reachedEnd: t == 0) } else { kept.append((p, tracker)) }
            }
            active = kept
            for p in starting {
                guard let (o, k) = keyframe(id: p.id, frame: t) else { continue }
                active.append((p, try start(o, k, pixels: pixels)))
            }
            result.outcome.timings.modelSeconds += clock() - t0
            result.outcome.timings.framesProcessed += 1
            done += 1
            events(.frame(FrameEvent(index: t, done: done, tracked: true, results: results)))
        }
        return true
    }

    /// Pass 3: each frame's answer per object (keyframe, merged propagations, or nothing), every
    /// output file and the videos; the per-object figures from the merged answers.
    private func writeOutputs(_ all: [Propagation]) throws -> [ObjectStability] {
        let specs = plan.specs(width: width, height: height)
        let writer = try TrackWriter(layout: layout, info: info, objects: specs, startFrame: 0, startNumber: startNumber,
                                     matteVideo: matteVideo, softMatte: softMatte)
        var stats = plan.objects.map { ObjectStability(id: $0.id, name: $0.name) }
        var previous: [[Bool]?] = plan.objects.map { _ in nil }
        let reader = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
        var owner: [UInt8]?
        while let frame = try reader.next() {
            let t = frame.index
            let claims = try ExclusivePixels.resolve(plan.objects.map { try answer(for: $0, at: t, all: all) },
                                                     previousOwner: owner, width: width, height: height)
            owner = [UInt8](repeating: 0, count: width * height)
            for a in claims where a.state == .tracked {
                for i in a.mask.indices where a.mask[i] { owner![i] = UInt8(a.id) }
            }
            var results: [ObjectFrame] = []
            for (n, answer) in claims.enumerated() {
                if answer.state == .tracked {
                    if previous[n] == nil && t > 0 && stats[n].trackedFrames > 0 { stats[n].recoveries += 1 }
                    if let p = previous[n] { stats[n].addConsecutive(iou: MaskMetrics.iou(p, answer.mask)) }
                    stats[n].addTracked(area: answer.area, score: answer.score, stability: answer.stability)
                    previous[n] = answer.mask
                } else {
                    stats[n].addMissed(answer.state)
                    previous[n] = nil
                }
                results.append(answer)
            }
            try writer.writeFiles(frame, results)
            try writer.addVideoFrames(frame, masks: results.map { ($0.id, $0.box, $0.mask) })
        }
        try writer.finish()
        return stats
    }

    private func answer(for o: KeyframePlan.Object, at t: Int, all: [Propagation]) throws -> ExclusivePixels.Claim {
        if let k = o.keyframes.first(where: { $0.frame == t }) {
            if k.absent {
                return .init(.absent(id: o.id, name: o.name, state: .lost, why: "absent keyframe", width: width, height: height),
                             rank: .keyframe)
            }
            let print = fingerprints[o.id]?[t] ?? ""
            guard let key = store.readKey(id: o.id, frame: t, fingerprint: print) else {
                throw OutputFolderError(path: store.root.path, reason: "keyframe \(t) of object \(o.id) has no stored answer; rerun with --update")
            }
            return .init(key, rank: .keyframe)
        }
        let f = try all.first { $0.id == o.id && $0.forward && $0.covers(t) }
            .map { (try store.read(id: o.id, forward: true, frame: t), distance: t - $0.frame) }
        let b = try all.first { $0.id == o.id && !$0.forward && $0.covers(t) }
            .map { (try store.read(id: o.id, forward: false, frame: t), distance: $0.frame - t) }
        switch merge.choose(forward: f.map { ($0.0.answer, $0.distance) }, backward: b.map { ($0.0.answer, $0.distance) }) {
        case .forward?: return .init(f!.0.answer, rank: f!.0.recovered ? .recovered : .held)
        case .backward?: return .init(b!.0.answer, rank: b!.0.recovered ? .recovered : .held)
        case nil:
            return .init(.absent(id: o.id, name: o.name, state: .lost, why: "no keyframe reaches this frame", width: width, height: height),
                         rank: .held)
        }
    }
}

/// Frames a backward pass needs, as raw RGB in a hidden file of the run folder (disk, not memory).
final class FrameSpool {
    private let url: URL
    private let handle: FileHandle
    private var offsets: [Int: (offset: UInt64, count: Int)] = [:]
    private var size: UInt64 = 0

    init(folder: URL) throws {
        url = folder.appendingPathComponent(".keyframes-\(UUID().uuidString).spool")
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let h = try? FileHandle(forUpdating: url) else {
            throw OutputFolderError(path: folder.path, reason: "cannot create a spool file")
        }
        handle = h
    }

    func append(_ frame: VideoFrame) throws {
        try handle.seekToEnd()
        try handle.write(contentsOf: frame.image.pixels)
        offsets[frame.index] = (size, frame.image.pixels.count)
        size += UInt64(frame.image.pixels.count)
    }

    func pixels(of index: Int) throws -> [UInt8] {
        guard let (offset, count) = offsets[index] else {
            throw OutputFolderError(path: url.path, reason: "frame \(index) was not spooled")
        }
        try handle.seek(toOffset: offset)
        guard let data = try handle.read(upToCount: count), data.count == count else {
            throw OutputFolderError(path: url.path, reason: "the spool file is short")
        }
        return [UInt8](data)
    }

    func remove() {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}
