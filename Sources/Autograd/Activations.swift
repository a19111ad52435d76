// Element-wise non-linearities and softmax over the last axis.
#if canImport(Glibc)
import Glibc
#endif
import Tensor

extension Variable {
    /// Exact GELU (`nn.GELU()`): x·Φ(x); derivative Φ(x) + x·φ(x).
    public func gelu() -> Variable {
        let x = value
        let y = x.gelu()
        return Variable.result(y, "gelu", [self]) { g in [x.geluBackward(grad: g, output: y)] }
    }

    /// max(x, 0); the pullback passes g where the output is positive (PyTorch's threshold_backward).
    public func relu() -> Variable {
        let y = value.relu()
        return Variable.result(y, "relu", [self]) { g in
            var dx = g
            for i in 0..<y.count where !(y.storage[i] > 0) { dx.storage[i] = 0 }
            return [dx]
        }
    }

    /// tanh; derivative 1 − y².
    public func tanh() -> Variable {
        let y = value.map { tanhf($0) }
        return Variable.result(y, "tanh", [self]) { g in
            var dx = g
            for i in 0..<y.count { dx.storage[i] *= 1 - y.storage[i] * y.storage[i] }
            return [dx]
        }
    }

    /// 1 / (1 + e^−x); derivative y(1 − y).
    public func sigmoid() -> Variable {
        let y = value.sigmoid()
        return Variable.result(y, "sigmoid", [self]) { g in
            var dx = g
            for i in 0..<y.count { dx.storage[i] *= y.storage[i] * (1 - y.storage[i]) }
            return [dx]
        }
    }

    /// Softmax over the last axis; pullback y ⊙ (g − Σ g·y) per row.
    public func softmax() -> Variable {
        let y = value.softmax(), c = value.dim(-1)
        return Variable.result(y, "softmax", [self]) { g in
            var dx = g
            for start in stride(from: 0, to: y.count, by: c) {
                var dot: Float = 0
                for j in start..<(start + c) { dot += g.storage[j] * y.storage[j] }
                for j in start..<(start + c) { dx.storage[j] = y.storage[j] * (g.storage[j] - dot) }
            }
            return [dx]
        }
    }
}
