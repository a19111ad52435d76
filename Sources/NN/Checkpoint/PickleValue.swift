import Foundation

/// The values a restricted pickle stream can produce: plain data, containers, allow-listed
/// globals (as inert names), and references to torch storages and tensors. No value ever refers
/// to executable code.
///
/// Every container is a class (`PickleTuple`, `PickleList`, `PickleDict`) whose deinit hands its
/// items to `NestedRelease`, so dropping a value nested 50,000 deep costs a loop, not 50,000
/// stack frames (an enum holding arrays of itself is released recursively and overflows the stack).
public enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, kept as its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    /// Lists and dicts are references: pickle memoizes them before filling them in.
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    /// A short kind name for error messages ("dict with 3 entries").
    public var description: String {
        switch self {
        case .none: "None"
        case let .bool(b): "bool \(b)"
        case let .int(i): "int \(i)"
        case .bigInt: "a large int"
        case let .float(f): "float \(f)"
        case let .string(s): "string \(UntrustedText.quoted(s, limit: 40))"
        case let .bytes(b): "\(b.count) bytes"
        case let .tuple(t): "tuple of \(t.items.count)"
        case let .list(l): "list of \(l.items.count)"
        case let .dict(d): "dict with \(d.pairs.count) entries"
        case let .global(m, n): "global \(UntrustedText.quoted(m + "." + n))"
        case let .storage(s): "storage \(UntrustedText.quoted(s.key))"
        case let .tensor(t): "tensor \(t.shape)"
        }
    }

    /// Containers nested under this value (0 for plain data). Exact for tuples, which never change;
    /// for lists and dicts it is the deepest item they were given, which later mutation of a nested
    /// one can outgrow: the bound guards the stack of code that walks values, and release never recurses.
    var nesting: Int {
        switch self {
        case let .tuple(t): t.nesting
        case let .list(l): l.nesting
        case let .dict(d): d.nesting
        default: 0
        }
    }
}

/// An immutable pickle tuple.
public final class PickleTuple {
    public private(set) var items: [PickleValue]
    let nesting: Int

    init(_ items: [PickleValue]) {
        self.items = items
        nesting = 1 + (items.lazy.map(\.nesting).max() ?? 0)
    }

    deinit { NestedRelease.release(&items) }
}

public final class PickleList {
    public internal(set) var items: [PickleValue]
    private(set) var nesting: Int

    init(_ items: [PickleValue] = []) {
        self.items = items
        nesting = 1 + (items.lazy.map(\.nesting).max() ?? 0)
    }

    func append(contentsOf new: [PickleValue]) {
        items.append(contentsOf: new)
        nesting = max(nesting, 1 + (new.lazy.map(\.nesting).max() ?? 0))
    }

    deinit { NestedRelease.release(&items) }
}

/// Insertion-ordered, like the `OrderedDict` a state dict is; a repeated key replaces its value in place.
public final class PickleDict {
    public private(set) var pairs: [(key: PickleValue, value: PickleValue)] = []
    private var index: [String: Int] = [:]
    private(set) var nesting = 1

    init() {}

    deinit {
        var items = pairs.flatMap { [$0.key, $0.value] }
        pairs = []
        NestedRelease.release(&items)
    }

    private static func indexKey(_ k: PickleValue) -> String? {
        switch k {
        case let .string(s): "s" + s
        case let .int(i): "i\(i)"
        default: nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        nesting = max(nesting, 1 + max(key.nesting, value.nesting))
        if let ik = Self.indexKey(key) {
            if let i = index[ik] {
                pairs[i].value = value
                return
            }
            index[ik] = pairs.count
        }
        pairs.append((key, value))
    }

    public subscript(key: String) -> PickleValue? {
        index["s" + key].map { pairs[$0].value }
    }
}

/// Drops nested containers one level at a time: the outermost container's deinit on a thread
/// drains a queue that the deinits it triggers only append to, so the stack depth stays constant.
enum NestedRelease {
    private final class Queue {
        var pending: [[PickleValue]] = []
        var draining = false
    }

    private static let key = "StableSAM.NestedRelease"

    static func release(_ items: inout [PickleValue]) {
        guard !items.isEmpty else { return }
        let dictionary = Thread.current.threadDictionary
        let queue: Queue
        if let q = dictionary[key] as? Queue {
            queue = q
        } else {
            queue = Queue()
            dictionary[key] = queue
        }
        queue.pending.append(items)
        items = []
        guard !queue.draining else { return }
        queue.draining = true
        while var batch = queue.pending.popLast() {
            // Releasing the batch runs the deinits of containers it held last, which append here.
            batch.removeAll()
        }
        queue.draining = false
    }
}

/// `('storage', torch.FloatStorage, '0', 'cpu', 24)`: the persistent id torch.save writes for
/// each storage; its bytes are the archive entry `<root>/data/<key>`.
public struct TorchStorageRef: Sendable, Equatable {
    public let key: String
    public let elementType: ElementType
    public let location: String
    /// Number of elements (not bytes).
    public let count: Int
}

/// `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`: a strided view of a storage,
/// offset and strides in elements.
public struct TorchTensorRef: Sendable, Equatable {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}
