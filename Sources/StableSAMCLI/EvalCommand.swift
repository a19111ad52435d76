import ArgumentParser
import Foundation
import Metrics
import VideoIO

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score predicted masks against ground truth: DAVIS J, F, J&F, recall, decay, and temporal stability.",
        discussion: """
            --pred and --gt each take one sequence or a folder of sequences (matched by name). A sequence is \
            DAVIS-style palette PNGs (index = object id, 255 = void in the ground truth), folders of per-object \
            0/255 PNGs (folder name = object id), or the frames/*.json written by `stablesam track` (a track \
            output folder works as is). Frames pair up in order; counts and sizes must match. \
            Overall figures average objects, as DAVIS 2017 does. Decay uses DAVIS's quartile bins, kept correct \
            past 256 frames (the official code's uint8 bin indices wrap there).
            """)

    @Option(help: "Predicted masks (folder).")
    var pred: String

    @Option(help: "Ground-truth masks (folder).")
    var gt: String

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Option(help: "Also write a self-contained HTML report (inline SVG charts) to this file.")
    var html: String?

    @Option(help: "Boundary tolerance for F: a fraction of the image diagonal (< 1) or whole pixels (>= 1).")
    var boundThreshold: Double = BoundaryMeasure.davisThreshold

    @Option(help: "Flicker counts a pixel flip that reverts within this many frames.")
    var flickerWindow: Int = StabilityMeasures.defaultFlickerWindow

    @Flag(help: "Score ground-truth objects the prediction lacks as empty masks instead of failing.")
    var allowMissing = false

    @Flag(help: "Drop the first and last frame of every sequence, as DAVIS 2017 semi-supervised evaluation does.")
    var skipEnds = false

    func validate() throws {
        guard boundThreshold > 0 else { throw ValidationError("--bound-threshold must be positive") }
        if boundThreshold >= 1, boundThreshold != boundThreshold.rounded() {
            throw ValidationError("--bound-threshold of 1 or more is in whole pixels")
        }
        guard flickerWindow >= 1 else { throw ValidationError("--flicker-window must be at least 1") }
    }

    func run() throws {
        let tracks = try EvalPairing.tracks(
            prediction: try MaskSequenceReader.read(pred, voidIndex: false),
            groundTruth: try MaskSequenceReader.read(gt, voidIndex: true),
            predictionRoot: pred, allowMissing: allowMissing, skipEnds: skipEnds)
        let report = VideoEvaluation.evaluate(tracks, boundaryThreshold: boundThreshold, flickerWindow: flickerWindow)
        print(ReportTable.evaluation(report))
        if let json { try ReportFiles.writeJSON(report, to: json) }
        if let html { try ReportFiles.write(HTMLReport.evaluation(report, prediction: pred, groundTruth: gt), to: html) }
    }
}

enum EvalPairing {
    /// Pairs sequences by name (any two single sequences pair), then objects by id, checking frame counts and sizes.
    static func tracks(prediction: [MaskSequence], groundTruth: [MaskSequence], predictionRoot: String,
                       allowMissing: Bool, skipEnds: Bool) throws -> [ObjectTrack] {
        var tracks: [ObjectTrack] = []
        for g in groundTruth {
            let p: MaskSequence
            if prediction.count == 1 && groundTruth.count == 1 {
                p = prediction[0]
            } else if let match = prediction.first(where: { $0.name == g.name }) {
                p = match
            } else {
                throw EvalInputError.missingSequence(name: g.name, prediction: predictionRoot, available: prediction.map(\.name))
            }
            guard p.frameCount == g.frameCount else {
                throw EvalInputError.frameCountMismatch(sequence: g.name, prediction: p.directory, predicted: p.frameCount,
                                                        groundTruth: g.directory, expected: g.frameCount)
            }
            guard p.width == g.width, p.height == g.height else {
                throw EvalInputError.sizeMismatch(file: p.frameFiles[0], width: p.width, height: p.height,
                                                  expectedFile: g.frameFiles[0], expectedWidth: g.width, expectedHeight: g.height)
            }
            let missing = g.objectIDs.filter { p.objects[$0] == nil }
            if !missing.isEmpty && !allowMissing {
                throw EvalInputError.missingObjects(sequence: g.name, ids: missing, prediction: p.directory, available: p.objectIDs)
            }
            let extra = p.objectIDs.filter { g.objects[$0] == nil }
            if !extra.isEmpty {
                FileHandle.standardError.write(Data(
                    "note: sequence \(g.name): prediction objects \(extra.joined(separator: ", ")) have no ground truth; not scored\n".utf8))
            }
            let range = skipEnds && g.frameCount > 2 ? 1..<(g.frameCount - 1) : 0..<g.frameCount
            for id in g.objectIDs {
                let gtMasks = g.objects[id]!
                let predMasks = p.objects[id] ?? Array(repeating: .empty(width: g.width, height: g.height), count: g.frameCount)
                tracks.append(ObjectTrack(sequence: g.name, object: id, prediction: Array(predMasks[range]),
                                          groundTruth: Array(gtMasks[range]), void: g.void.map { Array($0[range]) }))
            }
        }
        return tracks
    }
}

enum ReportFiles {
    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try write(String(decoding: try encoder.encode(value), as: UTF8.self), to: path)
    }

    static func write(_ text: String, to path: String) throws {
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: path))
    }
}

/// Aligned plain-text tables.
enum ReportTable {
    static func number(_ v: Double?, digits: Int = 3) -> String {
        guard let v, v.isFinite else { return "-" }
        return String(format: "%.\(digits)f", v)
    }

    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, s in
                c == 0 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - s.count) + s
            }.joined(separator: "  ")
        }
        let rule = String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    static let evaluationHeader = ["sequence/object", "frames", "J&F", "J-M", "J-R", "J-D", "F-M", "F-R", "F-D",
                                   "cIoU", "areaVol", "jitter", "flicker", "varJ"]

    static func evaluation(_ r: EvaluationReport) -> String {
        var rows: [[String]] = []
        for s in r.sequences {
            for o in r.objects where o.sequence == s.name {
                let st = o.stability
                rows.append(["\(o.sequence)/\(o.object)", "\(o.frames)", number(o.jAndF), number(o.j.mean), number(o.j.recall),
                             number(o.j.decay), number(o.f.mean), number(o.f.recall), number(o.f.decay),
                             number(st.consecutiveIoU), number(st.areaVolatility), number(st.centreJitter, digits: 2),
                             number(st.flicker, digits: 4), number(st.jTemporalVariance, digits: 4)])
            }
            rows.append(group("\(s.name) (mean of \(s.objects))", s))
        }
        rows.append(group("overall (\(r.overall.objects) objects)", r.overall))
        return render(evaluationHeader, rows)
            + "\nJ-M/R/D: region mean, recall, decay; F: boundary (tolerance \(r.boundaryThreshold)); cIoU: consecutive-frame IoU; "
            + "areaVol: relative area change; jitter: box-centre high-pass RMS (px); flicker: window \(r.flickerWindow) frames; "
            + "varJ: frame-to-frame variance of J."
    }

    static func group(_ label: String, _ g: GroupEvaluation) -> [String] {
        [label, "", number(g.jAndF), number(g.jMean), number(g.jRecall), number(g.jDecay), number(g.fMean), number(g.fRecall),
         number(g.fDecay), number(g.consecutiveIoU), number(g.areaVolatility), number(g.centreJitter, digits: 2),
         number(g.flicker, digits: 4), number(g.jTemporalVariance, digits: 4)]
    }
}
