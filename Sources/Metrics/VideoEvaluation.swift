// Scoring predicted mask sequences against ground truth: per object, per sequence, overall.
// Aggregation follows DAVIS 2017: the overall figures average objects (not sequences), and
// J&F is the mean of the J mean and the F mean.

/// One object's masks through one sequence, prediction and ground truth frame by frame.
public struct ObjectTrack: Sendable {
    public var sequence: String
    public var object: String
    public var prediction: [BinaryMask]
    public var groundTruth: [BinaryMask]
    /// Per-frame void pixels (DAVIS: ground-truth index 255), excluded from J and F; nil for none.
    public var void: [[Bool]?]?

    public init(sequence: String, object: String, prediction: [BinaryMask], groundTruth: [BinaryMask], void: [[Bool]?]? = nil) {
        precondition(prediction.count == groundTruth.count,
                     "\(sequence)/\(object): \(prediction.count) predicted frames vs \(groundTruth.count) ground-truth frames")
        self.sequence = sequence
        self.object = object
        self.prediction = prediction
        self.groundTruth = groundTruth
        self.void = void
    }
}

public struct ObjectEvaluation: Sendable, Codable {
    public var sequence: String
    public var object: String
    public var frames: Int
    public var j: SequenceSummary
    public var f: SequenceSummary
    /// (J mean + F mean) / 2.
    public var jAndF: Double?
    /// Stability of the prediction (with `jTemporalVariance` filled in).
    public var stability: TemporalStability
    /// The same measures on the ground truth: the motion a perfect prediction would show.
    public var groundTruthStability: TemporalStability
    public var jPerFrame: [Double]
    public var fPerFrame: [Double]
}

/// Means over a group of objects (a sequence, or everything).
public struct GroupEvaluation: Sendable, Codable {
    public var name: String
    public var objects: Int
    public var jMean: Double?
    public var jRecall: Double?
    public var jDecay: Double?
    public var fMean: Double?
    public var fRecall: Double?
    public var fDecay: Double?
    public var jAndF: Double?
    public var consecutiveIoU: Double?
    public var areaVolatility: Double?
    public var centreJitter: Double?
    public var flicker: Double?
    public var jTemporalVariance: Double?
}

public struct EvaluationReport: Sendable, Codable {
    public var boundaryThreshold: Double
    public var flickerWindow: Int
    public var objects: [ObjectEvaluation]
    public var sequences: [GroupEvaluation]
    public var overall: GroupEvaluation
}

public enum VideoEvaluation {
    public static func evaluate(
        _ track: ObjectTrack, boundaryThreshold: Double = BoundaryMeasure.davisThreshold,
        flickerWindow: Int = StabilityMeasures.defaultFlickerWindow
    ) -> ObjectEvaluation {
        var j: [Double] = [], f: [Double] = []
        for t in track.prediction.indices {
            let void = track.void?[t]
            j.append(MaskMetrics.iou(track.prediction[t], track.groundTruth[t], void: void))
            f.append(BoundaryMeasure.fMeasure(prediction: track.prediction[t], groundTruth: track.groundTruth[t],
                                              void: void, threshold: boundaryThreshold).f)
        }
        let js = SequenceStatistics.summarize(j), fs = SequenceStatistics.summarize(f)
        let jAndF: Double? = if let a = js.mean, let b = fs.mean { (a + b) / 2 } else { nil }
        return ObjectEvaluation(
            sequence: track.sequence, object: track.object, frames: j.count, j: js, f: fs, jAndF: jAndF,
            stability: StabilityMeasures.measure(track.prediction, j: j, flickerWindow: flickerWindow),
            groundTruthStability: StabilityMeasures.measure(track.groundTruth, flickerWindow: flickerWindow),
            jPerFrame: j, fPerFrame: f)
    }

    /// Evaluates every track and aggregates per sequence (in first-seen order) and overall.
    public static func evaluate(
        _ tracks: [ObjectTrack], boundaryThreshold: Double = BoundaryMeasure.davisThreshold,
        flickerWindow: Int = StabilityMeasures.defaultFlickerWindow
    ) -> EvaluationReport {
        let objects = tracks.map { evaluate($0, boundaryThreshold: boundaryThreshold, flickerWindow: flickerWindow) }
        return aggregate(objects, boundaryThreshold: boundaryThreshold, flickerWindow: flickerWindow)
    }

    /// Objects scored apart (one sequence at a time, on several machines) as one report: per
    /// sequence in first-seen order, and overall.
    public static func aggregate(_ objects: [ObjectEvaluation], boundaryThreshold: Double, flickerWindow: Int) -> EvaluationReport {
        var order: [String] = []
        for o in objects where !order.contains(o.sequence) { order.append(o.sequence) }
        let sequences = order.map { name in group(name, objects.filter { $0.sequence == name }) }
        return EvaluationReport(boundaryThreshold: boundaryThreshold, flickerWindow: flickerWindow,
                                objects: objects, sequences: sequences, overall: group("overall", objects))
    }

    /// Means of the objects' figures, each skipping objects where the figure is undefined.
    public static func group(_ name: String, _ objects: [ObjectEvaluation]) -> GroupEvaluation {
        func m(_ key: (ObjectEvaluation) -> Double?) -> Double? { SequenceStatistics.mean(objects.map(key)) }
        let jMean = m { $0.j.mean }, fMean = m { $0.f.mean }
        let jAndF: Double? = if let a = jMean, let b = fMean { (a + b) / 2 } else { nil }
        return GroupEvaluation(
            name: name, objects: objects.count,
            jMean: jMean, jRecall: m { $0.j.recall }, jDecay: m { $0.j.decay },
            fMean: fMean, fRecall: m { $0.f.recall }, fDecay: m { $0.f.decay }, jAndF: jAndF,
            consecutiveIoU: m { $0.stability.consecutiveIoU }, areaVolatility: m { $0.stability.areaVolatility },
            centreJitter: m { $0.stability.centreJitter }, flicker: m { $0.stability.flicker },
            jTemporalVariance: m { $0.stability.jTemporalVariance })
    }
}
