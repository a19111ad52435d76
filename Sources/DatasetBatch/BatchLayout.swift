import Foundation

/// Where a batch puts things under `--out`: one `track` folder per sequence (with its prompts
/// and, once finished, its record), the plan every shard checks, shard summaries, the report.
public struct BatchLayout: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func sequenceFolder(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }
    /// Written last, when the sequence is done or has failed: what a re-run skips on.
    public func record(_ name: String) -> URL { sequenceFolder(name).appendingPathComponent("batch.json") }
    /// When the sequence's record was last written; nil before it has one.
    public func recordWritten(_ name: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: record(name).path))?[.modificationDate] as? Date
    }
    public func prompts(_ name: String) -> URL { sequenceFolder(name).appendingPathComponent("prompts.json") }
    public func initMask(_ name: String, id: Int) -> URL {
        sequenceFolder(name).appendingPathComponent("init").appendingPathComponent("\(id).png")
    }
    public var plan: URL { root.appendingPathComponent("batch-plan.json") }
    public func shardSummary(_ shard: Shard) -> URL { root.appendingPathComponent("shard-\(shard.index)-of-\(shard.count).json") }
    public var reportJSON: URL { root.appendingPathComponent("report.json") }
    public var reportText: URL { root.appendingPathComponent("report.txt") }
    public var reportHTML: URL { root.appendingPathComponent("report.html") }
}
