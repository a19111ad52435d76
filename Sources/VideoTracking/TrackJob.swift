import Foundation
import PluginTraining
import Tracking
import VideoIO

/// One tracking run: `init` checks the request and prepares everything that can fail without a
/// model (opens the source, checks the boxes and the adaptation mask against its size, the resume
/// state, creates the output folders), so a bad request costs no model load and leaves no folder;
/// `run` then tracks with the loaded model. A job runs once: its reader is spent.
public final class TrackJob {
    public let request: TrackRequest
    /// The source as opened: size, codec, declared frame count (for the caller's log and progress total).
    public let info: VideoInfo
    /// Where each output goes.
    public let layout: TrackLayout
    private let reader: VideoReader
    private let resumeState: ResumeState?
    private let adaptationTargets: [AdaptationTarget]?
    private var hasRun = false

    /// Keyframe fingerprints by object and frame, with `request.prompts`.
    private let fingerprints: [Int: [Int: String]]

    public init(_ request: TrackRequest) throws {
        var request = request
        try request.softMatte?.check()
        if let plan = request.prompts {
            if request.backward { throw TrackError.promptsExclude("--backward (keyframes propagate both ways)") }
            if request.startFrame != 0 { throw TrackError.promptsExclude("--start-frame (keyframes name their frames)") }
            if request.adaptation != nil { throw TrackError.promptsExclude("--adapt") }
            if !request.objects.isEmpty { throw TrackError.promptsExclude("--box/--objects") }
        } else {
            try ObjectList.check(request.objects, source: "objects")
        }
        reader = try VideoReader(url: request.video, folderFrameRate: request.folderFrameRate)
        if let plan = request.prompts {
            try plan.check(width: reader.info.width, height: reader.info.height, frameCount: reader.info.frameCount)
            request.objects = plan.specs(width: reader.info.width, height: reader.info.height)
            var prints: [Int: [Int: String]] = [:]
            for o in plan.objects {
                for k in o.keyframes { prints[o.id, default: [:]][k.frame] = try KeyframeFingerprint.of(k) }
            }
            fingerprints = prints
        } else {
            fingerprints = [:]
        }
        self.request = request
        let info = reader.info
        self.info = info
        try ObjectList.checkBoxes(request.objects, width: info.width, height: info.height)
        adaptationTargets = try request.adaptation?.maskPath.map {
            try StartFrameAdaptation.maskTargets($0, specs: request.objects, width: info.width, height: info.height)
        }
        if info.isImageSequence, let count = info.frameCount, request.startFrame >= count {
            throw TrackError.startPastEnd(start: request.startFrame, frames: count, path: info.path)
        }
        layout = TrackLayout(root: request.output)
        if request.prompts != nil {
            // The keyframe store decides what an earlier run left that can be kept.
            if !(request.update || request.resume) && FileManager.default.fileExists(atPath: layout.summary.path) {
                throw TrackError.previousRun(path: layout.root.path, keyframes: true)
            }
            if request.update || request.resume { AtomicFile.removeLeftovers(in: layout.root) }
            resumeState = nil
        } else {
            resumeState = try ResumeState.check(request, layout: layout)
        }
        try layout.prepare(ids: request.objects.map(\.id))
    }

    /// Tracks with `model`: adapts its plugin first when asked, then runs forward (or backward)
    /// and writes summary.json, also when `stop` ends the run early (`interrupted`). `events`
    /// are called on this thread.
    public func run(model: TrackModel, stop: StopFlag, events: (TrackEvent) -> Void) throws -> TrackOutcome {
        precondition(!hasRun, "a TrackJob runs once")
        hasRun = true
        let sam = model.sam
        let adaptation = try request.adaptation.map {
            try StartFrameAdaptation.adaptPlugin(model, request: request, settings: $0.settings, maskTargets: adaptationTargets,
                                                 layout: layout, log: { events(.log($0)) })
        }
        events(.trackingStarted)
        let segmenter = TrackSegmenter(model: sam, softAlpha: request.softMatte != nil)
        let (width, height, settings) = (info.width, info.height, request.settings)
        let tracker = resumeState.map {
            Tracker(model: segmenter, resuming: $0.tracker, width: width, height: height, settings: settings)
        } ?? Tracker(model: segmenter, objects: request.objects, width: width, height: height, settings: settings)

        var summary = TrackSummary(request: request, info: info, modelName: model.name, modelSize: sam.config.imgSize)
        summary.resumedAfterFrame = resumeState?.frame
        // The plugin the run used: the adapted one after adaptation.
        summary.plugin = sam.plugin == nil ? nil
            : adaptation.map { layout.root.appendingPathComponent($0.file).path } ?? model.pluginFile
        summary.route = sam.plugin == nil ? nil : model.route.rawValue
        summary.adaptation = adaptation
        let outcome: TrackOutcome
        if let plan = request.prompts {
            let store = KeyframeStore(runFolder: layout.root)
            try store.open(identity: .init(video: info.path, model: model.name, plugin: summary.plugin, route: summary.route,
                                           width: width, height: height, tracker: settings, soft: request.softMatte != nil))
            let result = try KeyframeRun(model: segmenter, plan: plan, fingerprints: fingerprints, store: store, layout: layout,
                                         info: info, videoURL: request.video, folderFrameRate: request.folderFrameRate,
                                         settings: settings, merge: request.merge, startNumber: request.startNumber,
                                         matteVideo: request.matteVideo, softMatte: request.softMatte, stop: stop).run(events: events)
            summary.keyframes = KeyframeSummary(plan, merge: request.merge, forwardFrames: result.forwardFrames,
                                                backwardFrames: result.backwardFrames)
            summary.finish(result.outcome, stability: result.stability, matteVideo: request.matteVideo)
            try summary.write(to: layout.summary)
            return result.outcome
        }
        if request.backward {
            outcome = try BackwardRun(videoURL: request.video, folderFrameRate: request.folderFrameRate, tracker: tracker,
                                      layout: layout, info: info, specs: request.objects, startFrame: request.startFrame,
                                      startNumber: request.startNumber, matteVideo: request.matteVideo, stop: stop,
                                      softMatte: request.softMatte).run(events: events)
        } else {
            let writer = try TrackWriter(layout: layout, info: info, objects: request.objects, startFrame: request.startFrame,
                                         startNumber: request.startNumber, matteVideo: request.matteVideo,
                                         softMatte: request.softMatte)
            outcome = try TrackRun(reader: reader, tracker: tracker, writer: writer, startFrame: request.startFrame,
                                   resumedThrough: resumeState?.frame, stop: stop).run(events: events)
        }
        summary.finish(outcome, stability: tracker.stability, matteVideo: request.matteVideo)
        try summary.write(to: layout.summary)
        return outcome
    }
}
