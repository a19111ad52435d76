import Evaluation
import Foundation
import Metrics
import VideoIO

/// One evaluation across the dataset, built from the sequences' records (a one-process run and
/// `batch merge` over shards build it the same way, in the plan's order): per sequence, per
/// object and overall J&F, decay and stability, with every failed or unfinished sequence listed.
public struct DatasetReport: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var sequence: String
        /// "done", "failed", or "missing" (no record yet: a shard that has not run it).
        public var status: String
        public var error: String?
        public var frames: Int?
        public var objects: [Int]
        public var evaluated: Bool
    }

    public var dataset: String
    public var initMode: InitMode
    public var model: String
    public var sequences: [Entry]
    public var evaluation: EvaluationReport

    public var failed: [Entry] { sequences.filter { $0.status == "failed" } }
    public var missing: [Entry] { sequences.filter { $0.status == "missing" } }

    public static func build(_ settings: BatchSettings, layout: BatchLayout) throws -> DatasetReport {
        var entries: [Entry] = [], objects: [ObjectEvaluation] = []
        for name in settings.sequences {
            guard let r = try SequenceRecord.read(layout, sequence: name) else {
                entries.append(Entry(sequence: name, status: "missing", objects: [], evaluated: false))
                continue
            }
            entries.append(Entry(sequence: name, status: r.status.rawValue, error: r.error, frames: r.frames, objects: r.objects,
                                 evaluated: r.evaluation != nil))
            if r.status == .done { objects += r.evaluation ?? [] }
        }
        let evaluation = VideoEvaluation.aggregate(objects, boundaryThreshold: settings.boundaryThreshold,
                                                   flickerWindow: settings.flickerWindow)
        return DatasetReport(dataset: settings.dataset, initMode: settings.initMode, model: settings.model, sequences: entries,
                             evaluation: evaluation)
    }

    /// report.json, report.txt and report.html in the batch folder, each written atomically.
    public func write(_ layout: BatchLayout) throws {
        try AtomicFile.write(try RecordFile.encoder.encode(self), to: layout.reportJSON)
        try AtomicFile.write(Data((text + "\n").utf8), to: layout.reportText)
        try AtomicFile.write(Data(html.utf8), to: layout.reportHTML)
    }

    /// What finished and what did not, one line.
    public var tally: String {
        let done = sequences.filter { $0.status == "done" }
        var parts = ["\(done.count) of \(sequences.count) sequences done"]
        if !failed.isEmpty { parts.append("\(failed.count) failed") }
        if !missing.isEmpty { parts.append("\(missing.count) not run yet") }
        let unscored = done.filter { !$0.evaluated }.count
        if unscored > 0 { parts.append("\(unscored) not scored (no ground truth beyond the prompts)") }
        return parts.joined(separator: ", ")
    }

    public var text: String {
        var lines = ["dataset \(dataset) (init \(initMode.rawValue), model \(model)): \(tally)"]
        for e in failed { lines.append("failed: \(e.sequence): \(e.error ?? "-")") }
        for e in missing { lines.append("not run yet: \(e.sequence)") }
        lines.append("")
        lines.append(ReportTable.evaluation(evaluation))
        return lines.joined(separator: "\n")
    }

    public var html: String {
        var preface = "<p>\(HTMLReport.escape(tally)); init \(initMode.rawValue), model <code>\(HTMLReport.escape(model))</code>.</p>"
        let problems = failed + missing
        if !problems.isEmpty {
            preface += "<h2>Not scored</h2>" + HTMLReport.table(["sequence", "status", "error"],
                                                                problems.map { [$0.sequence, $0.status, $0.error ?? ""] })
        }
        return HTMLReport.evaluation(evaluation, prediction: "batch of \(sequences.count) sequences", groundTruth: dataset,
                                     preface: preface, title: "StableSAM batch report")
    }
}
