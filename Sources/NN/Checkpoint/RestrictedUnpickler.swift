/// A pickle virtual machine that understands exactly what a PyTorch state dict needs.
///
/// `pickle.load` imports any global the stream names and calls it, so loading an untrusted
/// `.pth` with it runs arbitrary code. This VM instead:
/// - accepts only the globals in `allowedGlobals` and rejects any other the moment it is named
///   (before any argument is read), with `UnpicklingError.forbiddenGlobal`;
/// - never calls anything: `REDUCE` on an allowed global is interpreted by hand (build a dict,
///   describe a tensor view); storages are persistent ids recorded as `TorchStorageRef`;
/// - treats every unknown opcode as an error naming its byte and offset.
public struct RestrictedUnpickler {
    /// `module.name` of every global a state dict may reference.
    public static let allowedGlobals: Set<String> = Set([
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch.storage.UntypedStorage",
        "torch.UntypedStorage",
    ] + storageTypes.keys.map { "torch.\($0)" })

    /// Legacy typed-storage class names (torch.save still writes them) -> element type.
    static let storageTypes: [String: ElementType] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32,
        "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
        "UntypedStorage": .uint8,
    ]

    private let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Containers nested deeper than this are refused: a state dict nests three or four levels
    /// (dict -> tensor-rebuild tuple -> size tuple), and code walking a value recurses by level.
    public static let maxNesting = 100

    /// Runs the stream to its STOP opcode and returns the top-level object.
    public func load() throws -> PickleValue {
        try bytes.withUnsafeBytes {
            var machine = Machine(ByteCursor($0))
            return try machine.run()
        }
    }
}

private struct Machine {
    var c: ByteCursor
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    /// Offset and name of the opcode being executed, for errors.
    var at = 0
    var op = ""

    init(_ c: ByteCursor) { self.c = c }

    mutating func run() throws -> PickleValue {
        do {
            while !c.isAtEnd {
                at = c.offset
                let code = try c.readByte()
                if let result = try step(code) { return result }
            }
        } catch let t as ByteCursor.Truncated {
            throw UnpicklingError.truncated(offset: t.offset)
        }
        throw UnpicklingError.noStop
    }

    // MARK: stack helpers

    mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw UnpicklingError.stackUnderflow(opcode: op, offset: at) }
        return v
    }

    mutating func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else {
            throw UnpicklingError.missingMark(opcode: op, offset: at)
        }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    func top() throws -> PickleValue {
        guard let v = stack.last else { throw UnpicklingError.stackUnderflow(opcode: op, offset: at) }
        return v
    }

    func malformed(_ reason: String) -> UnpicklingError {
        .malformed(opcode: op, offset: at, reason: reason)
    }

    mutating func string(_ n: Int) throws -> String {
        String(decoding: try c.readBytes(n), as: UTF8.self)
    }

    mutating func length<T: FixedWidthInteger>(_: T.Type) throws -> Int {
        let n = try c.readLE(T.self)
        guard let i = Int(exactly: n), i >= 0 else { throw malformed("length \(n) out of range") }
        return i
    }

    mutating func memoGet(_ i: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw UnpicklingError.missingMemo(index: i, offset: at) }
        return v
    }

    /// Two's-complement little-endian integer of any width.
    func integer(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        if raw.count > 8 { return .bigInt(Array(raw)) }
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        let shift = UInt64(64 - 8 * raw.count)
        return .int(Int(Int64(bitPattern: v << shift) >> shift))
    }

    mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        guard RestrictedUnpickler.allowedGlobals.contains("\(module).\(name)") else {
            throw UnpicklingError.forbiddenGlobal(module: module, name: name, offset: at)
        }
        return .global(module: module, name: name)
    }

    // MARK: opcodes

    /// Executes one opcode; returns the result at STOP.
    mutating func step(_ code: UInt8) throws -> PickleValue? {
        switch code {
        case 0x80: // PROTO
            op = "PROTO"
            let p = Int(try c.readByte())
            guard (2 ... 5).contains(p) else { throw UnpicklingError.unsupportedProtocol(p, offset: at) }
        case 0x95: // FRAME: a size hint for buffered readers; the whole stream is in memory
            op = "FRAME"
            _ = try c.readLE(UInt64.self)
        case UInt8(ascii: "."): // STOP
            op = "STOP"
            return try pop()
        case UInt8(ascii: "("): marks.append(stack.count) // MARK
        case UInt8(ascii: "0"): op = "POP"; _ = try pop()
        case UInt8(ascii: "1"): op = "POP_MARK"; _ = try popToMark()
        case UInt8(ascii: "2"): op = "DUP"; stack.append(try top())

        case UInt8(ascii: "N"): stack.append(.none)
        case 0x88: stack.append(.bool(true)) // NEWTRUE
        case 0x89: stack.append(.bool(false)) // NEWFALSE
        case UInt8(ascii: "J"): op = "BININT"; stack.append(.int(Int(try c.readLE(Int32.self))))
        case UInt8(ascii: "K"): op = "BININT1"; stack.append(.int(Int(try c.readByte())))
        case UInt8(ascii: "M"): op = "BININT2"; stack.append(.int(Int(try c.readLE(UInt16.self))))
        case 0x8A: // LONG1
            op = "LONG1"
            let n = Int(try c.readByte())
            stack.append(integer(try c.readBytes(n)))
        case 0x8B: // LONG4
            op = "LONG4"
            let n = try length(Int32.self)
            stack.append(integer(try c.readBytes(n)))
        case UInt8(ascii: "G"): // BINFLOAT: big-endian, unlike every other pickle number
            op = "BINFLOAT"
            stack.append(.float(Double(bitPattern: try c.readBE(UInt64.self))))

        case UInt8(ascii: "X"): op = "BINUNICODE"; stack.append(.string(try string(try length(UInt32.self))))
        case 0x8C: op = "SHORT_BINUNICODE"; stack.append(.string(try string(Int(try c.readByte()))))
        case 0x8D: op = "BINUNICODE8"; stack.append(.string(try string(try length(UInt64.self))))
        // Python 2 `str`: bytes that were text; torch's own keys never use it, old pickles may.
        case UInt8(ascii: "T"): op = "BINSTRING"; stack.append(.string(try string(try length(Int32.self))))
        case UInt8(ascii: "U"): op = "SHORT_BINSTRING"; stack.append(.string(try string(Int(try c.readByte()))))
        case UInt8(ascii: "B"): op = "BINBYTES"; stack.append(.bytes(Array(try c.readBytes(try length(UInt32.self)))))
        case UInt8(ascii: "C"): op = "SHORT_BINBYTES"; stack.append(.bytes(Array(try c.readBytes(Int(try c.readByte())))))
        case 0x8E: op = "BINBYTES8"; stack.append(.bytes(Array(try c.readBytes(try length(UInt64.self)))))
        case 0x96: op = "BYTEARRAY8"; stack.append(.bytes(Array(try c.readBytes(try length(UInt64.self)))))

        case UInt8(ascii: "}"): stack.append(.dict(PickleDict())) // EMPTY_DICT
        case UInt8(ascii: "]"): stack.append(.list(PickleList())) // EMPTY_LIST
        case UInt8(ascii: ")"): stack.append(try tuple([])) // EMPTY_TUPLE
        case 0x8F: stack.append(.list(PickleList())) // EMPTY_SET: a set is kept as a list
        case UInt8(ascii: "t"): op = "TUPLE"; stack.append(try tuple(try popToMark()))
        case 0x85: op = "TUPLE1"; stack.append(try tuple([try pop()]))
        case 0x86: // TUPLE2
            op = "TUPLE2"
            let b = try pop(), a = try pop()
            stack.append(try tuple([a, b]))
        case 0x87: // TUPLE3
            op = "TUPLE3"
            let cc = try pop(), b = try pop(), a = try pop()
            stack.append(try tuple([a, b, cc]))
        case UInt8(ascii: "l"): op = "LIST"; stack.append(.list(try nested(PickleList(try popToMark()))))
        case 0x91: op = "FROZENSET"; stack.append(.list(try nested(PickleList(try popToMark()))))
        case UInt8(ascii: "d"): // DICT
            op = "DICT"
            let items = try popToMark()
            stack.append(.dict(try dict(items)))

        case UInt8(ascii: "a"): // APPEND
            op = "APPEND"
            let v = try pop()
            let l = try list(try top())
            l.append(contentsOf: [v])
            try nested(l)
        case UInt8(ascii: "e"), 0x90: // APPENDS, ADDITEMS
            op = code == 0x90 ? "ADDITEMS" : "APPENDS"
            let items = try popToMark()
            let l = try list(try top())
            l.append(contentsOf: items)
            try nested(l)
        case UInt8(ascii: "s"): // SETITEM
            op = "SETITEM"
            let v = try pop(), k = try pop()
            let d = try dictionary(try top())
            d.set(k, v)
            try nested(d)
        case UInt8(ascii: "u"): // SETITEMS
            op = "SETITEMS"
            let items = try popToMark()
            let d = try dictionary(try top())
            guard items.count % 2 == 0 else { throw malformed("odd number of keys and values") }
            for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            try nested(d)

        case UInt8(ascii: "q"): op = "BINPUT"; memo[Int(try c.readByte())] = try top()
        case UInt8(ascii: "r"): op = "LONG_BINPUT"; memo[Int(try c.readLE(UInt32.self))] = try top()
        case 0x94: op = "MEMOIZE"; memo[memo.count] = try top()
        case UInt8(ascii: "h"): op = "BINGET"; stack.append(try memoGet(Int(try c.readByte())))
        case UInt8(ascii: "j"): op = "LONG_BINGET"; stack.append(try memoGet(Int(try c.readLE(UInt32.self))))

        case UInt8(ascii: "c"): // GLOBAL: "module\nname\n"
            op = "GLOBAL"
            let module = String(decoding: try c.readLine(), as: UTF8.self)
            let name = String(decoding: try c.readLine(), as: UTF8.self)
            stack.append(try global(module, name))
        case 0x93: // STACK_GLOBAL
            op = "STACK_GLOBAL"
            let n = try pop(), m = try pop()
            guard case let .string(module) = m, case let .string(name) = n else {
                throw malformed("module and name must be strings, found \(m) and \(n)")
            }
            stack.append(try global(module, name))
        case UInt8(ascii: "i"): // INST: names a class and instantiates it; the check still comes first
            op = "INST"
            let module = String(decoding: try c.readLine(), as: UTF8.self)
            let name = String(decoding: try c.readLine(), as: UTF8.self)
            _ = try global(module, name)
            throw UnpicklingError.unknownOpcode(code, offset: at)
        case UInt8(ascii: "R"): // REDUCE
            op = "REDUCE"
            let args = try pop(), callable = try pop()
            stack.append(try reduce(callable, args))
        case 0x81: // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is a class on the list
            op = "NEWOBJ"
            let args = try pop(), cls = try pop()
            guard case .global("collections", "OrderedDict") = cls else { throw malformed("cannot instantiate \(cls)") }
            stack.append(try reduce(cls, args))
        case UInt8(ascii: "b"): // BUILD: sets attributes (OrderedDict._metadata, tensor hooks); they carry no weights
            op = "BUILD"
            _ = try pop()
            switch try top() {
            case .dict, .tensor: break
            case let other: throw malformed("cannot set state on \(other)")
            }
        case UInt8(ascii: "Q"): // BINPERSID
            op = "BINPERSID"
            stack.append(try persistentLoad(try pop()))
        default:
            throw UnpicklingError.unknownOpcode(code, offset: at)
        }
        return nil
    }

    func tuple(_ items: [PickleValue]) throws -> PickleValue {
        let t = PickleTuple(items)
        guard t.nesting <= RestrictedUnpickler.maxNesting else { throw tooDeep() }
        return .tuple(t)
    }

    /// Checks a list or dict after it was built or given items.
    @discardableResult
    func nested(_ l: PickleList) throws -> PickleList {
        guard l.nesting <= RestrictedUnpickler.maxNesting else { throw tooDeep() }
        return l
    }

    @discardableResult
    func nested(_ d: PickleDict) throws -> PickleDict {
        guard d.nesting <= RestrictedUnpickler.maxNesting else { throw tooDeep() }
        return d
    }

    func tooDeep() -> UnpicklingError {
        malformed("containers nested more than \(RestrictedUnpickler.maxNesting) deep; a state dict nests 3 or 4 levels")
    }

    func list(_ v: PickleValue) throws -> PickleList {
        guard case let .list(l) = v else { throw malformed("expected a list, found \(v)") }
        return l
    }

    func dictionary(_ v: PickleValue) throws -> PickleDict {
        guard case let .dict(d) = v else { throw malformed("expected a dict, found \(v)") }
        return d
    }

    func dict(_ items: [PickleValue]) throws -> PickleDict {
        guard items.count % 2 == 0 else { throw malformed("odd number of keys and values") }
        let d = PickleDict()
        for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
        return try nested(d)
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`.
    func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case let .tuple(tuple) = pid, case let t = tuple.items, t.count == 5, case .string("storage") = t[0],
              case let .global(_, typeName) = t[1], let type = RestrictedUnpickler.storageTypes[typeName],
              case let .string(key) = t[2], case let .string(location) = t[3],
              case let .int(count) = t[4], count >= 0
        else { throw malformed("persistent id \(pid) is not a torch storage reference") }
        return .storage(TorchStorageRef(key: key, elementType: type, location: location, count: count))
    }

    func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard case let .tuple(tuple) = v else { throw malformed("\(what) must be a tuple, found \(v)") }
        return try tuple.items.map {
            guard case let .int(i) = $0 else { throw malformed("\(what) holds \($0)") }
            return i
        }
    }

    /// The only "calls" a state dict makes, each interpreted rather than executed.
    func reduce(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case let .global(module, name) = callable else { throw malformed("cannot call \(callable)") }
        guard case let .tuple(argsTuple) = argsValue, case let args = argsTuple.items else { throw malformed("arguments must be a tuple, found \(argsValue)") }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            let d = PickleDict()
            if let first = args.first {
                // OrderedDict([(k, v), ...])
                guard case let .list(pairs) = first else { throw malformed("OrderedDict(\(first))") }
                for p in pairs.items {
                    guard case let .tuple(pair) = p, case let kv = pair.items, kv.count == 2 else { throw malformed("OrderedDict item \(p)") }
                    d.set(kv[0], kv[1])
                }
            }
            return .dict(try nested(d))
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            guard args.count >= 4, case let .storage(storage) = args[0], case let .int(offset) = args[1] else {
                throw malformed("\(name) arguments \(argsValue)")
            }
            let shape = try ints(args[2], "size"), strides = try ints(args[3], "stride")
            guard shape.count == strides.count, offset >= 0, shape.allSatisfy({ $0 >= 0 }),
                  strides.allSatisfy({ $0 >= 0 })
            else { throw malformed("size \(shape), stride \(strides), offset \(offset) do not describe a tensor") }
            return .tensor(TorchTensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = args.first, case .tensor = data else { throw malformed("\(name) arguments \(argsValue)") }
            return data
        default:
            throw malformed("\(module).\(name) is allowed as a name but cannot be called")
        }
    }
}
