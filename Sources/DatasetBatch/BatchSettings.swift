import Foundation
import Metrics
import Tracking
import VideoIO

/// How the sequences' prompts are made from the ground truth (manifest boxes are used as given).
public enum InitMode: String, Codable, Sendable, CaseIterable {
    /// DAVIS semi-supervised: each object's mask on its first annotated frame is its prompt.
    case mask
    /// The box around that mask.
    case box
}

/// Everything that decides a batch's results, kept in `batch-plan.json`: every shard (and a
/// re-run) must agree with it, so a folder never mixes results of two settings.
public struct BatchSettings: Codable, Sendable, Equatable {
    /// The dataset (absolute path of the DAVIS folder or manifest).
    public var dataset: String
    /// The selected sequences in dataset order: all shards' together.
    public var sequences: [String]
    public var initMode: InitMode
    /// The model and plugin as named (`default`, a registry name or a path), not where they were
    /// found: tasks on other machines find the bundled files elsewhere.
    public var model: String
    public var plugin: String?
    public var route: String
    public var precision: String
    public var tracker: TrackerSettings
    public var merge: String
    public var skipEnds: Bool
    public var boundaryThreshold: Double
    public var flickerWindow: Int

    public init(dataset: String, sequences: [String], initMode: InitMode, model: String, plugin: String?, route: String,
                precision: String, tracker: TrackerSettings, merge: String, skipEnds: Bool = false,
                boundaryThreshold: Double = BoundaryMeasure.davisThreshold,
                flickerWindow: Int = StabilityMeasures.defaultFlickerWindow) {
        self.dataset = dataset
        self.sequences = sequences
        self.initMode = initMode
        self.model = model
        self.plugin = plugin
        self.route = route
        self.precision = precision
        self.tracker = tracker
        self.merge = merge
        self.skipEnds = skipEnds
        self.boundaryThreshold = boundaryThreshold
        self.flickerWindow = flickerWindow
    }

    /// Writes the plan to a new folder, or checks it against the one there; names the first
    /// setting that differs.
    public func claim(_ layout: BatchLayout) throws {
        if let existing = try RecordFile.read(BatchSettings.self, from: layout.plan) {
            guard existing != self else { return }
            throw BatchError.otherSettings(path: layout.root.path, field: Self.firstDifference(existing, self))
        }
        try FileManager.default.createDirectory(at: layout.root, withIntermediateDirectories: true)
        try AtomicFile.write(try RecordFile.encoder.encode(self), to: layout.plan)
    }

    public static func read(_ layout: BatchLayout) throws -> BatchSettings {
        guard let plan = try RecordFile.read(BatchSettings.self, from: layout.plan) else { throw BatchError.noPlan(path: layout.root.path) }
        return plan
    }

    static func firstDifference(_ a: BatchSettings, _ b: BatchSettings) -> String {
        func fields(_ s: BatchSettings) -> [String: String] {
            let data = (try? RecordFile.encoder.encode(s)) ?? Data()
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return object.mapValues { v in
                (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
            }
        }
        let (x, y) = (fields(a), fields(b))
        for key in Set(x.keys).union(y.keys).sorted() where x[key] != y[key] {
            return "\(key): \(x[key]?.prefix(120) ?? "none") there, \(y[key]?.prefix(120) ?? "none") now"
        }
        return "the settings"
    }
}
