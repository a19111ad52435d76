import ArgumentParser
import DatasetBatch
import Foundation
import Metrics
import Tensor
import Tracking
import VideoTracking

/// `stablesam batch`: a whole dataset, shardable across a scheduler's tasks; `batch merge` joins them.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track and evaluate a whole dataset (DAVIS folders or a manifest), sharded across machines if wanted.",
        subcommands: [BatchRun.self, BatchMerge.self],
        defaultSubcommand: BatchRun.self)
}

struct BatchRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Track every sequence of a dataset into --out, then evaluate them together (the default subcommand).",
        discussion: """
            ROOT is a DAVIS folder (JPEGImages/<seq>/ frames, Annotations/<seq>/ palette PNGs; DAVIS's \
            JPEGImages/480p/ form too) or a manifest: JSON lines {"video": ..., "objects": [{"id": 1, "box": [...]}], \
            "gt": ...}, paths relative to it. Each sequence gets a `track` folder --out/<seq>/ with its prompts \
            (prompts.json, as `track --prompts` reads it) and, when finished, batch.json (status, error, scores). \
            Without --shard the dataset report follows: report.txt, report.json, report.html. With --shard I/N this \
            process takes task I's share (0-based, deterministic) and `stablesam batch merge DIR` builds the report \
            once all shards are done. A re-run skips finished sequences and resumes interrupted ones; a sequence \
            that fails is recorded with its error and the rest go on. Exit status: 0 all done, 3 some failed, \
            130 interrupted (SIGINT/SIGTERM stop after the current frame). DAVIS 2017's semi-supervised protocol: \
            --init mask --skip-ends.
            """)

    @Argument(help: "DAVIS folder or manifest (.jsonl).")
    var root: String

    @Option(help: "Output folder: one track folder per sequence, the plan, the report.")
    var out: String

    @Option(name: .customLong("init"), help: "Prompts from the first annotated frame: mask (DAVIS semi-supervised) or box (the box around that mask). Manifest lines with objects use their boxes.")
    var initMode: InitMode = .mask

    @Option(help: "Only these sequences (comma-separated names).")
    var sequences: String?

    @Option(help: "Only the sequences named in this file, one per line (DAVIS ImageSets/2017/val.txt).")
    var sequenceList: String?

    @Option(help: "The subfolder of JPEGImages/ and Annotations/ (DAVIS: 480p or Full-Resolution); default 480p where both have it.")
    var resolution: String?

    @Option(help: "Task I of N (0-based): this process's deterministic share of the sequences.")
    var shard: String?

    @Flag(help: "Drop each sequence's first and last frame from the scores, as DAVIS 2017 semi-supervised evaluation does.")
    var skipEnds = false

    @Option(help: "SAM checkpoint, registry name, or 'default' (the bundled model).")
    var model: String = ModelLoader.defaultSpec

    @OptionGroup(title: "Precision") var precisionOptions: PrecisionOptions

    @OptionGroup var pluginOptions: PluginOptions

    @OptionGroup(title: "Tracker") var tracker: TrackerOptions

    @Option(help: "How a frame between two keyframes picks between their propagations (see `track --merge`).")
    var merge: KeyframeMerge = .agreement

    @Option(help: "CPU threads in all: each worker process gets --threads / --jobs of them.")
    var threads: Int = Parallel.workers

    @Option(help: "Worker processes tracking sequences side by side (default: one per thread, as many as memory allows for the model; 1: this process alone).")
    var jobs: Int?

    /// Set by the pool on the processes it starts: worker k of J takes Shard(k, J) of this process's share.
    @Option(help: .hidden)
    var worker: String?

    /// Set by the pool on a worker it restarts after a crash: the sequence it crashed on is not run again.
    @Flag(help: .hidden)
    var skipFailed = false

    @Flag(help: "Only errors.")
    var quiet = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard sequences == nil || sequenceList == nil else { throw ValidationError("use --sequences or --sequence-list, not both") }
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
        if let jobs { guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") } }
    }

    func run() throws {
        try precisionOptions.run { try runInPrecision() }
    }

    private func runInPrecision() throws {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        var names = sequences.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let sequenceList { names = try DatasetSource.names(inListFile: URL(fileURLWithPath: sequenceList)) }
        let all = try DatasetSource.select(try DatasetSource.load(rootURL, resolution: resolution), names: names)
        let shard = try self.shard.map(Shard.init(parsing:))
        let mine = shard.map { $0.share(of: all) } ?? all
        let layout = BatchLayout(root: URL(fileURLWithPath: out, isDirectory: true).standardizedFileURL)
        let settings = BatchSettings(
            dataset: rootURL.path, sequences: all.map(\.name), initMode: initMode, model: model,
            plugin: pluginOptions.plugin, route: pluginOptions.route.rawValue,
            precision: precisionOptions.precision.rawValue, tracker: try tracker.settings(), merge: merge.rawValue,
            skipEnds: skipEnds)
        try settings.claim(layout)
        let stop = StopSignal()
        defer { stop.disarm() }
        let log = { (line: String) in if !quiet { FileHandle.standardError.write(Data("batch: \(line)\n".utf8)) } }
        let outcomes: [SequenceOutcome]
        if let worker {
            let sub = try Shard(parsing: worker)
            outcomes = try track(sub.share(of: mine), settings: settings, layout: layout, stop: stop, log: log)
            // The pool that started this worker reports; a worker only records its sequences.
            if outcomes.contains(where: { if case .interrupted = $0 { true } else { false } }) { throw ExitCode(130) }
            return
        }
        let pending = try mine.filter { try SequenceRecord.read(layout, sequence: $0.name)?.status != .done }
        let workers = min(jobs ?? defaultJobs(), max(1, pending.count))
        log("\(mine.count) of \(all.count) sequences\(shard.map { " (shard \($0))" } ?? "") from \(rootURL.path)"
            + (workers > 1 ? " in \(workers) worker processes" : ""))
        if pending.isEmpty {
            // Nothing left to track: no model is loaded, no worker started.
            outcomes = try SequenceOutcome.recorded(mine, layout: layout, since: .distantFuture, interrupted: false)
            for o in outcomes { if case .skipped(let r) = o { log("\(r.sequence): " + Self.describe(o)) } }
        } else if workers > 1 {
            let pool = WorkerPool(layout: layout, share: mine, count: workers) { k, retryFailed in
                try workerProcess(k, of: workers, retryFailed: retryFailed)
            }
            let flag = stop.flag
            outcomes = try pool.run(stop: { flag.isRequested }, log: log)
        } else {
            outcomes = try track(mine, settings: settings, layout: layout, stop: stop, log: log)
        }
        if let shard { try ShardSummary(shard: shard, outcomes: outcomes, share: mine.map(\.name)).write(layout) }
        if outcomes.contains(where: { if case .interrupted = $0 { true } else { false } }) {
            log("interrupted: run the same command again to resume")
            throw ExitCode(130)
        }
        if shard == nil {
            let report = try DatasetReport.build(settings, layout: layout)
            try report.write(layout)
            if !quiet { print(report.text) }
            log("wrote \(layout.reportText.path), report.json and report.html")
        }
        let failed = outcomes.compactMap { o -> String? in
            if case .finished(let r) = o, r.status == .failed { r.sequence } else { nil }
        }
        if !failed.isEmpty {
            log("\(failed.count) sequence(s) failed (see their batch.json): \(failed.joined(separator: ", "))")
            throw ExitCode(3)
        }
    }

    /// This process tracking `sequences` itself, one after another.
    private func track(_ sequences: [DatasetSequence], settings: BatchSettings, layout: BatchLayout, stop: StopSignal,
                       log: @escaping (String) -> Void) throws -> [SequenceOutcome] {
        BLAS.setThreads(threads)
        let sam = try Track.loadModel(model)
        try pluginOptions.attach(to: sam, model: model, quiet: quiet || worker != nil)
        let loaded = TrackModel(sam: sam, name: model, pluginFile: try pluginOptions.pluginPath(model: model), route: pluginOptions.route)
        var runner = BatchRunner(settings: settings, layout: layout)
        runner.retryFailed = !skipFailed
        return try runner.run(sequences, model: loaded, stop: stop.flag) { event in
            switch event {
            case let .sequenceStarted(name, position, total, resumed):
                log("\(name): \(resumed ? "resuming" : "starting") (\(position)/\(total)\(worker.map { " of worker \($0)" } ?? ""))")
            case .track: break
            case let .sequenceEnded(name, outcome): log("\(name): " + Self.describe(outcome))
            }
        }
    }

    /// One worker per thread, as many as memory holds: a process needs about three times the
    /// checkpoint's size (weights, activations at 1024 px) and 300 MB besides.
    private func defaultJobs() -> Int {
        let bytes = (try? ModelLoader.resolve(model)).flatMap {
            (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size]) as? Int
        } ?? 400_000_000
        let perProcess = Double(3 * bytes + 300_000_000)
        let fit = Int(0.7 * Double(ProcessInfo.processInfo.physicalMemory) / perProcess)
        return max(1, min(threads, fit))
    }

    /// This command again as worker k of J: the same arguments, one thread share, `--worker k/J`.
    private func workerProcess(_ k: Int, of count: Int, retryFailed: Bool) throws -> Process {
        let p = Process()
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.executableURL = FileManager.default.isExecutableFile(atPath: exe.path) ? exe
            : URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // Later values of a repeated option win, so these override the person's --jobs and --threads.
        p.arguments = Array(CommandLine.arguments.dropFirst())
            + ["--jobs", "1", "--threads", "\(max(1, threads / count))", "--worker", "\(k)/\(count)"]
            + (retryFailed ? [] : ["--skip-failed"])
        try p.run()
        return p
    }

    static func describe(_ outcome: SequenceOutcome) -> String {
        switch outcome {
        case .skipped: return "skipped (finished)"
        case .interrupted: return "interrupted"
        case .busy: return "busy: another process is tracking it (left to that one)"
        case .finished(let r):
            guard r.status == .done else { return "failed: \(r.error ?? "-")" }
            let jf = r.evaluation.flatMap { VideoEvaluation.group(r.sequence, $0).jAndF }.map { String(format: ", J&F %.3f", $0) } ?? ", no ground truth"
            return String(format: "done%@, %d frames (%d computed) in %.1f s", r.run.resumed ? " (resumed)" : "", r.frames ?? 0,
                          r.run.framesTracked, r.run.wallSeconds) + jf
        }
    }
}

struct BatchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Build the dataset report (report.txt, .json, .html) from the sequence folders the shards wrote into DIR.")

    @Argument(help: "The --out folder the shards shared.")
    var dir: String

    @Flag(help: "Write the report even where sequences are not finished yet (they are listed as not run).")
    var partial = false

    @Flag(help: "Only errors.")
    var quiet = false

    func run() throws {
        let layout = BatchLayout(root: URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL)
        let settings = try BatchSettings.read(layout)
        let report = try DatasetReport.build(settings, layout: layout)
        if !report.missing.isEmpty && !partial {
            throw BatchError.unfinished(path: layout.root.path, sequences: report.missing.map(\.sequence))
        }
        try report.write(layout)
        if !quiet { print(report.text) }
        if !report.failed.isEmpty {
            FileHandle.standardError.write(Data("batch merge: \(report.failed.count) sequence(s) failed (see their batch.json): \(report.failed.map(\.sequence).joined(separator: ", "))\n".utf8))
            throw ExitCode(3)
        }
    }
}

extension InitMode: ExpressibleByArgument {}
