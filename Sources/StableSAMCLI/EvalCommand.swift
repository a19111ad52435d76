import ArgumentParser
import Evaluation
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
        var notes: [String] = []
        let tracks = try EvalPairing.tracks(
            prediction: try MaskSequenceReader.read(pred, voidIndex: false),
            groundTruth: try MaskSequenceReader.read(gt, voidIndex: true),
            predictionRoot: pred, allowMissing: allowMissing, skipEnds: skipEnds, notes: &notes)
        for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let report = VideoEvaluation.evaluate(tracks, boundaryThreshold: boundThreshold, flickerWindow: flickerWindow)
        print(ReportTable.evaluation(report))
        if let json { try ReportFiles.writeJSON(report, to: json) }
        if let html { try ReportFiles.write(HTMLReport.evaluation(report, prediction: pred, groundTruth: gt), to: html) }
    }
}
