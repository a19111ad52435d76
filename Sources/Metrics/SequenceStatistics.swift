// Per-sequence statistics of a per-frame measure, as DAVIS defines them
// (davis2017-evaluation davis2017/utils.py: db_statistics), with decay made correct for any length.

/// Mean, recall and decay of one object's per-frame J or F.
public struct SequenceSummary: Hashable, Sendable, Codable {
    /// Mean over frames, NaN frames skipped (`nanmean`); nil when no frame has a value.
    public var mean: Double?
    /// Fraction of frames scoring above 0.5 (a NaN frame counts as a miss, as in DAVIS).
    public var recall: Double?
    /// Mean of the first quarter minus mean of the last quarter (positive = the score decays).
    public var decay: Double?

    public init(mean: Double?, recall: Double?, decay: Double?) {
        self.mean = mean
        self.recall = recall
        self.decay = decay
    }
}

public enum SequenceStatistics {
    /// DAVIS's mean, recall and decay of `values` (one entry per frame).
    public static func summarize(_ values: [Double]) -> SequenceSummary {
        guard !values.isEmpty else { return SequenceSummary(mean: nil, recall: nil, decay: nil) }
        let recall = Double(values.filter { $0 > 0.5 }.count) / Double(values.count)
        return SequenceSummary(mean: nanMean(values[...]), recall: recall, decay: decay(values))
    }

    /// The five bin edges of the decay quartiles for `frameCount` frames:
    /// `round(linspace(1, n, 5) + 1e-10) - 1`, with numpy's ties-to-even rounding (the `1e-10`
    /// turns exact halves into round-half-up). Bin k is frames `edges[k]...edges[k + 1]`; DAVIS's
    /// slices include both ends, so neighbouring bins share a frame, and that is kept.
    ///
    /// This is where the official code goes wrong: it casts these edges with `astype(np.uint8)`,
    /// so past 256 frames they wrap modulo 256 (`officialDAVIS2017Edges`). For 300 frames the
    /// edges become 0, 75, 150, 224, 43; the last bin `values[224:44]` is empty and decay is NaN.
    /// For 400 frames they become 0, 100, 200, 43, 143: the "last quarter" is frames 43...143 and
    /// decay is a silently wrong number. Here the edges stay `Int`, so for up to 256 frames the
    /// result equals the official one exactly and past that it is the quartile decay it was meant to be.
    public static func decayEdges(frameCount n: Int) -> [Int] {
        precondition(n >= 1, "decay needs at least one frame")
        let step = Double(n - 1) / 4
        return (0...4).map { k in
            let x = k == 4 ? Double(n) : 1 + Double(k) * step  // numpy's linspace sets the end point exactly
            return Int((x + 1e-10).rounded(.toNearestOrEven)) - 1
        }
    }

    /// The bin edges the official DAVIS 2017 code actually uses (`decayEdges` cast to uint8),
    /// kept only to document and test the difference.
    public static func officialDAVIS2017Edges(frameCount n: Int) -> [Int] {
        decayEdges(frameCount: n).map { $0 & 0xff }
    }

    /// First-quarter mean minus last-quarter mean with the given edges; bins follow Python slicing
    /// (`values[a : b + 1]`, empty when `a > b`), and an empty bin makes the decay nil (DAVIS: NaN).
    public static func decay(_ values: [Double], edges: [Int]? = nil) -> Double? {
        guard !values.isEmpty else { return nil }
        let e = edges ?? decayEdges(frameCount: values.count)
        precondition(e.count == 5, "decay needs five bin edges, got \(e.count)")
        func bin(_ k: Int) -> ArraySlice<Double> {
            let lower = min(e[k], values.count), upper = min(e[k + 1] + 1, values.count)
            return lower < upper ? values[lower..<upper] : []
        }
        guard let first = nanMean(bin(0)), let last = nanMean(bin(3)) else { return nil }
        return first - last
    }

    /// Mean of the non-NaN values; nil when there are none.
    public static func nanMean(_ values: ArraySlice<Double>) -> Double? {
        var sum = 0.0, count = 0
        for v in values where !v.isNaN { sum += v; count += 1 }
        return count == 0 ? nil : sum / Double(count)
    }

    /// Mean of the non-nil values; nil when there are none (aggregating objects' optional figures).
    public static func mean(_ values: [Double?]) -> Double? {
        nanMean(values.compactMap { $0 }[...])
    }
}
