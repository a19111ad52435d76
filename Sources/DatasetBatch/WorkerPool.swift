import Foundation
import VideoIO

/// Runs a share of sequences as J worker processes, each taking its own sub-share (`Shard(k, J)`
/// of the share), one thread each by default: on the 2-core machines here, two 1-thread processes
/// tracked 12 sequences in 25-28 s where one 2-thread process took 37-39 s (the per-frame work
/// around the model - decode, tracker, PNG and video writing - does not split across threads).
///
/// A worker that dies (a crash, a kill) leaves the sequence it was on without a record: the pool
/// records that sequence as failed, with how the worker ended, and starts the worker again on the
/// rest of its sub-share, so one bad sequence cannot take the others with it.
public struct WorkerPool {
    public let layout: BatchLayout
    /// The share of this process (`--shard`'s, or the whole selection), in order.
    public let share: [DatasetSequence]
    public let count: Int
    /// Starts worker k (of `count`); `retryFailed` false: it must skip sequences recorded as failed
    /// (a restart after a crash must not run the crashing sequence again).
    public let launch: (_ worker: Int, _ retryFailed: Bool) throws -> Process

    public init(layout: BatchLayout, share: [DatasetSequence], count: Int,
                launch: @escaping (_ worker: Int, _ retryFailed: Bool) throws -> Process) {
        self.layout = layout
        self.share = share
        self.count = count
        self.launch = launch
    }

    /// Runs the workers to the end (or until `stop` is raised, which is passed on to them as
    /// SIGTERM: each stops after its current frame), then says how each sequence of the share
    /// ended, from the records (`SequenceOutcome.recorded`). `log`: one line per worker that died.
    public func run(stop: @escaping @Sendable () -> Bool, log: (String) -> Void) throws -> [SequenceOutcome] {
        let started = Date()
        // Settled: done, or recorded during this run (a failure recorded before is retried, so a
        // worker that dies on it died on it).
        func settled(_ name: String) throws -> Bool {
            guard let record = try SequenceRecord.read(layout, sequence: name) else { return false }
            return record.status == .done || (layout.recordWritten(name).map { $0 >= started } ?? false)
        }
        let subShares = Shard.assign(share, count: count).map { $0.map(\.name) }
        var running: [Int: Process] = [:]
        var restarts = Array(repeating: 0, count: count)
        for k in 0..<count where !subShares[k].isEmpty { running[k] = try launch(k, true) }
        var interrupted = false, forwarded = false
        while !running.isEmpty {
            if stop() && !forwarded {
                forwarded = true
                for p in running.values where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            }
            for (k, p) in running where !p.isRunning {
                running[k] = nil
                let status = p.terminationStatus, signalled = p.terminationReason == .uncaughtSignal
                if !signalled && status == 130 || forwarded { interrupted = true; continue }
                if !signalled && (status == 0 || status == 3) { continue }
                // Died: the first of its sequences without a record is the one it was on.
                let how = signalled ? "was killed by signal \(status)" : "exited with status \(status)"
                guard let victim = try subShares[k].first(where: { try !settled($0) }) else { continue }
                log("worker \(k) \(how) while tracking \(victim); recorded as failed, the rest of its share goes on")
                try SequenceRecord.crash(victim, how: "the worker process \(how) while tracking it (rerun batch to retry; `stablesam track --prompts` on its prompts.json reproduces it)")
                    .write(layout)
                restarts[k] += 1
                if restarts[k] <= subShares[k].count { running[k] = try launch(k, false) }
            }
            if !running.isEmpty { usleep(50_000) }
        }
        return try SequenceOutcome.recorded(share, layout: layout, since: started, interrupted: interrupted)
    }
}

extension SequenceOutcome {
    /// How each sequence stands by its record: written since `since` (this run), before it
    /// (skipped), or none (stopped, or left to the process holding it).
    public static func recorded(_ sequences: [DatasetSequence], layout: BatchLayout, since: Date,
                                interrupted: Bool) throws -> [SequenceOutcome] {
        try sequences.map { seq in
            guard let r = try SequenceRecord.read(layout, sequence: seq.name) else { return interrupted ? .interrupted : .busy }
            return (layout.recordWritten(seq.name).map { $0 >= since } ?? false) ? .finished(r) : .skipped(r)
        }
    }
}

extension SequenceRecord {
    static func crash(_ name: String, how: String) -> SequenceRecord {
        SequenceRecord(sequence: name, status: .failed, error: how, objects: [],
                       run: .init(wallSeconds: 0, framesTracked: 0, resumed: false, host: ProcessInfo.processInfo.hostName,
                                  finished: ISO8601DateFormatter().string(from: Date())))
    }

    func write(_ layout: BatchLayout) throws {
        try FileManager.default.createDirectory(at: layout.sequenceFolder(sequence), withIntermediateDirectories: true)
        try AtomicFile.write(try RecordFile.encoder.encode(self), to: layout.record(sequence))
    }
}
