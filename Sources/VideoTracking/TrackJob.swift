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

    public init(_ request: TrackRequest) throws {
        self.request = request
        try ObjectList.check(request.objects, source: "objects")
        try request.softMatte?.check()
        reader = try VideoReader(url: request.video, folderFrameRate: request.folderFrameRate)
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
        resumeState = try ResumeState.check(request, layout: layout)
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
