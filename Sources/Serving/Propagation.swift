import Foundation
import Tracking
import VideoIO
import VideoTracking

/// Runs the keyframes through the tracking library on a thread of its own, one run at a time on
/// the one model: the same `TrackJob` that `stablesam track VIDEO --prompts <out>/prompts.json
/// --out <out>` runs (an `--update` once the folder holds a run), so the folder ends up as that
/// command writes it. Frame requests never wait for it: they read files.
extension ServeSession {
    enum Kind: String {
        case propagate, export
    }

    /// Starts a run; refuses (409) while one runs, 400 without keyframes.
    func start(_ kind: Kind) throws {
        let stop = StopFlag()
        try state.update { s in
            if let running = s.running {
                throw ServeError(status: .conflict, message: "a \(running) is running: wait for it to end (or stop it), then try again")
            }
            guard !s.document.objects.isEmpty else {
                throw ServeError.bad("no keyframes yet: draw a box around an object first")
            }
            s.running = kind.rawValue
            s.stop = stop
        }
        progress.publish("started", ["kind": kind.rawValue])
        let session = UncheckedBox(self)
        Thread.detachNewThread { session.value.run(kind, stop: stop) }
    }

    /// Asks a running propagation to stop after its current frame; false when none runs.
    func stopRunning() -> Bool {
        state.read { s in
            s.stop?.request()
            return s.running != nil
        }
    }

    /// Stops a running propagation and waits until it has ended (its files complete).
    func stopAndWait() async {
        while stopRunning() { try? await Task.sleep(for: .milliseconds(100)) }
    }

    private func run(_ kind: Kind, stop: StopFlag) {
        var ok = false
        var message: String
        do {
            let outcome = try track(stop: stop)
            if outcome.interrupted {
                message = "stopped after frame \(outcome.lastFrame.map(String.init) ?? "-"); propagate again to continue"
            } else {
                ok = true
                message = kind == .export
                    ? "exported the run folder to \(layout.root.path): overlay.mp4, masks/<id>/, palette/, frames/, summary.json"
                        + (settings.matteVideo ? ", matte.mov" : "") + (settings.softMatte != nil ? ", masks_soft/<id>/" : "")
                    : String(format: "propagated: %d frames tracked in %.1f s", outcome.timings.framesProcessed, outcome.timings.wallSeconds)
            }
        } catch {
            message = "\(error)"
        }
        let states = FrameStates.read(layout: layout, frameCount: frames.frameCount)
        state.update { s in
            s.states = states
            s.live = []
            s.running = nil
            s.stop = nil
        }
        try? FileManager.default.removeItem(at: liveFolder)
        progress.publish("done", ["kind": kind.rawValue, "ok": ok, "message": message, "folder": layout.root.path])
    }

    /// The run, built as `Track.run` builds it for `--prompts`.
    private func track(stop: StopFlag) throws -> TrackOutcome {
        let plan = try KeyframePlan.read(path: settings.promptsFile.path)
        var request = TrackRequest(video: settings.video, folderFrameRate: settings.folderFrameRate, objects: [],
                                   startFrame: 0, backward: false, settings: TrackerSettings(), output: settings.output,
                                   startNumber: settings.startNumber, matteVideo: settings.matteVideo, resume: false,
                                   adaptation: nil, softMatte: settings.softMatte)
        request.prompts = plan
        request.merge = settings.merge
        request.update = FileManager.default.fileExists(atPath: layout.summary.path)
        let job = try TrackJob(request)
        let model = try loadedModel()
        let total = frames.frameCount
        let top = plan.objects.flatMap { $0.keyframes.filter { !$0.absent }.map(\.frame) }.max() ?? 0
        var previous = -1
        var backward = false
        return try job.run(model: model, stop: stop) { event in
            switch event {
            case .log(let line): progress.publish("log", ["line": line])
            case .trackingStarted: break  // the keyframe run logs its sweeps; frames follow
            case .frame(let f):
                if f.index < previous { backward = true }
                previous = f.index
                if !f.results.isEmpty {
                    landed(f.index, results: f.results.map { ($0.id, $0.state.rawValue, $0.mask) })
                }
                progress.publish("frame", ["index": f.index, "pass": backward ? "backward" : "forward", "done": f.done,
                                           "total": backward ? top + 1 : total, "tracked": f.tracked])
                settings.frameLanded?(f.index)
            case .trackingEnded: progress.publish("log", ["line": "writing the run folder"])
            }
        }
    }

    /// The model, loaded on the first run and kept (only the propagation thread touches it).
    private func loadedModel() throws -> TrackModel {
        if let model = modelSlot.value.model { return model }
        progress.publish("log", ["line": "loading model \(settings.model)"])
        let model = try ModelLoader.trackModel(model: settings.model, plugin: settings.plugin, route: settings.route)
        modelSlot.value.model = model
        return model
    }
}

/// The loaded model; read and written by the propagation thread only (one run at a time).
final class ModelSlot {
    var model: TrackModel?
}
