import Autograd
import Tensor
import TestSupport

/// Central finite differences against an op's pullback. The op runs on `inputs` as leaves; the
/// scalar is L = Σ out ⊙ R with R seeded random in [-1, 1), summed in double. For up to
/// `maxElements` elements of each input (evenly spread), the numeric derivative
/// (L(x + h) − L(x − h)) / 2h is compared with the analytic one:
/// |analytic − numeric| <= tol · (max |numeric| of that input + |numeric|).
/// float32 forward passes limit the numeric side to ~1e-4 of the gradient's scale here, so the
/// default tol 5e-3 leaves a margin while a wrong pullback (a missing term, a transposed product,
/// a wrong sign) misses by O(1).
struct GradientCheck: CustomStringConvertible {
    struct Input { let index: Int; let worstError: Float; let scale: Float; let failures: Int; let checked: Int }
    let inputs: [Input]
    var passed: Bool { inputs.allSatisfy { $0.failures == 0 } }
    var description: String {
        inputs.map { "input \($0.index): \($0.failures)/\($0.checked) off, worst |error| \($0.worstError) at scale \($0.scale)" }
            .joined(separator: "; ")
    }

    /// `wrt`: the inputs that are leaves requiring a gradient (default: all); the others are constants.
    init(_ inputs: [Tensor], wrt: Set<Int>? = nil, h: Float = 1e-2, tol: Float = 5e-3, maxElements: Int = 48,
         seed: UInt64 = 7, _ f: ([Variable]) -> Variable) {
        let wrt = wrt ?? Set(inputs.indices)
        let leaves = inputs.enumerated().map { Variable($1, requiresGrad: wrt.contains($0)) }
        let out = f(leaves)
        let r = randomTensor(out.shape, seed: seed)
        out.backward(seed: r)
        func loss(_ xs: [Tensor]) -> Double {
            let y = f(xs.map { Variable($0) }).value
            var s = 0.0
            for i in 0..<y.count { s += Double(y.storage[i]) * Double(r.storage[i]) }
            return s
        }
        var results: [Input] = []
        for i in inputs.indices.sorted() where wrt.contains(i) {
            let analytic = leaves[i].grad ?? Tensor(zeros: inputs[i].shape)
            let n = inputs[i].count, step = max(1, n / maxElements)
            var numeric: [(Int, Float)] = []
            for e in stride(from: 0, to: n, by: step) {
                var plus = inputs, minus = inputs
                plus[i].storage[e] += h
                minus[i].storage[e] -= h
                numeric.append((e, Float((loss(plus) - loss(minus)) / Double(2 * h))))
            }
            let scale = numeric.map { abs($0.1) }.max() ?? 0
            var worst: Float = 0, failures = 0
            for (e, num) in numeric {
                let err = abs(analytic.storage[e] - num)
                worst = max(worst, err)
                if !(err <= tol * (scale + abs(num))) { failures += 1 }
            }
            results.append(Input(index: i, worstError: worst, scale: scale, failures: failures, checked: numeric.count))
        }
        self.inputs = results
    }
}

/// Values in [-scale, scale) kept at least `margin` away from zero (for ReLU's kink).
func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.05) -> Tensor {
    var t = randomTensor(shape, seed: seed, scale: 1)
    for i in 0..<t.count { t.storage[i] = t.storage[i] < 0 ? t.storage[i] - margin : t.storage[i] + margin }
    return t
}
