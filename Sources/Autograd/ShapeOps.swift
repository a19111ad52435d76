// Layout ops: their pullbacks move gradients back to where the values came from.
import Tensor

extension Variable {
    /// Same elements, new shape (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) -> Variable {
        let old = shape
        return Variable.result(value.reshaped(newShape), "reshape", [self]) { g in [g.reshaped(old)] }
    }

    /// `x.permute(order)`.
    public func permuted(_ order: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Variable.result(value.permuted(order), "permute", [self]) { g in [g.permuted(inverse)] }
    }

    /// `x.narrow(axis, start, length)`; the pullback scatters into zeros.
    public func slice(axis: Int, _ range: Range<Int>) -> Variable {
        let full = shape, ax = axis < 0 ? full.count + axis : axis
        return Variable.result(value.slice(axis: ax, range), "slice", [self]) { g in
            let outer = full[..<ax].reduce(1, *), inner = full[(ax + 1)...].reduce(1, *)
            var out = Tensor(zeros: full)
            for o in 0..<outer {
                let dst = (o * full[ax] + range.lowerBound) * inner, src = o * range.count * inner
                for i in 0..<(range.count * inner) { out.storage[dst + i] = g.storage[src + i] }
            }
            return [out]
        }
    }

    /// `torch.cat(parts, axis)`.
    public static func concatenate(_ parts: [Variable], axis: Int) -> Variable {
        let ax = axis < 0 ? parts[0].shape.count + axis : axis
        let value = Tensor.concatenate(parts.map(\.value), axis: ax)
        return result(value, "concatenate", parts) { g in
            var start = 0
            return parts.map { p in
                defer { start += p.shape[ax] }
                return p.requiresGrad ? g.slice(axis: ax, start..<(start + p.shape[ax])) : nil
            }
        }
    }
}
