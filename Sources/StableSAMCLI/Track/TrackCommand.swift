import ArgumentParser
import Foundation
import SegmentAnything
import Tensor
import Tracking
import VideoIO
import VideoTracking

struct Track: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track and segment objects through a video from one box each, or from keyframes on any frames (--prompts).",
        discussion: """
            VIDEO is any file FFmpeg decodes, or a folder of images (DAVIS JPEGImages/<seq> style, \
            natural name order). Writes to --out: overlay.mp4 (same frame count and timestamps as VIDEO), \
            masks/<id>/NNNNNN.png (0/255 mattes), palette/NNNNNN.png (DAVIS-style, index = id), \
            frames/NNNNNN.json (per frame: state, prompt box, box, area, score, stability, mask as COCO RLE, the chosen candidate and its scores, the Kalman-predicted box, camera motion), \
            summary.json, and with --matte-video matte.mov (ProRes 4444, alpha = all objects). \
            With --soft also masks_soft/<id>/NNNNNN.png (16-bit soft mattes) and with --exr exr/<name>.NNNN.exr \
            (half float, one layer per object); soft-matte steps run in roto order: fill holes, grow, feather. \
            Ctrl-C stops after the current frame; --resume continues in the same --out.
            """)

    @Argument(help: "Video file or image folder.")
    var video: String

    @Option(name: .customLong("box"), help: "Box on the start frame, x0,y0,x1,y1 in pixels; repeat for more objects (ids 1, 2, ...).")
    var boxes: [BoxArgument] = []

    @Option(help: "JSON file with objects instead of --box: [{\"id\": 1, \"name\": \"car\", \"box\": [x0, y0, x1, y1]}].")
    var objects: String?

    @Option(help: ArgumentHelp("Keyframes instead of --box/--objects: per object any number of frames with a box, points, a mask PNG or \"absent\"; each propagates forward and backward to the object's neighbouring keyframes.",
                               discussion: #"{"objects": [{"id": 1, "name": "car", "keyframes": [{"frame": 0, "box": [x0, y0, x1, y1]}, {"frame": 40, "points": [[x, y, 1], [x, y, 0]]}, {"frame": 80, "mask": "car_80.png"}, {"frame": 120, "absent": true}]}]}; mask paths relative to the file, pixels above 127 are the object."#))
    var prompts: String?

    @Flag(help: "With --prompts: apply the keyframes to the run already in --out, recomputing only the frames changed keyframes reach.")
    var update = false

    @Option(help: "With --prompts, how a frame between two keyframes picks between their propagations: nearer (from the nearer keyframe), surer (the one the tracker accepted, and of two the one the model scored higher) or agreement (one hand-over frame per gap, where the two propagations agree best).")
    var merge: KeyframeMerge = .agreement

    @Option(help: "Frame (0-based) the boxes refer to; tracking starts there.")
    var startFrame = 0

    @Flag(help: "Track from --start-frame towards frame 0 instead of towards the end.")
    var backward = false

    @Option(help: "SAM checkpoint (.pth or .safetensors), a downloaded registry name (see `stablesam models`), or 'default': the small bundled model, for the bundled clips and demos.")
    var model: String = ModelLoader.defaultSpec

    @OptionGroup(title: "Precision") var precisionOptions: PrecisionOptions

    @OptionGroup var pluginOptions: PluginOptions

    @OptionGroup var adaptOptions: AdaptOptions

    @Option(help: "With --adapt: the start frame's target masks instead of the model's answers for the boxes: a PNG of the frame's size whose pixel value is the object id (a palette PNG as palette/ holds), or with one object any nonzero value.")
    var mask: String?

    @Option(help: "Output folder (created if missing).")
    var out: String

    @OptionGroup(title: "Tracker") var tracker: TrackerOptions

    @OptionGroup var output: RunOutputOptions

    @Flag(help: "Continue an interrupted run in --out.")
    var resume = false


    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "One log line per frame with each object's state.")
    var verbose = false

    func validate() throws {
        if prompts != nil {
            guard boxes.isEmpty && objects == nil else {
                throw ValidationError("--prompts gives every object's keyframes: drop --box/--objects")
            }
            guard !backward && startFrame == 0 else {
                throw ValidationError("--prompts propagates both ways from frames it names: drop --backward/--start-frame")
            }
            guard !adaptOptions.adapt else { throw ValidationError("--adapt cannot be combined with --prompts yet") }
        } else {
            guard !update else { throw ValidationError("--update applies a --prompts file to an earlier run: give --prompts") }
            guard !boxes.isEmpty || objects != nil else {
                throw ValidationError("give the objects: --box x0,y0,x1,y1 (repeatable), --objects FILE.json or --prompts FILE.json")
            }
        }
        guard boxes.isEmpty || objects == nil else { throw ValidationError("use --box or --objects, not both") }
        guard startFrame >= 0 else { throw ValidationError("--start-frame must be 0 or more") }
        guard !(quiet && verbose) else { throw ValidationError("--quiet and --verbose exclude each other") }
        guard mask == nil || adaptOptions.adapt else { throw ValidationError("--mask is the target of --adapt: give --adapt too") }
    }

    func run() throws {
        try precisionOptions.run { try runInPrecision() }
    }

    private func runInPrecision() throws {
        let plan = try prompts.map { try KeyframePlan.read(path: $0) }
        let specs = plan == nil ? try objectSpecs() : []
        let settings = try tracker.settings()
        var request = TrackRequest(
            video: URL(fileURLWithPath: video), folderFrameRate: output.folderFrameRate, objects: specs,
            startFrame: startFrame, backward: backward, settings: settings, output: URL(fileURLWithPath: out, isDirectory: true),
            startNumber: output.startNumber, matteVideo: output.matteVideo, resume: resume,
            adaptation: adaptOptions.adapt ? AdaptationRequest(settings: adaptOptions.settings, maskPath: mask) : nil,
            softMatte: output.softOptions.request)
        request.prompts = plan
        request.merge = merge
        request.update = update
        let job = try TrackJob(request)
        let info = job.info
        // Armed before the model loads, so a Ctrl-C during loading also ends in a clean,
        // resumable (interrupted) run rather than a killed process.
        let stop = StopSignal()
        defer { stop.disarm() }

        BLAS.setThreads(output.threads)
        let level: ProgressReporter.Level = quiet ? .quiet : verbose ? .verbose : .normal
        let log = ProgressReporter(level: level, total: nil)
        log.log("\(info.path): \(info.width)x\(info.height) \(info.codec), \(info.frameCount.map(String.init) ?? "?") frames; loading \(model)")
        let sam = try Self.loadModel(model)
        try pluginOptions.attach(to: sam, model: model, quiet: quiet)
        let loaded = TrackModel(sam: sam, name: model, pluginFile: try pluginOptions.pluginPath(model: model), route: pluginOptions.route)
        // Created once tracking starts, so frame rates and ETA measure tracking only.
        var progress: ProgressReporter?
        let outcome = try job.run(model: loaded, stop: stop.flag) { event in
            switch event {
            case .log(let line): log.log(line)
            case .trackingStarted: progress = ProgressReporter(level: level, total: info.frameCount)
            case .frame(let frame):
                progress?.frameDone(frame.done, processedNow: frame.tracked, detail: detail(frame))
            case .trackingEnded: progress?.finish()
            }
        }
        if outcome.interrupted {
            log.log("interrupted after frame \(outcome.lastFrame.map(String.init) ?? "-"): rerun with --resume to continue")
            throw ExitCode(130)
        }
        log.log(String(format: "tracked %d frames in %.1f s (%.2f fps, %.0f%% of the time outside the model); wrote %@",
                       outcome.timings.framesProcessed, outcome.timings.wallSeconds, outcome.timings.framesPerSecond,
                       100 * outcome.timings.outsideModelShare, job.layout.root.path))
    }

    /// `--verbose`'s line per frame: each object's state (a backward run names the frame only).
    private func detail(_ frame: FrameEvent) -> String {
        guard !backward else { return "frame \(frame.index)" }
        return "frame \(frame.index) " + frame.results.map { r in
            "id \(r.id) \(r.state.rawValue) area \(r.area) score \(String(format: "%.3f", r.score))"
                + (r.rejection.map { " (\($0))" } ?? "")
        }.joined(separator: "; ")
    }

    /// `preset:NAME` (undocumented) builds that architecture with random weights, so speed
    /// can be measured without a checkpoint; the masks are meaningless.
    static func loadModel(_ spec: String) throws -> Sam {
        if spec.hasPrefix("preset:") {
            let name = String(spec.dropFirst("preset:".count))
            guard let preset = SamPreset(rawValue: name) else {
                throw ValidationError("unknown preset \(name): one of \(SamPreset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return preset.randomModel()
        }
        return try ModelLoader.load(spec)
    }

    /// Objects from --box (ids 1, 2, ...) or --objects.
    func objectSpecs() throws -> [ObjectSpec] {
        if let objects { return try ObjectList.read(path: objects) }
        let specs = boxes.enumerated().map {
            ObjectSpec(id: $0.offset + 1, box: $0.element.box)
        }
        try ObjectList.check(specs, source: "--box")
        return specs
    }
}

extension KeyframeMerge: ExpressibleByArgument {}
