import ArgumentParser
import Foundation
import SegmentAnything
import Tensor
import Tracking
import VideoIO

struct Track: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track and segment objects through a video from one box each.",
        discussion: """
            VIDEO is any file FFmpeg decodes, or a folder of images (DAVIS JPEGImages/<seq> style, \
            natural name order). Writes to --out: overlay.mp4 (same frame count and timestamps as VIDEO), \
            masks/<id>/NNNNNN.png (0/255 mattes), palette/NNNNNN.png (DAVIS-style, index = id), \
            frames/NNNNNN.json (per frame: state, prompt box, box, area, score, stability, mask as COCO RLE, the chosen candidate and its scores, the Kalman-predicted box, camera motion), \
            summary.json, and with --matte-video matte.mov (ProRes 4444, alpha = all objects). \
            Ctrl-C stops after the current frame; --resume continues in the same --out.
            """)

    @Argument(help: "Video file or image folder.")
    var video: String

    @Option(name: .customLong("box"), help: "Box on the start frame, x0,y0,x1,y1 in pixels; repeat for more objects (ids 1, 2, ...).")
    var boxes: [BoxArgument] = []

    @Option(help: "JSON file with objects instead of --box: [{\"id\": 1, \"name\": \"car\", \"box\": [x0, y0, x1, y1]}].")
    var objects: String?

    @Option(help: "Frame (0-based) the boxes refer to; tracking starts there.")
    var startFrame = 0

    @Flag(help: "Track from --start-frame towards frame 0 instead of towards the end.")
    var backward = false

    @Option(help: "SAM checkpoint (.pth or .safetensors), a downloaded registry name (see `stablesam models`), or 'default': the small bundled model, for the bundled clips and demos.")
    var model: String = ModelLoader.defaultSpec

    @OptionGroup var pluginOptions: PluginOptions

    @OptionGroup var adaptOptions: AdaptOptions

    @Option(help: "With --adapt: the start frame's target masks instead of the model's answers for the boxes: a PNG of the frame's size whose pixel value is the object id (a palette PNG as palette/ holds), or with one object any nonzero value.")
    var mask: String?

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(help: "Prompt padding per side, as a fraction of the previous box's size (default 0.1).")
    var margin: Double?

    @Option(help: "Masks the model scores below this are treated as a lost object (default 0.4).")
    var minScore: Double?

    @Option(help: "JSON file of tracker settings: any subset of summary.json's settings.tracker object, e.g. {\"margin\": 0.15, \"fill_penalty\": 0.6}; --margin and --min-score override it.")
    var trackerSettings: String?

    @Flag(help: "Also prompt with the previous frame's low-resolution mask logits.")
    var maskPrompt = false

    @Option(help: "Number of the first frame's matte and palette file (VFX convention: 1001).")
    var startNumber = 0

    @Flag(help: "Also write matte.mov: ProRes 4444, source colour with all objects as alpha.")
    var matteVideo = false

    @Flag(help: "Continue an interrupted run in --out.")
    var resume = false

    @Option(help: "Frame rate of an image folder.")
    var fps = 24.0

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "One log line per frame with each object's state.")
    var verbose = false

    func validate() throws {
        guard !boxes.isEmpty || objects != nil else {
            throw ValidationError("give the objects: --box x0,y0,x1,y1 (repeatable) or --objects FILE.json")
        }
        guard boxes.isEmpty || objects == nil else { throw ValidationError("use --box or --objects, not both") }
        guard startFrame >= 0 else { throw ValidationError("--start-frame must be 0 or more") }
        if let margin { guard margin >= 0, margin.isFinite else { throw ValidationError("--margin must be 0 or more") } }
        if let minScore { guard minScore.isFinite else { throw ValidationError("--min-score must be a number") } }
        guard startNumber >= 0 else { throw ValidationError("--start-number must be 0 or more") }
        guard fps > 0, fps.isFinite else { throw ValidationError("--fps must be positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard !(quiet && verbose) else { throw ValidationError("--quiet and --verbose exclude each other") }
        guard mask == nil || adaptOptions.adapt else { throw ValidationError("--mask is the target of --adapt: give --adapt too") }
    }

    func run() throws {
        let specs = try objectSpecs()
        // Read before anything is loaded or created, so a bad file costs nothing and leaves no folder.
        var settings = try trackerSettings.map(TrackerSettings.read(json:)) ?? TrackerSettings()
        if let margin { settings.margin = margin }
        if let minScore { settings.minScore = minScore }
        if maskPrompt { settings.useMaskPrompt = true }
        let reader = try VideoReader(url: URL(fileURLWithPath: video),
                                     folderFrameRate: Rational(Int((fps * 1000).rounded()), 1000))
        let info = reader.info
        try check(specs, width: info.width, height: info.height)
        let adaptMasks = try mask.map { try maskTargets($0, specs: specs, width: info.width, height: info.height) }
        if info.isImageSequence, let count = info.frameCount, startFrame >= count {
            throw TrackError.startPastEnd(start: startFrame, frames: count, path: info.path)
        }
        let layout = TrackLayout(root: URL(fileURLWithPath: out, isDirectory: true))
        let resumeState = try resumeCheck(layout: layout, specs: specs)
        try layout.prepare(ids: specs.map(\.id))
        // Armed before the model loads, so a Ctrl-C during loading also ends in a clean,
        // resumable (interrupted) run rather than a killed process.
        let stop = StopSignal()
        defer { stop.disarm() }

        BLAS.setThreads(threads)
        let level: ProgressReporter.Level = quiet ? .quiet : verbose ? .verbose : .normal
        ProgressReporter(level: level, total: nil)
            .log("\(info.path): \(info.width)x\(info.height) \(info.codec), \(info.frameCount.map(String.init) ?? "?") frames; loading \(model)")
        let sam = try loadModel(model)
        var plugin = try pluginOptions.attach(to: sam, model: model)
        let adaptation = adaptOptions.adapt
            ? try adaptPlugin(sam: sam, attached: plugin, specs: specs, maskTargets: adaptMasks, layout: layout, log: { ProgressReporter(level: level, total: nil).log($0) })
            : nil
        if adaptation != nil { plugin = sam.plugin }
        // Created after loading, so frame rates and ETA measure tracking only.
        let progress = ProgressReporter(level: level, total: info.frameCount)
        let segmenter = TrackSegmenter(model: sam)
        let tracker = resumeState.map {
            Tracker(model: segmenter, resuming: $0.tracker, width: info.width, height: info.height, settings: settings)
        } ?? Tracker(model: segmenter, objects: specs, width: info.width, height: info.height, settings: settings)

        var summary = TrackSummary(command: self, info: info, specs: specs, settings: settings, modelSize: sam.config.imgSize)
        summary.resumedAfterFrame = resumeState?.frame
        // The plugin the run used: the adapted one with --adapt.
        summary.plugin = plugin == nil ? nil
            : try adaptation.map { layout.root.appendingPathComponent($0.file).path } ?? pluginOptions.pluginPath(model: model)
        summary.route = plugin == nil ? nil : pluginOptions.route.rawValue
        summary.adaptation = adaptation
        let outcome: RunOutcome
        if backward {
            outcome = try BackwardRun(videoURL: URL(fileURLWithPath: video), folderFrameRate: Rational(Int((fps * 1000).rounded()), 1000),
                                      tracker: tracker, layout: layout, info: info, specs: specs, startFrame: startFrame,
                                      startNumber: startNumber, matteVideo: matteVideo, progress: progress, stop: stop).run()
        } else {
            let writer = try TrackWriter(layout: layout, info: info, objects: specs, startFrame: startFrame,
                                         startNumber: startNumber, matteVideo: matteVideo)
            outcome = try TrackRun(reader: reader, tracker: tracker, writer: writer, startFrame: startFrame,
                                   resumedThrough: resumeState?.frame, progress: progress, stop: stop).run()
        }
        summary.finish(outcome, stability: tracker.stability, matteVideo: matteVideo)
        try summary.write(to: layout.summary)
        if outcome.interrupted {
            progress.log("interrupted after frame \(outcome.lastFrame.map(String.init) ?? "-"): rerun with --resume to continue")
            throw ExitCode(130)
        }
        progress.log(String(format: "tracked %d frames in %.1f s (%.2f fps, %.0f%% of the time outside the model); wrote %@",
                            outcome.timings.framesProcessed, outcome.timings.wallSeconds, outcome.timings.framesPerSecond,
                            100 * outcome.timings.outsideModelShare, layout.root.path))
    }

    /// `preset:NAME` (undocumented) builds that architecture with random weights, so speed
    /// can be measured without a checkpoint; the masks are meaningless.
    func loadModel(_ spec: String) throws -> Sam {
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
        var specs: [ObjectSpec]
        if let objects {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: objects)) } catch {
                throw TrackError.badObjects(path: objects, reason: "cannot read the file (\(error.localizedDescription))")
            }
            do { specs = try JSONDecoder().decode([ObjectSpec].self, from: data) } catch {
                throw TrackError.badObjects(path: objects, reason: "not a list of objects (\(error))")
            }
            guard !specs.isEmpty else { throw TrackError.badObjects(path: objects, reason: "the list is empty") }
        } else {
            specs = boxes.enumerated().map { ObjectSpec(id: $0.offset + 1, box: Box(x0: $0.element.x0, y0: $0.element.y0, x1: $0.element.x1, y1: $0.element.y1)) }
        }
        guard Set(specs.map(\.id)).count == specs.count else {
            throw TrackError.badObjects(path: objects ?? "--box", reason: "ids repeat")
        }
        // Ids are palette indices in palette/*.png.
        if let bad = specs.first(where: { !(1...255).contains($0.id) }) {
            throw TrackError.badObjects(path: objects ?? "--box", reason: "id \(bad.id) is outside 1...255")
        }
        return specs
    }

    func check(_ specs: [ObjectSpec], width: Int, height: Int) throws {
        for s in specs {
            if s.box.isDegenerate { throw TrackError.badBox(id: s.id, box: s.box, reason: "has no area (need x0 < x1 and y0 < y1)") }
            if s.box.clipped(width: width, height: height) == nil {
                throw TrackError.badBox(id: s.id, box: s.box, reason: "lies outside the \(width)x\(height) frame")
            }
        }
    }

    /// Without --resume an earlier run is never overwritten; with it, the earlier run must
    /// be of the same input and objects.
    func resumeCheck(layout: TrackLayout, specs: [ObjectSpec]) throws -> ResumeState? {
        let fm = FileManager.default
        guard resume else {
            if fm.fileExists(atPath: layout.summary.path) || fm.fileExists(atPath: layout.resumeState.path) {
                throw TrackError.previousRun(path: layout.root.path)
            }
            return nil
        }
        guard !backward else { throw TrackError.cannotResume(path: layout.root.path, reason: "--resume supports forward runs only") }
        guard fm.fileExists(atPath: layout.resumeState.path) else {
            // Nothing was completed: start afresh.
            return nil
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let state: ResumeState
        do { state = try decoder.decode(ResumeState.self, from: Data(contentsOf: layout.resumeState)) } catch {
            throw TrackError.cannotResume(path: layout.root.path, reason: "unreadable .resume.json (\(error))")
        }
        guard state.objects == specs, state.startFrame == startFrame,
              URL(fileURLWithPath: state.input).standardized == URL(fileURLWithPath: video).standardized else {
            throw TrackError.cannotResume(path: layout.root.path, reason: "it was started with another video, objects or --start-frame")
        }
        return state
    }
}
