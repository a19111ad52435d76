import Foundation

/// Builders for hand-made hostile checkpoints: a protocol-2 pickle of a state dict whose tensor
/// views say anything, and a ZIP of stored entries as torch.save lays them out.
enum Pickle {
    static func unicode(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [UInt8(ascii: "X")] + le32(UInt32(b.count)) + b
    }

    static func int(_ v: Int) -> [UInt8] {
        if let small = Int32(exactly: v) { return [UInt8(ascii: "J")] + le32(UInt32(bitPattern: small)) }
        // LONG1 with 8 bytes, two's complement.
        return [0x8A, 8] + (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    static func global(_ module: String, _ name: String) -> [UInt8] {
        [UInt8(ascii: "c")] + Array("\(module)\n\(name)\n".utf8)
    }

    static func tuple(_ items: [[UInt8]]) -> [UInt8] {
        [UInt8(ascii: "(")] + items.flatMap { $0 } + [UInt8(ascii: "t")]
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    static func tensor(storage key: String, count: Int, offset: Int = 0, size: [Int], stride: [Int]) -> [UInt8] {
        let pid = tuple([unicode("storage"), global("torch", "FloatStorage"), unicode(key), unicode("cpu"), int(count)])
        let args = tuple([
            pid + [UInt8(ascii: "Q")], int(offset), tuple(size.map(int)), tuple(stride.map(int)), [0x89],
            global("collections", "OrderedDict") + [UInt8(ascii: ")"), UInt8(ascii: "R")],
        ])
        return global("torch._utils", "_rebuild_tensor_v2") + args + [UInt8(ascii: "R")]
    }

    /// `{key: tensor, ...}` as a whole stream.
    static func stateDict(_ entries: [(String, [UInt8])]) -> [UInt8] {
        [0x80, 0x02, UInt8(ascii: "}"), UInt8(ascii: "(")]
            + entries.flatMap { unicode($0.0) + $0.1 }
            + [UInt8(ascii: "u"), UInt8(ascii: ".")]
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}

enum StoredZip {
    struct Entry {
        var name: String
        var bytes: [UInt8]
        /// Central-directory fields to lie in (nil: the truth).
        var centralOffset: UInt32? = nil
        var zip64Offset: UInt64? = nil
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { Pickle.le32(v) }
    static func le64(_ v: UInt64) -> [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    static func archive(_ entries: [Entry]) -> Data {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for e in entries {
            let offset = UInt32(out.count)
            let name = Array(e.name.utf8)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0)
                + le32(UInt32(e.bytes.count)) + le32(UInt32(e.bytes.count)) + le16(UInt16(name.count)) + le16(0)
            out += name + e.bytes
            let extra = e.zip64Offset.map { le16(1) + le16(8) + le64($0) } ?? []
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0)
                + le32(UInt32(e.bytes.count)) + le32(UInt32(e.bytes.count)) + le16(UInt16(name.count))
                + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(e.zip64Offset != nil ? 0xFFFF_FFFF : (e.centralOffset ?? offset))
            central += name + extra
        }
        let cdOffset = UInt32(out.count)
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
            + le32(UInt32(central.count)) + le32(cdOffset) + le16(0)
        return Data(out)
    }

    /// A torch.save-shaped archive: `ckpt/data.pkl` and one float storage `ckpt/data/0`.
    static func checkpoint(pickle: [UInt8], storage: [Float]) -> Data {
        let bytes = storage.flatMap { le32($0.bitPattern) }
        return archive([Entry(name: "ckpt/data.pkl", bytes: pickle), Entry(name: "ckpt/data/0", bytes: bytes)])
    }
}
