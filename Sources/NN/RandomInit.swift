import Tensor

/// A small deterministic generator (SplitMix64): random weights for benchmarks and tests need
/// no Foundation and give the same numbers on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    public mutating func symmetric() -> Float { Float(Double(next() >> 11) * 0x1.0p-53) * 2 - 1 }
}

extension Layer {
    /// Fills every parameter with seeded uniform values scaled by 1/√fan-in (norm weights near 1),
    /// so activations stay in range: for benchmarks of official architectures without their weights.
    public func randomize(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        try! visit(ParameterWalk { key, t in
            // Norm scales and BatchNorm variances must stay positive and near 1.
            let isNormWeight = (key.hasSuffix("weight") && t.rank == 1) || key.hasSuffix("running_var")
            let fanIn = t.rank >= 2 ? t.shape.dropFirst().reduce(1, *) : t.count
            let scale = 1 / Float(max(fanIn, 1)).squareRoot()
            for i in 0..<t.count { t.storage[i] = isNormWeight ? 1 + 0.1 * rng.symmetric() : scale * rng.symmetric() }
        })
    }
}
