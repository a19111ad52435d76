/// The values a restricted pickle stream can produce: plain data, containers, allow-listed
/// globals (as inert names), and references to torch storages and tensors. No value ever refers
/// to executable code.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, kept as its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
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
        case let .string(s): "string '\(s.prefix(40))'"
        case let .bytes(b): "\(b.count) bytes"
        case let .tuple(t): "tuple of \(t.count)"
        case let .list(l): "list of \(l.items.count)"
        case let .dict(d): "dict with \(d.pairs.count) entries"
        case let .global(m, n): "global \(m).\(n)"
        case let .storage(s): "storage '\(s.key)'"
        case let .tensor(t): "tensor \(t.shape)"
        }
    }
}

public final class PickleList {
    public internal(set) var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// Insertion-ordered, like the `OrderedDict` a state dict is; a repeated key replaces its value in place.
public final class PickleDict {
    public private(set) var pairs: [(key: PickleValue, value: PickleValue)] = []
    private var index: [String: Int] = [:]

    init() {}

    private static func indexKey(_ k: PickleValue) -> String? {
        switch k {
        case let .string(s): "s" + s
        case let .int(i): "i\(i)"
        default: nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
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
