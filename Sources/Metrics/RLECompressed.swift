// The compressed COCO counts string and JSON form, as pycocotools
// (common/maskApi.c rleToString / rleFrString, mask.py encode/decode).

extension RLE {
    /// Counts as pycocotools' compressed string: like LEB128 but 5 payload bits per character,
    /// bit 0x20 = "more follows", bit 0x10 of the last chunk = sign, each chunk + 48 (so the
    /// characters are '0'...'o'). From the fourth count on (index > 2) a count is stored as the
    /// difference from the count two before it, which is why the sign bit exists.
    public var compressedCounts: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(counts.count * 2)
        for i in counts.indices {
            var x = Int64(counts[i])
            if i > 2 { x -= Int64(counts[i - 2]) }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1f)
                x >>= 5  // arithmetic shift: negative deltas end at -1
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(c + 48)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses pycocotools' compressed counts string for a mask of the given size.
    public init(compressedCounts string: String, height: Int, width: Int) throws(MetricsError) {
        var counts: [UInt32] = []
        var x: Int64 = 0
        var shift: Int64 = 0
        var inValue = false
        for (offset, byte) in string.utf8.enumerated() {
            guard byte >= 48, byte < 48 + 64 else {
                throw .invalidCompressedCounts("character \(offset) is outside '0'...'o'")
            }
            guard shift < 60 else { throw .invalidCompressedCounts("a count at character \(offset) is too long") }
            let c = Int64(byte - 48)
            x |= (c & 0x1f) << shift
            shift += 5
            inValue = true
            if c & 0x20 != 0 { continue }
            if c & 0x10 != 0 { x |= -1 << shift }  // sign-extend the last chunk
            if counts.count > 2 { x += Int64(counts[counts.count - 2]) }
            guard x >= 0, x <= Int64(UInt32.max) else {
                throw .invalidCompressedCounts("count \(counts.count) decodes to \(x)")
            }
            counts.append(UInt32(x))
            x = 0
            shift = 0
            inValue = false
        }
        if inValue { throw .invalidCompressedCounts("ends in the middle of a count") }
        try self.init(height: height, width: width, counts: counts)
    }
}

/// JSON as COCO and pycocotools write it: `{"size": [h, w], "counts": "<compressed>"}`.
/// Decoding also accepts the uncompressed form (`"counts": [n0, n1, ...]`) that COCO uses
/// for crowd annotations.
extension RLE: Codable {
    private enum CodingKeys: String, CodingKey {
        case size, counts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let size = try container.decode([Int].self, forKey: .size)
        guard size.count == 2 else {
            throw DecodingError.dataCorruptedError(
                forKey: .size, in: container, debugDescription: "size must be [height, width], got \(size)")
        }
        if let string = try? container.decode(String.self, forKey: .counts) {
            try self.init(compressedCounts: string, height: size[0], width: size[1])
        } else {
            let counts = try container.decode([UInt32].self, forKey: .counts)
            try self.init(height: size[0], width: size[1], counts: counts)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([height, width], forKey: .size)
        try container.encode(compressedCounts, forKey: .counts)
    }
}
