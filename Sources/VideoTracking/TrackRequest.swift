import Foundation
import PluginTraining
import SegmentAnything
import Tracking
import VideoIO

/// One tracking run as asked: what to track in which source, how, and where the outputs go.
/// Plain values, so a caller can build it from flags (the CLI) or a form (a server) and
/// `TrackJob` checks it before any model is loaded.
public struct TrackRequest: Sendable {
    /// A video file FFmpeg decodes, or a folder of images in name order.
    public var video: URL
    /// The frame rate given to an image folder (a video file has its own).
    public var folderFrameRate: Rational
    /// The objects, their boxes on `startFrame`; ids are palette indices (see `ObjectList.check`).
    public var objects: [ObjectSpec]
    public var startFrame: Int
    /// Track from `startFrame` towards frame 0.
    public var backward: Bool
    public var settings: TrackerSettings
    /// The output folder (created if missing); see `TrackLayout` for what goes where.
    public var output: URL
    /// Number of the start frame's matte and palette files (VFX convention: 1001).
    public var startNumber: Int
    /// Also write matte.mov (ProRes 4444, alpha = all objects).
    public var matteVideo: Bool
    /// Continue an interrupted run in `output`; without it an earlier run there is refused.
    public var resume: Bool
    /// Adapt the Stable-SAM plugin to the start frame before tracking; nil: use the model as given.
    public var adaptation: AdaptationRequest?
    /// Keyframes (`--prompts`) instead of `objects` on `startFrame`: see `KeyframePlan`. Excludes
    /// `backward`, `startFrame` and `adaptation`.
    public var prompts: KeyframePlan?
    /// How a frame between two keyframes chooses between their propagations.
    public var merge: KeyframeMerge = .agreement
    /// With `prompts`: reuse the run in `output`, recomputing only what changed keyframes affect.
    public var update = false
    /// Soft mattes (`--soft`: masks_soft/, optionally EXR) beside the binary ones; nil: binary only.
    public var softMatte: SoftMatteRequest?

    public init(video: URL, folderFrameRate: Rational, objects: [ObjectSpec], startFrame: Int = 0, backward: Bool = false,
                settings: TrackerSettings = TrackerSettings(), output: URL, startNumber: Int = 0, matteVideo: Bool = false,
                resume: Bool = false, adaptation: AdaptationRequest? = nil, softMatte: SoftMatteRequest? = nil) {
        self.video = video
        self.folderFrameRate = folderFrameRate
        self.objects = objects
        self.startFrame = startFrame
        self.backward = backward
        self.settings = settings
        self.output = output
        self.startNumber = startNumber
        self.matteVideo = matteVideo
        self.resume = resume
        self.adaptation = adaptation
        self.softMatte = softMatte
    }
}

/// `--adapt`: train the plugin on the start frame (SAM frozen) before the run.
public struct AdaptationRequest: Sendable {
    public var settings: AdaptationSettings
    /// A PNG of the frame's size whose pixel value is the object id (with one object, any nonzero
    /// value): the targets instead of the model's own masks for the boxes. Read before the model loads.
    public var maskPath: String?

    public init(settings: AdaptationSettings, maskPath: String? = nil) {
        self.settings = settings
        self.maskPath = maskPath
    }
}

/// The loaded model a job runs with, and the names the manifest gives it. Apart from the
/// request because the plugin file is known only once the model it belongs to is resolved.
public struct TrackModel {
    public var sam: Sam
    /// The model as the person named it (`--model`): summary.json's model.path, and the base
    /// model recorded in an adapted plugin.
    public var name: String
    /// The file of `sam`'s attached plugin, nil for plain SAM: for summary.json, and as where an
    /// adaptation started from.
    public var pluginFile: String?
    /// The route the plugin runs with (also given to the plugin an adaptation attaches).
    public var route: Route

    public init(sam: Sam, name: String, pluginFile: String?, route: Route) {
        self.sam = sam
        self.name = name
        self.pluginFile = pluginFile
        self.route = route
    }
}
