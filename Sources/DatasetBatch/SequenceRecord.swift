import Foundation
import Metrics

/// A sequence's `batch.json`: how it ended and its scores. Everything but `run` depends only on
/// the data and the settings, so shards on many machines and one process write the same record.
public struct SequenceRecord: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case done, failed }

    public var sequence: String
    public var status: Status
    /// Why it failed.
    public var error: String?
    /// Frames in the video (done sequences).
    public var frames: Int?
    public var objects: [Int]
    /// Per object, against the ground truth; nil where there is none.
    public var evaluation: [ObjectEvaluation]?
    /// How this run went (time, host, resumed): differs from run to run.
    public var run: RunInfo

    public struct RunInfo: Codable, Sendable {
        public var wallSeconds: Double
        /// Frames the tracker computed in this run (fewer than `frames` when resumed).
        public var framesTracked: Int
        public var resumed: Bool
        public var host: String
        public var finished: String
    }
}

enum RecordFile {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do { return try decoder.decode(type, from: Data(contentsOf: url)) } catch {
            throw BatchError.unreadable(path: url.path, reason: "\(error)")
        }
    }
}

extension SequenceRecord {
    /// The sequence's batch.json, nil before it has one.
    public static func read(_ layout: BatchLayout, sequence: String) throws -> SequenceRecord? {
        try RecordFile.read(SequenceRecord.self, from: layout.record(sequence))
    }
}
