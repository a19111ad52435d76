import Foundation
import Tensor
import Tracking
import VideoIO

/// summary.json: the run manifest (what was asked, with what), per-object figures, timings.
struct TrackSummary: Encodable {
    struct Input: Encodable {
        var path: String
        var width: Int
        var height: Int
        var codec: String
        var pixelFormat: String
        var frameRate: String
        var timeBase: String
        var frameCountDeclared: Int?
        var durationSeconds: Double?
        var rotation: Int
        var imageSequence: Bool
    }
    struct Model: Encodable {
        var path: String
        var imageSize: Int
    }
    struct Settings: Encodable {
        var objects: [ObjectSpec]
        var startFrame: Int
        var backward: Bool
        var startNumber: Int
        var matteVideo: Bool
        var tracker: TrackerSettings
        /// `--soft` and its options; absent without soft mattes.
        var softMatte: SoftMatteRequest?
    }
    struct Frames: Encodable {
        /// Frames the source delivered in this run (all of them when it ran to the end).
        var seen = 0
        var firstTracked: Int?
        var lastTracked: Int?
    }

    var input: Input
    var model: Model
    /// Stable-SAM plugin file and route mode; null for plain SAM.
    var plugin: String? = nil
    var route: String? = nil
    /// `BLAS.precision` the run's products used (`--precision`): fp32 or bf16.
    var precision = BLAS.precision.rawValue
    /// With adaptation: the plugin adapted to the start frame (the one the run used) and how.
    var adaptation: AdaptationSummary? = nil
    var settings: Settings
    var versions: [String: String]
    var objects: [ObjectFigures] = []
    var frames = Frames()
    var timings = RunTimings()
    var interrupted = false
    /// True when every output, videos included, is written.
    var complete = false
    /// Last frame of the earlier run this one resumed after.
    var resumedAfterFrame: Int?
    var outputs: [String: String] = [:]
    /// With `--prompts`: the keyframes, the merge rule and what this run tracked.
    var keyframes: KeyframeSummary? = nil

    init(request: TrackRequest, info: VideoInfo, modelName: String, modelSize: Int) {
        input = Input(path: info.path, width: info.width, height: info.height, codec: info.codec,
                      pixelFormat: info.pixelFormat, frameRate: info.frameRate.description,
                      timeBase: info.timeBase.description, frameCountDeclared: info.frameCount,
                      durationSeconds: info.duration, rotation: info.rotation, imageSequence: info.isImageSequence)
        model = Model(path: modelName, imageSize: modelSize)
        settings = Settings(objects: request.objects, startFrame: request.startFrame, backward: request.backward,
                            startNumber: request.startNumber, matteVideo: request.matteVideo, tracker: request.settings,
                            softMatte: request.softMatte)
        versions = ["stablesam": StableSAMVersion.string, "ffmpeg": FFmpegInfo.version, "openexr": EXRInfo.version]
    }

    mutating func finish(_ outcome: TrackOutcome, stability: [ObjectStability], matteVideo: Bool) {
        objects = stability.map(ObjectFigures.init)
        frames = Frames(seen: outcome.framesSeen, firstTracked: outcome.firstFrame, lastTracked: outcome.lastFrame)
        timings = outcome.timings
        timings.peakResidentMB = ProcessMemory.peakResidentMB()
        interrupted = outcome.interrupted
        complete = !outcome.interrupted
        outputs = ["frames": "frames/", "masks": "masks/<id>/", "palette": "palette/"]
        if let soft = settings.softMatte {
            outputs["masks_soft"] = "masks_soft/<id>/"
            if let exr = soft.exr { outputs["exr"] = "exr/\(exr.name).####.exr" }
        }
        if complete {
            outputs["overlay"] = "overlay.mp4"
            if matteVideo { outputs["matte_video"] = "matte.mov" }
        }
    }

    /// The figures of `ObjectStability` without its running sums (those live in .resume.json).
    struct ObjectFigures: Encodable {
        var id: Int
        var name: String?
        var trackedFrames: Int
        var occludedFrames: Int
        var lostFrames: Int
        var recoveries: Int
        var meanScore: Double?
        var meanStability: Double?
        var meanConsecutiveIou: Double?
        var minConsecutiveIou: Double?
        var areaVariation: Double?

        init(_ s: ObjectStability) {
            id = s.id
            name = s.name
            trackedFrames = s.trackedFrames
            occludedFrames = s.occludedFrames
            lostFrames = s.lostFrames
            recoveries = s.recoveries
            meanScore = s.meanScore
            meanStability = s.meanStability
            meanConsecutiveIou = s.meanConsecutiveIoU
            minConsecutiveIou = s.minConsecutiveIoU
            areaVariation = s.areaVariation
        }

        /// Explicit nulls, so every summary has the same keys.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(trackedFrames, forKey: .trackedFrames)
            try c.encode(occludedFrames, forKey: .occludedFrames)
            try c.encode(lostFrames, forKey: .lostFrames)
            try c.encode(recoveries, forKey: .recoveries)
            try c.encode(meanScore, forKey: .meanScore)
            try c.encode(meanStability, forKey: .meanStability)
            try c.encode(meanConsecutiveIou, forKey: .meanConsecutiveIou)
            try c.encode(minConsecutiveIou, forKey: .minConsecutiveIou)
            try c.encode(areaVariation, forKey: .areaVariation)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, trackedFrames, occludedFrames, lostFrames, recoveries, meanScore, meanStability
            case meanConsecutiveIou, minConsecutiveIou, areaVariation
        }
    }

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}

/// summary.json's `keyframes`.
struct KeyframeSummary: Encodable {
    struct Object: Encodable {
        var id: Int
        var name: String?
        /// Frames of the object's keyframes; `absent` those where it is out of view.
        var frames: [Int]
        var absent: [Int]
    }
    var prompts: String
    var merge: String
    var objects: [Object]
    /// Frames this run's forward / backward sweep stepped (each once, however many objects it followed): small after an `--update`.
    var trackedForward: Int
    var trackedBackward: Int

    init(_ plan: KeyframePlan, merge: KeyframeMerge, forwardFrames: Int, backwardFrames: Int) {
        prompts = plan.source
        self.merge = merge.rawValue
        objects = plan.objects.map { o in
            Object(id: o.id, name: o.name, frames: o.keyframes.filter { !$0.absent }.map(\.frame),
                   absent: o.keyframes.filter(\.absent).map(\.frame))
        }
        trackedForward = forwardFrames
        trackedBackward = backwardFrames
    }
}
