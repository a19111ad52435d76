// The trainable side of Stable-SAM: the plugin's parameters as autograd leaves, by checkpoint key.
import Autograd
import NN
import SegmentAnything
import Tensor

/// Every DSP/DRP parameter of a `StableSAMPlugin` as a `Variable` that requires a gradient, keyed
/// and ordered as the plugin's own parameter walk (`dsp.proj.weight`, ..., `drp.mlp.3.bias`): the
/// same names as the plugin file, so gradients and optimiser state line up with PyTorch's
/// `plugin.named_parameters()`.
public final class PluginParameters {
    public let keys: [String]
    public let variables: [Variable]
    private let index: [String: Int]

    /// Leaves holding copies of the plugin's current weights.
    public init(_ plugin: StableSAMPlugin) {
        let named = plugin.namedParameters()
        keys = named.map(\.key)
        variables = named.map { Variable($0.tensor, requiresGrad: true) }
        index = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
    }

    public subscript(key: String) -> Variable {
        guard let i = index[key] else { preconditionFailure("no plugin parameter \(key); have \(keys)") }
        return variables[i]
    }

    /// Gradients by key after `backward()` (nil where none flowed).
    public var gradients: [(key: String, grad: Tensor?)] { zip(keys, variables).map { ($0, $1.grad) } }

    /// Copies the current values into `plugin` (same keys and shapes), e.g. after optimiser steps.
    public func write(to plugin: StableSAMPlugin) {
        try! plugin.visit(ParameterWalk { key, t in
            let v = self[key].value
            precondition(v.shape == t.shape, "\(key): \(v.shape) vs the plugin's \(t.shape)")
            t = v
        })
    }
}
