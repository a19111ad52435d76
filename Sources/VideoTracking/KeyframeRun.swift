import Foundation
import Imaging
import Metrics
import Tracking
import VideoIO

/// A run from keyframes (`track --prompts`): every keyframe propagates forward and backward until
/// its object's neighbouring keyframe; a keyframe's frame keeps its own answer; a frame two
/// propagations reach keeps the one `merge` picks.
///
/// Three passes, none holding more than two frames: (1) decode forwards, running the forward
/// sweep (`KeyframeSweep`: one tracker for every object, restarted at keyframes) and spooling the
/// frames the backward sweep must compute to a file; (2) the backward sweep over the spool, last
/// keyframe first; (3) decode again, merge each frame's answers and write every output. Both
/// sweeps store their frames (`KeyframeStore`), so an `--update` computes only from the first
/// changed keyframe until the tracker's state agrees with the stored one again.
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
        /// Frames each sweep tracked in this run: what an `--update` had to recompute.
        var forwardFrames = 0
        var backwardFrames = 0
    }

    private var width: Int { info.width }
    private var height: Int { info.height }

    func run(events: (TrackEvent) -> Void) throws -> Result {
        var result = Result()
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let started = clock()
        let sweep = { (forward: Bool) in
            try KeyframeSweep(forward: forward, model: model, store: store, plan: plan, fingerprints: fingerprints,
                              settings: settings, width: width, height: height)
        }
        let (forward, backward) = (try sweep(true), try sweep(false))
        // The backward sweep starts at the last keyframe; frames from the first it must compute
        // (and the one above it, whose stored state it starts from) down to 0 are spooled.
        let top = plan.objects.flatMap { $0.keyframes.filter { !$0.absent }.map(\.frame) }.max() ?? -1
        let firstBackward = top < 0 ? nil : backward.firstToCompute(stride(from: top, through: 0, by: -1))
        let spoolTop = firstBackward.map { min($0 + 1, top) }
        events(.log("keyframes: backward sweep " + (firstBackward.map { "computes from frame \($0) down" } ?? "stored")))

        let spool = try FrameSpool(folder: layout.root)
        defer { spool.remove() }
        events(.trackingStarted)
        guard try forwardPass(forward, spoolTop: spoolTop, spool: spool, result: &result, events: events, clock: clock) else {
            return finishInterrupted(result, started: started, clock: clock, events: events)
        }
        // Also when every backward frame is stored (an update that changes nothing): the pass
        // then only reads the stored answers, which the merge needs (skipping it lost them).
        if top >= 0 {
            guard try backwardPass(backward, top: top, spool: spool, result: &result, events: events, clock: clock) else {
                return finishInterrupted(result, started: started, clock: clock, events: events)
            }
        }
        events(.trackingEnded)
        result.stability = try writeOutputs(forward: forward, backward: backward)
        forward.files.prune(keeping: forward.used)
        backward.files.prune(keeping: backward.used)
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

    /// Pass 1. False when stopped.
    private func forwardPass(_ sweep: KeyframeSweep<Model>, spoolTop: Int?, spool: FrameSpool, result: inout Result,
                             events: (TrackEvent) -> Void, clock: () -> Double) throws -> Bool {
        let reader = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
        var previous: RGBImage?
        var last = -1
        while let frame = try reader.next() {
            if stop.isRequested { return false }
            let t = frame.index
            last = t
            result.outcome.framesSeen = t + 1
            if let top = spoolTop, t <= top { try spool.append(frame) }
            let pixels = frame.image
            let t0 = clock(), before = sweep.computed
            let results = try sweep.process(t, pixels: { pixels }, previous: {
                guard let previous else { throw OutputFolderError(path: store.root.path, reason: "frame \(t - 1) was not kept") }
                return previous
            })
            previous = pixels
            let tracked = !results.isEmpty
            if tracked {
                result.outcome.timings.modelSeconds += clock() - t0
                result.outcome.timings.framesProcessed += 1
            }
            result.forwardFrames += sweep.computed - before
            events(.frame(FrameEvent(index: t, done: t + 1, tracked: tracked, results: results)))
        }
        if last < 0 { throw VideoIOError.noFrames(path: info.path) }
        try checkFrames(count: last + 1)
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

    /// Pass 2, from the last keyframe down to frame 0. False when stopped.
    private func backwardPass(_ sweep: KeyframeSweep<Model>, top: Int, spool: FrameSpool, result: inout Result,
                              events: (TrackEvent) -> Void, clock: () -> Double) throws -> Bool {
        for t in stride(from: top, through: 0, by: -1) {
            if stop.isRequested { return false }
            let t0 = clock(), before = sweep.computed
            let results = try sweep.process(t, pixels: { RGBImage(width: width, height: height, pixels: try spool.pixels(of: t)) },
                                            previous: { RGBImage(width: width, height: height, pixels: try spool.pixels(of: t + 1)) })
            if !results.isEmpty {
                result.outcome.timings.modelSeconds += clock() - t0
                result.outcome.timings.framesProcessed += 1
            }
            result.backwardFrames += sweep.computed - before
            events(.frame(FrameEvent(index: t, done: top - t + 1, tracked: !results.isEmpty, results: results)))
        }
        return true
    }

    /// Pass 3: each frame's answer per object (keyframe, merged propagations, or nothing), every
    /// output file and the videos; the per-object figures from the merged answers.
    private func writeOutputs(forward: KeyframeSweep<Model>, backward: KeyframeSweep<Model>) throws -> [ObjectStability] {
        let specs = plan.specs(width: width, height: height)
        let writer = try TrackWriter(layout: layout, info: info, objects: specs, startFrame: 0, startNumber: startNumber,
                                     matteVideo: matteVideo, softMatte: softMatte)
        var stats = plan.objects.map { ObjectStability(id: $0.id, name: $0.name) }
        var previous: [[Bool]?] = plan.objects.map { _ in nil }
        let handover = merge == .agreement ? try handovers(forward: forward, backward: backward) : KeyframeHandover()
        let reader = try VideoReader(url: videoURL, folderFrameRate: folderFrameRate)
        var owner: [UInt8]?
        while let frame = try reader.next() {
            let t = frame.index
            let f = try forward.used[t].map { try forward.files.answers(frame: t, $0) } ?? [:]
            let b = try backward.used[t].map { try backward.files.answers(frame: t, $0) } ?? [:]
            let (claims, next) = ExclusivePixels.resolve(try plan.objects.map { try answer(for: $0, at: t, forward: f, backward: b, handover: handover) },
                                                         previousOwner: owner, width: width, height: height)
            owner = next
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

    private typealias Swept = [Int: (answer: ObjectFrame, recovered: Bool)]

    /// `agreement`'s curves: both sweeps' stored answers, frame by frame (two frames in memory).
    private func handovers(forward: KeyframeSweep<Model>, backward: KeyframeSweep<Model>) throws -> KeyframeHandover {
        var handover = KeyframeHandover()
        for t in forward.used.keys.sorted() {
            guard let fe = forward.used[t], let be = backward.used[t] else { continue }
            let (f, b) = (try forward.files.answers(frame: t, fe), try backward.files.answers(frame: t, be))
            for o in plan.objects {
                guard let start = o.keyframes.last(where: { $0.frame < t }), o.keyframes.contains(where: { $0.frame > t }),
                      let fa = f[o.id]?.answer, let ba = b[o.id]?.answer else { continue }
                handover.add(object: o.id, gapStart: start.frame, frame: t, forward: fa, backward: ba)
            }
        }
        return handover
    }

    private func answer(for o: KeyframePlan.Object, at t: Int, forward: Swept, backward: Swept,
                        handover: KeyframeHandover) throws -> ExclusivePixels.Claim {
        if let k = o.keyframes.first(where: { $0.frame == t }) {
            if k.absent {
                return .init(.absent(id: o.id, name: o.name, state: .lost, why: "absent keyframe", width: width, height: height),
                             rank: .keyframe)
            }
            // The forward sweep always reaches a keyframe (it starts there at the latest).
            guard let key = forward[o.id]?.answer ?? backward[o.id]?.answer else {
                throw OutputFolderError(path: store.root.path, reason: "keyframe \(t) of object \(o.id) has no stored answer; rerun with --update")
            }
            return .init(key, rank: .keyframe)
        }
        // How far each answer was propagated: from the object's keyframe before (after) this frame.
        let f = forward[o.id].flatMap { a in o.keyframes.last { $0.frame < t }.map { (a, distance: t - $0.frame) } }
        let b = backward[o.id].flatMap { a in o.keyframes.first { $0.frame > t }.map { (a, distance: $0.frame - t) } }
        let gap = o.keyframes.last { $0.frame < t }.flatMap { s in o.keyframes.first { $0.frame > t }.map { (s.frame, $0.frame) } }
        let switchAt = gap.map { handover.handover(object: o.id, start: $0.0, end: $0.1) }
        switch merge.choose(forward: f.map { ($0.0.answer, $0.distance) }, backward: b.map { ($0.0.answer, $0.distance) },
                            handover: switchAt) {
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
