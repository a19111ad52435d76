import DatasetBatch
import Testing

@Suite("shards")
struct ShardTests {
    func sequences(_ weights: [Int]) -> [DatasetSequence] {
        weights.enumerated().map { DatasetSequence(name: "s\($0.offset)", video: "/v/\($0.offset)", groundTruth: nil, weight: $0.element) }
    }

    @Test("I/N is 0-based; 3/2, 2/2, -1/2, 1/0 and non-numbers are refused with the rule")
    func parsing() throws {
        #expect(try Shard(parsing: "0/3") == Shard(index: 0, count: 3))
        #expect(try Shard(parsing: "2/3").description == "2/3")
        for bad in ["3/2", "2/2", "-1/2", "1/0", "a/b", "1", "1/2/3", ""] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad) }
        }
        let error = #expect(throws: ShardError.self) { try Shard(parsing: "3/2") }
        #expect(error?.description == "--shard 3/2: I must be in 0...1 (0-based, as SLURM_ARRAY_TASK_ID with --array=0-1)")
    }

    @Test("the shares cover every sequence once, balance frames longest-first, and do not depend on input order")
    func shares() throws {
        let list = sequences([90, 10, 10, 10, 40, 40, 10, 5])
        let shares = Shard.assign(list, count: 3)
        #expect(shares.flatMap { $0 }.map(\.name).sorted() == list.map(\.name).sorted())
        let loads = shares.map { $0.map(\.weight).reduce(0, +) }
        // Longest first: 90 | 40 | 40, then the 10s and 5 to the lightest: 90 | 40+10+10 | 40+10+10+5... balanced to 90/65/60.
        #expect(loads.max()! - loads.min()! <= 30, "\(loads)")
        #expect(shares[0].map(\.name) == ["s0"])
        // Each share keeps the dataset's order.
        for s in shares { #expect(s.map(\.name) == s.map(\.name).sorted { Int($0.dropFirst())! < Int($1.dropFirst())! }) }
        let reversed = Shard.assign(list.reversed(), count: 3).map { Set($0.map(\.name)) }
        #expect(reversed == shares.map { Set($0.map(\.name)) })
        #expect(try Shard(parsing: "1/3").share(of: list).map(\.name) == shares[1].map(\.name))
        // More tasks than sequences: the extra tasks get nothing.
        #expect(Shard.assign(sequences([1, 1]), count: 4).map(\.count) == [1, 1, 0, 0])
    }
}
