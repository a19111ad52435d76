import Tensor

/// Element-wise closeness `|a - e| <= atol + rtol * |e|` (llm.c's rule), with the worst element named.
public struct Closeness: CustomStringConvertible {
    public let maxAbsError: Float
    public let worstIndex: Int
    public let failures: Int
    public let count: Int
    public var passed: Bool { failures == 0 }
    public var description: String {
        "\(failures)/\(count) elements out of tolerance; max |error| \(maxAbsError) at flat index \(worstIndex)"
    }
}

public func compare(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float) -> Closeness {
    precondition(actual.count == expected.count, "compare: \(actual.count) vs \(expected.count) elements")
    var worst: Float = 0, worstIndex = 0, failures = 0
    for i in 0..<actual.count {
        let err = abs(actual[i] - expected[i])
        if !(err <= atol + rtol * abs(expected[i])) { failures += 1 }
        if err > worst || err.isNaN { worst = err; worstIndex = i }
    }
    return Closeness(maxAbsError: worst, worstIndex: worstIndex, failures: failures, count: actual.count)
}

public func compare(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float) -> Closeness {
    precondition(actual.shape == expected.shape, "compare: shapes \(actual.shape) vs \(expected.shape)")
    return compare(actual.storage, expected.storage, atol: atol, rtol: rtol)
}

/// A seeded random tensor with values in [-scale, scale).
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
    })
}
