// A small reverse-mode automatic differentiation layer on `Tensor`, for training Stable-SAM's
// plugins on a frozen SAM (issue 13). Tape-free, as micrograd and tinygrad: every op result keeps
// its parents and a closure that maps the output's gradient to its parents' gradients; `backward()`
// walks that graph once in reverse topological order.
//
// Frozen weights are plain `Variable(tensor)` leaves (`requiresGrad == false`): no op ever computes
// or stores a gradient for them, and an op none of whose inputs requires a gradient records no
// closure at all (its result is a constant), so the frozen part of a model costs only its forward.
import Tensor

public final class Variable {
    /// The forward value. An optimiser updates a leaf's value in place between steps.
    public var value: Tensor
    /// Whether gradients flow to (and, for a leaf, accumulate in) this variable.
    public let requiresGrad: Bool
    /// The accumulated gradient of a leaf that requires one, after `backward()`; same shape as `value`.
    public internal(set) var grad: Tensor?
    /// Where this value came from, for error messages and tests (`"linear"`, `"leaf"`).
    public let op: String
    let parents: [Variable]
    /// dOutput -> one gradient per parent (nil where that parent needs none).
    let pullback: ((Tensor) -> [Tensor?])?

    /// A leaf: a parameter (`requiresGrad: true`) or a constant / frozen weight.
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        op = "leaf"
        parents = []
        pullback = nil
    }

    init(_ value: Tensor, op: String, parents: [Variable], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.op = op
        requiresGrad = true
        self.parents = parents
        self.pullback = pullback
    }

    /// An op result. `pullback` is kept only when some parent requires a gradient; it must return
    /// one entry per parent and may skip (return nil for) parents that do not require one.
    static func result(_ value: Tensor, _ op: String, _ parents: [Variable],
                       _ pullback: @escaping (Tensor) -> [Tensor?]) -> Variable {
        guard parents.contains(where: \.requiresGrad) else { return Variable(value) }
        return Variable(value, op: op, parents: parents, pullback: pullback)
    }

    public var shape: [Int] { value.shape }
    public var isLeaf: Bool { pullback == nil }

    /// Clears a leaf's accumulated gradient (`optimizer.zero_grad()`).
    public func zeroGrad() { grad = nil }

    /// Reverse pass from this variable. `seed` is dLoss/dSelf; nil means 1 and needs a
    /// one-element value (a scalar loss). Gradients accumulate into the leaves' `grad` (+=, as PyTorch).
    public func backward(seed: Tensor? = nil) {
        guard requiresGrad else { return }
        let seed = seed ?? {
            precondition(value.count == 1, "backward() without a seed needs a scalar, not \(value.shape)")
            return Tensor(repeating: 1, shape: value.shape)
        }()
        precondition(seed.shape == value.shape, "backward seed \(seed.shape) for a value \(value.shape)")
        let order = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let pullback = node.pullback else {
                node.grad = node.grad.map { $0 + g } ?? g
                continue
            }
            let parentGrads = pullback(g)
            precondition(parentGrads.count == node.parents.count, "\(node.op): \(parentGrads.count) gradients for \(node.parents.count) inputs")
            for (parent, pg) in zip(node.parents, parentGrads) where parent.requiresGrad {
                guard let pg else { preconditionFailure("\(node.op) returned no gradient for an input that requires one") }
                precondition(pg.shape == parent.value.shape, "\(node.op): gradient \(pg.shape) for an input \(parent.value.shape)")
                let key = ObjectIdentifier(parent)
                grads[key] = grads[key].map { $0 + pg } ?? pg
            }
        }
    }

    /// The leaves that `backward()` from here would write gradients into (a frozen model's weights
    /// never appear: they are constants).
    public func trainableLeaves() -> [Variable] { topologicalOrder().filter(\.isLeaf) }

    /// Nodes that require a gradient, each after all of its parents (iterative DFS: graphs of a few
    /// hundred ops, but no recursion-depth limit to think about).
    func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) }
        }
        return order
    }
}
