import Foundation
import Metrics

/// Prediction and ground-truth sequences paired into the tracks `VideoEvaluation` scores.
public enum EvalPairing {
    /// Pairs sequences by name (any two single sequences pair), then objects by id, checking frame counts and sizes.
    /// `notes`: prediction objects without ground truth (not scored), one line each.
    public static func tracks(prediction: [MaskSequence], groundTruth: [MaskSequence], predictionRoot: String,
                              allowMissing: Bool, skipEnds: Bool, notes: inout [String]) throws -> [ObjectTrack] {
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
                notes.append("sequence \(g.name): prediction objects \(extra.joined(separator: ", ")) have no ground truth; not scored")
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
