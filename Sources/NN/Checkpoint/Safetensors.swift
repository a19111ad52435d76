import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file: `u64 LE header length`, a JSON header
/// `{name: {dtype, shape, data_offsets: [start, end]}, "__metadata__": {string: string}}`,
/// then the data section. The file is memory-mapped; tensors are decoded on request.
///
/// The header is validated as the reference implementation does (and swift-transformers'
/// parser does not): every tensor's byte range must lie in the data section, match its
/// shape and dtype, and the ranges must tile the section with no overlap and no gap.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let elementType: ElementType
        public let shape: [Int]
        /// Byte range inside the data section (after the header).
        public let byteRange: Range<Int>
    }

    public let url: URL
    public let metadata: [String: String]
    /// In data-section order.
    public let entries: [Entry]
    private let index: [String: Int]
    private let data: Data
    private let dataStart: Int

    public var names: [String] { entries.map(\.name) }

    static let dtypeNames: [String: ElementType] = [
        "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64,
        "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]

    public init(url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError.unreadable(file: url, reason: error.localizedDescription)
        }
        try self.init(data: data, url: url)
    }

    /// `url` is used only to name the file in errors.
    public init(data: Data, url: URL) throws {
        self.url = url
        self.data = data
        guard data.count >= 8 else { throw SafetensorsError.badHeaderLength(file: url, length: 0, fileSize: data.count) }
        let length = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length >= 2, length <= UInt64(data.count - 8) else {
            throw SafetensorsError.badHeaderLength(file: url, length: length, fileSize: data.count)
        }
        dataStart = 8 + Int(length)
        let header = try Self.decodeHeader(data.subdata(in: 8 ..< dataStart), url: url)
        metadata = header.metadata
        entries = try Self.validate(header.tensors, dataSize: data.count - dataStart, url: url)
        // Built by hand: `Dictionary(uniqueKeysWithValues:)` would trap on a repeated name.
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() {
            guard index.updateValue(i, forKey: e.name) == nil else {
                throw SafetensorsError.badHeaderJSON(file: url, reason: "tensor name \(UntrustedText.quoted(e.name)) appears twice")
            }
        }
        self.index = index
    }

    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    private func require(_ name: String) throws -> Entry {
        guard let e = entry(named: name) else { throw SafetensorsError.missingTensor(file: url, tensor: name) }
        return e
    }

    /// Any dtype, widened to Float.
    public func tensor(named name: String) throws -> Tensor {
        let e = try require(name)
        let count = e.shape.reduce(1, *)
        return data.withUnsafeBytes { all in
            Tensor(shape: e.shape) { out in
                e.elementType.widen(all, offset: dataStart + e.byteRange.lowerBound, count: count, into: out) { $0 }
            }
        }
    }

    /// The stored little-endian encoding, untouched (for uint8 images and exact-bit checks).
    public func bytes(named name: String) throws -> (shape: [Int], elementType: ElementType, bytes: [UInt8]) {
        let e = try require(name)
        let bytes = data.withUnsafeBytes { all in
            Array(all[(dataStart + e.byteRange.lowerBound) ..< (dataStart + e.byteRange.upperBound)])
        }
        return (e.shape, e.elementType, bytes)
    }

    /// A U8 (or BOOL) tensor's values.
    public func uint8(named name: String) throws -> (shape: [Int], values: [UInt8]) {
        let (shape, type, bytes) = try bytes(named: name)
        guard type == .uint8 || type == .bool else {
            throw SafetensorsError.wrongElementType(file: url, tensor: name, expected: .uint8, found: type)
        }
        return (shape, bytes)
    }

    /// Every tensor as Float, with the file's metadata.
    public func stateDict() throws -> StateDict {
        var tensors: [String: Tensor] = [:]
        for e in entries { tensors[e.name] = try tensor(named: e.name) }
        return StateDict(tensors: tensors, metadata: metadata)
    }

    // MARK: - Header

    private struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    private struct RawEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct Header: Decodable {
        var tensors: [(String, RawEntry)] = []
        var metadata: [String: String] = [:]

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    tensors.append((key.stringValue, try c.decode(RawEntry.self, forKey: key)))
                }
            }
        }
    }

    private static func decodeHeader(_ json: Data, url: URL) throws -> Header {
        do {
            return try JSONDecoder().decode(Header.self, from: json)
        } catch let DecodingError.dataCorrupted(context) {
            throw SafetensorsError.badHeaderJSON(file: url, reason: reason(context))
        } catch let DecodingError.keyNotFound(key, context) {
            throw SafetensorsError.badHeaderJSON(file: url, reason: "missing \(UntrustedText.quoted(key.stringValue)) in \(path(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw SafetensorsError.badHeaderJSON(file: url, reason: reason(context))
        } catch let DecodingError.valueNotFound(_, context) {
            throw SafetensorsError.badHeaderJSON(file: url, reason: reason(context))
        } catch {
            throw SafetensorsError.badHeaderJSON(file: url, reason: "\(error)")
        }
    }

    private static func path(_ c: DecodingError.Context) -> String {
        c.codingPath.isEmpty ? "the header" : "'" + c.codingPath.map(\.stringValue).joined(separator: ".") + "'"
    }

    private static func reason(_ c: DecodingError.Context) -> String {
        "\(path(c)): \(c.debugDescription)"
    }

    private static func validate(_ raw: [(String, RawEntry)], dataSize: Int, url: URL) throws -> [Entry] {
        var entries: [Entry] = []
        for (name, r) in raw {
            guard let type = dtypeNames[r.dtype] else {
                throw SafetensorsError.unsupportedDType(file: url, tensor: name, dtype: r.dtype)
            }
            guard r.data_offsets.count == 2 else {
                throw SafetensorsError.badHeaderJSON(file: url, reason: "\(UntrustedText.quoted(name)).data_offsets must be [start, end]")
            }
            let (start, end) = (r.data_offsets[0], r.data_offsets[1])
            guard start >= 0, start <= end, end <= dataSize else {
                throw SafetensorsError.offsetsOutOfRange(file: url, tensor: name, start: start, end: end, dataSize: dataSize)
            }
            var bytes = type.byteCount
            var valid = r.shape.allSatisfy { $0 >= 0 }
            for d in r.shape where valid {
                let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
                valid = !overflow
                bytes = p
            }
            guard valid, bytes == end - start else {
                throw SafetensorsError.sizeMismatch(file: url, tensor: name, shape: r.shape, dtype: r.dtype, bytes: end - start)
            }
            entries.append(Entry(name: name, elementType: type, shape: r.shape, byteRange: start ..< end))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var covered = 0
        for (i, e) in entries.enumerated() {
            if e.byteRange.lowerBound < covered {
                throw SafetensorsError.overlappingOffsets(file: url, tensor: e.name, other: entries[i - 1].name)
            }
            if e.byteRange.lowerBound > covered { throw SafetensorsError.gapInData(file: url, at: covered) }
            covered = e.byteRange.upperBound
        }
        if covered != dataSize { throw SafetensorsError.gapInData(file: url, at: covered) }
        return entries
    }

    // MARK: - Writing

    /// Writes F32 tensors in the given order, atomically: a temporary file in the same folder is
    /// renamed over `url` only once complete, so readers never see a half-written file.
    public static func write(_ tensors: [(key: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws {
        var seen = Set<String>()
        for (key, _) in tensors where !seen.insert(key).inserted || key == "__metadata__" {
            throw SafetensorsError.writeFailed(file: url, reason: "tensor name \(UntrustedText.quoted(key)) is repeated or reserved")
        }
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (key, t) in tensors {
            let end = offset + t.count * 4
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(key)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        // Spaces pad the header so the data section starts 8-byte aligned, as the reference writer does.
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            guard FileManager.default.createFile(atPath: temp.path, contents: nil) else {
                throw SafetensorsError.writeFailed(file: url, reason: "cannot create \(temp.path)")
            }
            let handle = try FileHandle(forWritingTo: temp)
            defer { try? handle.close() }
            var length = UInt64(header.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: Data(header))
            for (_, t) in tensors {
                // safetensors is little-endian, as is every platform Swift targets here.
                precondition(1.littleEndian == 1, "big-endian hosts are not supported")
                try t.withUnsafeBufferPointer { try handle.write(contentsOf: Data(buffer: $0)) }
            }
            try handle.synchronize()
            guard rename(temp.path, url.path) == 0 else {
                throw SafetensorsError.writeFailed(file: url, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            if let e = error as? SafetensorsError { throw e }
            throw SafetensorsError.writeFailed(file: url, reason: error.localizedDescription)
        }
    }

    public static func write(_ stateDict: StateDict, to url: URL) throws {
        try write(stateDict.keys.map { ($0, stateDict.tensors[$0]!) }, metadata: stateDict.metadata, to: url)
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
