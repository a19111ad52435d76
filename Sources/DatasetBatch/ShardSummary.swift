import Foundation
import VideoIO

/// `shard-I-of-N.json`: what one task was given and how each of its sequences ended, for the
/// person watching a job array (the report itself is `batch merge`'s).
public struct ShardSummary: Encodable, Sendable {
    public var shard: String
    public var sequences: [String]
    public var done: [String] = []
    public var failed: [String] = []
    /// Finished by an earlier run of this or another task.
    public var skipped: [String] = []
    public var interrupted = false
    /// Held by another process when this one reached them.
    public var busy: [String] = []
    public var host = ProcessInfo.processInfo.hostName
    /// Where it is written (not in the file: `shard` says it).
    private let task: Shard

    private enum CodingKeys: String, CodingKey { case shard, sequences, done, failed, skipped, interrupted, busy, host }

    public init(shard: Shard, outcomes: [SequenceOutcome], share: [String]) {
        task = shard
        self.shard = shard.description
        sequences = share
        for (o, name) in zip(outcomes, share) {
            switch o {
            case .skipped(let r): skipped.append(r.sequence)
            case .finished(let r): if r.status == .done { done.append(r.sequence) } else { failed.append(r.sequence) }
            case .interrupted: interrupted = true
            case .busy: busy.append(name)
            }
        }
    }

    public func write(_ layout: BatchLayout) throws {
        try AtomicFile.write(try RecordFile.encoder.encode(self), to: layout.shardSummary(task))
    }
}
