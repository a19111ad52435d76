import ArgumentParser
import Foundation
import PluginTraining
import SegmentAnything
import Tensor
import VideoTracking

extension StableSAMOptions.RouteToken: ExpressibleByArgument {}
extension StableSAMOptions.KeyPositionalEncoding: ExpressibleByArgument {}

/// `stablesam train-plugin`: RTS in Swift. Parses, reports progress, handles Ctrl-C; the data
/// layouts, the prompt mix, the embedding cache and the loop are PluginTraining's.
struct TrainPlugin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-plugin",
        abstract: "Train Stable-SAM's plugins (DSP + DRP) on a frozen SAM with RTS's prompt mix; writes a plugin file.",
        discussion: """
            --data is one of: a folder with images/<stem>.png|jpg and masks/<stem>.png (instance-id PNGs, 0 = \
            background, every other value one object: the `robustness` layout); a DAVIS folder (JPEGImages/<seq>/*.jpg + \
            Annotations/<seq>/*.png), whose frames are samples and whose sequences also give temporal prompts (the box \
            of the object at a neighbouring frame, with a tracker's margin and motion error); or a COCO instances .json \
            (polygon or RLE segmentations). Every (image, object) is one sample; the prompt is the GT box, a noisy box or \
            1-10 points, drawn as Scripts/stable_sam/train.py draws them. Image embeddings are computed once and kept \
            in <out>.cache/. Ctrl-C writes <out>.state; run the same command with --resume to continue: the result is \
            the file an uninterrupted run writes. Same seed, data and --threads: the same bytes.
            """)

    @Option(help: "Frozen base SAM: a checkpoint (.pth or safetensors), a downloaded registry name (see `stablesam models`), or 'default' (the bundled model).")
    var model: String = ModelLoader.defaultSpec

    @Option(help: "Training data: images/ + masks/ folder, DAVIS folder, or COCO instances .json.")
    var data: String

    @Option(help: "COCO only: the folder holding the images the JSON names (default: searched beside the JSON).")
    var images: String?

    @Option(help: "Extra DAVIS-layout clips for temporal prompts (train.py --clips), mixed in at --temporal-share.")
    var clips: String?

    @Option(help: "Share of the epoch's samples that are clip samples with temporal prompts, in [0, 1) (with clips).")
    var temporalShare: Double = RTSPrompts.temporalShare

    @Option(help: "Share of temporal prompts padded by 30-80 % of the side instead of 0-30 % (the grown boxes a tracker gives after a spill; the bundled plugin uses 0.5).")
    var temporalLoose: Double = 0

    @Option(help: "Plugin file to write (safetensors).")
    var out: String

    @Option(help: "Passes over the data (RTS: one).")
    var epochs: Int = 1

    @Option(help: "Seed of the plugin's initial weights, the sample order and the prompt draws.")
    var seed: UInt64 = 0

    @Option(help: "Samples per Adam step.")
    var batchSize: Int = 4

    @Option(help: "Adam learning rate.")
    var lr: Double = 1e-3

    @Option(help: "DSP offset bound s in d = s * tanh(raw), feature-grid cells.")
    var offsetScale: Float = 8

    @Option(help: "Token driving the DRP router: mask0 or iou.")
    var routeToken: StableSAMOptions.RouteToken = .mask0

    @Option(help: "Positional encoding of the deformed keys: grid or deformed.")
    var keyPe: StableSAMOptions.KeyPositionalEncoding = .grid

    @Flag(help: "Continue the interrupted run recorded in <out>.state.")
    var resume = false

    @Option(help: "Also write <out>.state every this many steps (0: only on Ctrl-C), so a killed run can --resume.")
    var saveEvery: Int = 100

    @Option(help: "Also write one JSON line per step (loss, bce, dice, route, prompts) to this file.")
    var log: String?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard temporalShare >= 0, temporalShare < 1 else { throw ValidationError("--temporal-share must be in [0, 1)") }
        guard temporalLoose >= 0, temporalLoose <= 1 else { throw ValidationError("--temporal-loose must be in [0, 1]") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard saveEvery >= 0 else { throw ValidationError("--save-every must be 0 or more") }
        guard offsetScale > 0, offsetScale.isFinite else { throw ValidationError("--offset-scale must be a positive number") }
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder) else {
            throw ValidationError("the folder of --out \(out) does not exist: create \(folder) first")
        }
    }

    func run() throws {
        BLAS.setThreads(threads)
        let output = URL(fileURLWithPath: out)
        let dataset = try TrainingDataset.open(data, cocoImages: images)
        let clipSet = try clips.map { path -> TrainingDataset in
            let c = try TrainingDataset.open(path)
            guard c.layout == .davis else { throw ValidationError("--clips \(path) is not a DAVIS folder (JPEGImages/ + Annotations/)") }
            return c
        }
        let modelURL = try ModelLoader.resolve(model)
        let sam = try SamLoader.load(modelURL)
        let settings = TrainPluginSettings(epochs: epochs, seed: seed, batchSize: batchSize, lr: lr, temporalShare: temporalShare,
                                           temporalLoose: temporalLoose, options: StableSAMOptions(offsetScale: offsetScale, routeToken: routeToken,
                                                                     keyPositionalEncoding: keyPe))
        let trainingRun = PluginTrainingRun(sam: sam, baseModel: modelURL.lastPathComponent, data: dataset, clips: clipSet,
                                            settings: settings, output: output)
        let say = { (line: String) in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        say("data: \(trainingRun.dataSummary)")
        say("model \(modelURL.lastPathComponent): decoder C = \(sam.maskDecoder.config.transformerDim), fingerprint \(sam.maskDecoder.fingerprint())"
            + (resume ? "; resuming \(trainingRun.stateURL.path)" : ""))

        var logHandle: FileHandle?
        if let log {
            if !resume || !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
            logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try logHandle?.seekToEnd()
        }
        defer { try? logHandle?.close() }
        let stop = StopSignal(unit: "step")
        defer { stop.disarm() }
        let bar = TrainingProgress(quiet: quiet)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var firstStep: UInt64?, prompts = 0, timedPrompts = 0, steps = 0
        let outcome = try trainingRun.run(resume: resume, saveEvery: saveEvery, shouldStop: { stop.isRequested }) { event in
            switch event {
            case let .encoding(done, total, encoded):
                bar.update("embeddings", done: done, total: total, detail: "\(encoded) encoded, \(done - encoded) from the cache")
            case .step(let r):
                let now = DispatchTime.now().uptimeNanoseconds
                if firstStep == nil { firstStep = now }
                prompts += r.prompts.count
                if steps > 0 { timedPrompts += r.prompts.count }
                steps += 1
                let seconds = Double(now - firstStep!) / 1e9
                let rate = steps > 1 && seconds > 0 ? String(format: ", %.1f prompts/s", Double(timedPrompts) / seconds) : ""
                bar.update("epoch \(r.epoch)/\(settings.epochs)", done: r.step, total: r.steps,
                           detail: String(format: "loss %.4f (bce %.4f dice %.4f) route %.2f/%.2f", r.loss, r.bce, r.dice, r.a1, r.a2) + rate)
                if let logHandle, let line = try? encoder.encode(r) { logHandle.write(line + Data("\n".utf8)) }
            }
        }
        bar.finish()
        if let firstStep, steps > 1 {
            // The first step's own time is not measured (its start is the clock's zero).
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - firstStep) / 1e9
            say("\(steps) steps, \(prompts) prompts; steps 2-\(steps): " + String(format: "%.2f s, %.2f prompts/s", seconds,
                Double(timedPrompts) / max(seconds, 1e-9))
                + "; \(trainingRun.cache.encoded) images encoded this run, every other embedding read from \(PluginTrainingRun.cacheFolder(for: output).path)")
        }
        switch outcome {
        case .finished(let url):
            say("wrote \(url.path) (\(settings.options.offsetScale) offset scale, route token \(routeToken.rawValue), key pe \(keyPe.rawValue))")
        case let .interrupted(state, step):
            say("interrupted after step \(step): state saved to \(state.path); run the same command with --resume to continue")
            throw ExitCode(130)
        }
    }
}

/// A redrawn bar on a terminal, a line every few seconds otherwise.
final class TrainingProgress {
    let quiet: Bool
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastLine: UInt64 = 0
    private var drawn = false
    private var phase = ""

    init(quiet: Bool) { self.quiet = quiet }

    func update(_ phase: String, done: Int, total: Int, detail: String) {
        guard !quiet else { return }
        if phase != self.phase { finish(); self.phase = phase; lastLine = 0 }
        let now = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(now - started) / 1e9
        let filled = total > 0 ? min(30, 30 * done / total) : 0
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "]"
        let line = "\(phase) \(bar) \(done)/\(total) \(detail) \(ProgressReporter.clock(seconds))"
        if isTerminal {
            FileHandle.standardError.write(Data("\r\(line)   ".utf8))
            drawn = true
        } else if now - lastLine > 5_000_000_000 || done == total {
            lastLine = now
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
