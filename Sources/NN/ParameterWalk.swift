import Tensor

/// A layer whose parameters can be walked by their checkpoint keys.
///
/// `visit` is the single source of parameter names: loading, saving, parameter counting and
/// (later) the optimiser all walk the same tree, so a key can never be spelled two ways.
public protocol Layer: AnyObject {
    func visit(_ walk: ParameterWalk) throws
}

/// Carries the dotted key prefix down the module tree (`blocks.0.attn.`) and hands every
/// parameter, with its full key, to one action.
public struct ParameterWalk {
    public let prefix: String
    private let action: (String, inout Tensor) throws -> Void

    public init(prefix: String = "", action: @escaping (String, inout Tensor) throws -> Void) {
        self.prefix = prefix
        self.action = action
    }

    /// A leaf parameter or buffer, e.g. `weight`.
    public func param(_ name: String, _ tensor: inout Tensor) throws {
        try action(prefix + name, &tensor)
    }

    /// A child module stored under `name` (`attn`, `blocks.3`).
    public func module(_ name: String, _ layer: any Layer) throws {
        try layer.visit(scope(name))
    }

    /// Children of a `ModuleList` / `Sequential`: keys `name.0.`, `name.1.`, ...
    public func modules(_ name: String, _ layers: [any Layer]) throws {
        for (i, layer) in layers.enumerated() { try layer.visit(scope("\(name).\(i)")) }
    }

    public func scope(_ name: String) -> ParameterWalk {
        ParameterWalk(prefix: prefix + name + ".", action: action)
    }
}

extension Layer {
    /// Every parameter key with its shape, in visiting order.
    public func parameterShapes() -> [(key: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        // The action cannot throw, so neither can the walk.
        try! visit(ParameterWalk { key, t in out.append((key, t.shape)) })
        return out
    }

    /// Number of scalar parameters (what PyTorch's `sum(p.numel())` reports).
    public var parameterCount: Int {
        parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Current values by key, e.g. for saving as safetensors.
    public func namedParameters() -> [(key: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        try! visit(ParameterWalk { key, t in out.append((key, t)) })
        return out
    }
}
