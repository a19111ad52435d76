import Foundation

/// A bounds-checked little-endian reader over a byte buffer.
///
/// Every read checks its range first and throws `Truncated`, so a damaged file surfaces as an
/// error carrying the offset instead of a trap inside `loadUnaligned`.
struct ByteCursor {
    struct Truncated: Error {
        let offset: Int
        let needed: Int
        let available: Int
    }

    let bytes: UnsafeRawBufferPointer
    var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    func check(_ n: Int, at position: Int) throws {
        guard n >= 0, position >= 0, position <= bytes.count, n <= bytes.count - position else {
            throw Truncated(offset: position, needed: n, available: max(0, bytes.count - position))
        }
    }

    func peekLE<T: FixedWidthInteger>(_: T.Type, at position: Int) throws -> T {
        try check(MemoryLayout<T>.size, at: position)
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func readLE<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let v = try peekLE(T.self, at: offset)
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func readBE<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try check(MemoryLayout<T>.size, at: offset)
        let v = T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func readByte() throws -> UInt8 { try readLE(UInt8.self) }

    mutating func readBytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try check(n, at: offset)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + n])
        offset += n
        return slice
    }

    /// Bytes up to (not including) the next `\n`, which is consumed.
    mutating func readLine() throws -> UnsafeRawBufferPointer {
        guard let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw Truncated(offset: offset, needed: remaining + 1, available: remaining)
        }
        let line = UnsafeRawBufferPointer(rebasing: bytes[offset ..< end])
        offset = end + 1
        return line
    }
}

/// IEEE binary16 -> binary32, exact for every input (subnormals, infinities and NaN payloads
/// included). Written out rather than using `Float16`, which is unavailable on Intel macOS.
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    var mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal half: normalise into a (normal) single.
        var e: UInt32 = 127 - 15 + 1
        while mantissa & 0x400 == 0 {
            mantissa <<= 1
            e -= 1
        }
        mantissa &= 0x3FF
        return Float(bitPattern: sign | (e << 23) | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
}

/// bfloat16 is the top half of a binary32, so widening is a shift.
@inline(__always)
func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Element types found in checkpoints. Everything is widened to `Float` on load; the raw
/// encoding stays reachable (`SafetensorsFile.bytes(named:)`) for fixtures that store uint8 images.
public enum ElementType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8, bool

    public var byteCount: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Widens `count` little-endian elements starting at byte `offset` into `out`, reading element
    /// `i` from `offset + index(i) * byteCount`. The caller has bounds-checked every index.
    func widen(_ src: UnsafeRawBufferPointer, offset: Int, count: Int,
               into out: UnsafeMutableBufferPointer<Float>, index: (Int) -> Int) {
        let base = src.baseAddress! + offset
        let w = byteCount
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: UnsafeRawPointer(base + index(i) * w).loadUnaligned(as: T.self))
        }
        switch self {
        case .float32: for i in 0 ..< count { out[i] = Float(bitPattern: load(i, UInt32.self)) }
        case .float16: for i in 0 ..< count { out[i] = floatFromHalfBits(load(i, UInt16.self)) }
        case .bfloat16: for i in 0 ..< count { out[i] = floatFromBFloat16Bits(load(i, UInt16.self)) }
        case .float64: for i in 0 ..< count { out[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .int64: for i in 0 ..< count { out[i] = Float(load(i, Int64.self)) }
        case .int32: for i in 0 ..< count { out[i] = Float(load(i, Int32.self)) }
        case .int16: for i in 0 ..< count { out[i] = Float(load(i, Int16.self)) }
        case .int8: for i in 0 ..< count { out[i] = Float(load(i, Int8.self)) }
        case .uint8: for i in 0 ..< count { out[i] = Float(load(i, UInt8.self)) }
        case .bool: for i in 0 ..< count { out[i] = load(i, UInt8.self) != 0 ? 1 : 0 }
        }
    }
}
