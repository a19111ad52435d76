/// A dense, contiguous, row-major Float32 tensor with value semantics.
///
/// Layouts follow PyTorch: activations are `[B, C, H, W]` or `[B, H, W, C]` as the ported module
/// uses them, weights keep their checkpoint layout (`Linear` `[out, in]`, `Conv2d` `[O, I, kH, kW]`).
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var storage: [Float]

    public init(shape: [Int], storage: [Float]) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    public init(zeros shape: [Int]) {
        if Self.shapesOnly {
            self.init(layoutOnly: shape)
            return
        }
        self.init(shape: shape, storage: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        if Self.shapesOnly {
            self.init(layoutOnly: shape)
            return
        }
        self.init(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    private init(layoutOnly shape: [Int]) {
        self.shape = shape
        self.storage = []
    }

    /// While true (`Tensor.$shapesOnly.withValue(true) { ... }`), `init(zeros:)` and
    /// `init(repeating:shape:)` give tensors with a shape and no storage, so a model can be laid out
    /// and its parameter shapes compared with a checkpoint before a byte of weights is allocated (a
    /// 1 KB file must not be able to size a 137 GB model). Such tensors must reach no operation.
    @TaskLocal public static var shapesOnly = false

    /// Builds a tensor by filling uninitialised storage (no zeroing pass).
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: n) { buf, count in
            fill(buf)
            count = n
        }
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// Size of dimension `i`; negative indices count from the end.
    public func dim(_ i: Int) -> Int { shape[i < 0 ? shape.count + i : i] }

    /// Same storage, new shape (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            s[i] = count / max(known, 1)
        }
        return Tensor(shape: s, storage: storage)
    }

    public subscript(flat i: Int) -> Float {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(shape))" }
}
