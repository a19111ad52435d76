// The trainer's random stream: one seeded generator whose whole position is one 64-bit word, so
// a resumable state can store it and a resumed run draws exactly what the uninterrupted run drew.
import Foundation
import Metrics

/// The project's seeded SplitMix64 (Metrics.SeededRandom) plus the draws RTS needs, each with a fixed number of words per call so the
/// stream never depends on floating-point rounding of an earlier draw.
public struct TrainingRandom: RandomNumberGenerator, Sendable, Equatable {
    private var generator: SeededRandom

    /// The generator's entire position; `TrainingRandom(state: r.state)` continues `r` exactly.
    public var state: UInt64 {
        get { generator.state }
        set { generator.state = newValue }
    }

    public init(seed: UInt64) { generator = SeededRandom(seed: seed) }
    public init(state: UInt64) { generator = SeededRandom(seed: state) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1), 53 random bits (one word).
    public mutating func unit() -> Double { generator.unit() }

    /// Uniform in [lo, hi) (one word), as numpy's `rng.uniform(lo, hi)`.
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform integer in 0..<n (one word; the modulo bias is below 2^-40 for any n here).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "below(\(n))")
        return Int(next() % UInt64(n))
    }

    /// Standard normal (Box-Muller, two words).
    public mutating func normal() -> Double {
        let u1 = 1 - unit(), u2 = unit()   // u1 in (0, 1]: log is finite
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// An index drawn with the given (positive, not necessarily normalised) weights (one word).
    public mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = unit() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.count - 1
    }

    /// A random permutation of 0..<n (Fisher-Yates, n - 1 words), as `rng.permutation(n)`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, below(i + 1)) } }
        return p
    }
}

