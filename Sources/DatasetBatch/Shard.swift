/// `--shard I/N`: task I (0-based, as Slurm's `SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)` and
/// Kubernetes' `JOB_COMPLETION_INDEX` count) of N takes a deterministic share of the sequences.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw ShardError(spec: "\(index)/\(count)", reason: "N must be 1 or more") }
        guard (0..<count).contains(index) else {
            throw ShardError(spec: "\(index)/\(count)", reason: "I must be in 0...\(count - 1) (0-based, as SLURM_ARRAY_TASK_ID with --array=0-\(count - 1))")
        }
        self.index = index
        self.count = count
    }

    /// "I/N".
    public init(parsing spec: String) throws {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError(spec: spec, reason: "expected I/N with whole numbers, e.g. 0/4 (task 0 of 4)")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Every task's share from the same list: longest first (by `weight`, then name), each to the
    /// task with the least weight so far (the lower index on a tie). The same sequences and N give
    /// the same shares on every machine, whatever order the tasks start in.
    public static func assign(_ sequences: [DatasetSequence], count: Int) -> [[DatasetSequence]] {
        var shares = Array(repeating: [DatasetSequence](), count: count), load = Array(repeating: 0, count: count)
        let order = sequences.sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.name < $1.name }
        for s in order {
            let k = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            shares[k].append(s)
            load[k] += s.weight
        }
        // Each share in the dataset's order, as a one-process run goes.
        let position = Dictionary(uniqueKeysWithValues: sequences.enumerated().map { ($1.name, $0) })
        return shares.map { $0.sorted { position[$0.name]! < position[$1.name]! } }
    }

    public func share(of sequences: [DatasetSequence]) -> [DatasetSequence] {
        Self.assign(sequences, count: count)[index]
    }
}

public struct ShardError: Error, CustomStringConvertible, Equatable {
    public let spec: String
    public let reason: String
    public var description: String { "--shard \(spec): \(reason)" }
}
