import Foundation

/// A read-only ZIP reader for PyTorch checkpoints (`torch.save` since 1.6 writes a ZIP archive).
///
/// The file is memory-mapped, so opening a 2.5 GB SAM ViT-H checkpoint costs only the central
/// directory walk; entry bytes are read in place. Only STORED entries are supported: torch.save
/// never compresses (it aligns tensor data to 64 bytes so it can be mapped), so a compressed
/// entry means the file was re-zipped by another tool. ZIP64 records are honoured. CRCs are not
/// checked: every offset and size is bounds-checked instead, which is what keeps a damaged file
/// from crashing the reader.
public struct ZipArchive: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// 0 = stored; anything else is compressed and cannot be read.
        public let method: UInt16
        public let flags: UInt16
        public let compressedSize: Int
        public let uncompressedSize: Int
        public let localHeaderOffset: Int
        public let crc32: UInt32
    }

    public let url: URL
    /// In central-directory order.
    public let entries: [Entry]
    private let data: Data
    private let index: [String: Int]

    public init(url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw ZipArchiveError.unreadable(file: url, reason: error.localizedDescription)
        }
        try self.init(data: data, url: url)
    }

    /// `url` is used only to name the file in errors.
    public init(data: Data, url: URL) throws {
        self.url = url
        self.data = data
        // Any read the walk did not pre-check still surfaces as a truncation error, never a trap.
        self.entries = try Self.wrap(url, "central directory") {
            try data.withUnsafeBytes { try Self.readCentralDirectory($0, url: url) }
        }
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = i }
        self.index = index
    }

    public func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// Calls `body` with the entry's bytes, in place (no copy); the buffer is valid only inside `body`.
    public func withBytes<R>(of entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try data.withUnsafeBytes { all in
            let range = try dataRange(of: entry, in: all)
            return try body(UnsafeRawBufferPointer(rebasing: all[range]))
        }
    }

    public func withBytes<R>(named name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let e = entry(named: name) else { throw ZipArchiveError.missingEntry(file: url, entry: name) }
        return try withBytes(of: e, body)
    }

    /// A copy of the entry's bytes.
    public func data(named name: String) throws -> Data {
        try withBytes(named: name) { Data($0) }
    }

    private func dataRange(of entry: Entry, in all: UnsafeRawBufferPointer) throws -> Range<Int> {
        if entry.flags & 1 != 0 { throw ZipArchiveError.encryptedEntry(file: url, entry: entry.name) }
        if entry.method != 0 {
            throw ZipArchiveError.compressedEntry(file: url, entry: entry.name, method: entry.method)
        }
        let header = ByteCursor(all)
        let at = entry.localHeaderOffset
        try wrap("local header of \(UntrustedText.quoted(entry.name))") { try header.check(30, at: at) }
        let signature = try header.peekLE(UInt32.self, at: at)
        guard signature == 0x0403_4B50 else {
            throw ZipArchiveError.badSignature(file: url, what: "local header of \(UntrustedText.quoted(entry.name))",
                                               offset: at, found: signature)
        }
        // The local name/extra lengths may differ from the central directory's (torch pads the
        // local extra field to align data), so the data offset comes from the local header.
        let nameLength = Int(try header.peekLE(UInt16.self, at: at + 26))
        let extraLength = Int(try header.peekLE(UInt16.self, at: at + 28))
        let start = at + 30 + nameLength + extraLength
        guard start <= all.count, entry.compressedSize <= all.count - start else {
            throw ZipArchiveError.entryOutOfRange(file: url, entry: entry.name, start: start,
                                                  length: entry.compressedSize, fileSize: all.count)
        }
        return start ..< start + entry.compressedSize
    }

    private func wrap<R>(_ what: String, _ body: () throws -> R) throws -> R {
        try Self.wrap(url, what, body)
    }

    private static func wrap<R>(_ url: URL, _ what: String, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let t as ByteCursor.Truncated {
            throw ZipArchiveError.truncated(file: url, what: what, offset: t.offset,
                                            needed: t.needed, available: t.available)
        }
    }

    // MARK: - Central directory

    private static let eocdSize = 22

    private static func readCentralDirectory(_ all: UnsafeRawBufferPointer, url: URL) throws -> [Entry] {
        let cursor = ByteCursor(all)
        // The EOCD record sits at the end, followed by a comment of up to 65535 bytes.
        var eocd: Int?
        if all.count >= eocdSize {
            let lowest = max(0, all.count - eocdSize - 0xFFFF)
            var at = all.count - eocdSize
            while at >= lowest {
                if try cursor.peekLE(UInt32.self, at: at) == 0x0605_4B50 {
                    eocd = at
                    break
                }
                at -= 1
            }
        }
        guard let eocd else { throw ZipArchiveError.noEndOfCentralDirectory(file: url, size: all.count) }

        let disk = try cursor.peekLE(UInt16.self, at: eocd + 4)
        let cdDisk = try cursor.peekLE(UInt16.self, at: eocd + 6)
        var count = Int(try cursor.peekLE(UInt16.self, at: eocd + 10))
        var cdSize = Int(try cursor.peekLE(UInt32.self, at: eocd + 12))
        var cdOffset = Int(try cursor.peekLE(UInt32.self, at: eocd + 16))
        if disk != 0 || cdDisk != 0 { throw ZipArchiveError.multiDisk(file: url) }

        // ZIP64: a locator just before the EOCD points at the 64-bit end record.
        let locator = eocd - 20
        if locator >= 0, try cursor.peekLE(UInt32.self, at: locator) == 0x0706_4B50 {
            let record = try cursor.peekLE(UInt64.self, at: locator + 8)
            guard record <= UInt64(all.count) else {
                throw ZipArchiveError.truncated(file: url, what: "ZIP64 end record", offset: Int(clamping: record),
                                                needed: 56, available: 0)
            }
            let at = Int(record)
            try wrap(url, "ZIP64 end record") { try cursor.check(56, at: at) }
            let signature = try cursor.peekLE(UInt32.self, at: at)
            guard signature == 0x0606_4B50 else {
                throw ZipArchiveError.badSignature(file: url, what: "ZIP64 end record", offset: at, found: signature)
            }
            count = Int(clamping: try cursor.peekLE(UInt64.self, at: at + 32))
            cdSize = Int(clamping: try cursor.peekLE(UInt64.self, at: at + 40))
            cdOffset = Int(clamping: try cursor.peekLE(UInt64.self, at: at + 48))
        }
        guard cdOffset <= all.count, cdSize <= all.count - cdOffset else {
            throw ZipArchiveError.truncated(file: url, what: "central directory", offset: cdOffset,
                                            needed: cdSize, available: max(0, all.count - cdOffset))
        }

        var entries: [Entry] = []
        entries.reserveCapacity(min(count, cdSize / 46))
        var c = ByteCursor(all, offset: cdOffset)
        for i in 0 ..< count {
            try wrap(url, "central directory entry \(i)") { try c.check(46, at: c.offset) }
            let at = c.offset
            let signature = try c.readLE(UInt32.self)
            guard signature == 0x0201_4B50 else {
                throw ZipArchiveError.badSignature(file: url, what: "central directory entry \(i)",
                                                   offset: at, found: signature)
            }
            c.offset = at + 8
            let flags = try c.readLE(UInt16.self)
            let method = try c.readLE(UInt16.self)
            c.offset = at + 16
            let crc = try c.readLE(UInt32.self)
            var compressed = UInt64(try c.readLE(UInt32.self))
            var uncompressed = UInt64(try c.readLE(UInt32.self))
            let nameLength = Int(try c.readLE(UInt16.self))
            let extraLength = Int(try c.readLE(UInt16.self))
            let commentLength = Int(try c.readLE(UInt16.self))
            c.offset = at + 42
            var localOffset = UInt64(try c.readLE(UInt32.self))
            let (name, extra) = try wrap(url, "central directory entry \(i)") {
                (String(decoding: try c.readBytes(nameLength), as: UTF8.self), try c.readBytes(extraLength))
            }
            try wrap(url, "comment of \(UntrustedText.quoted(name))") { _ = try c.readBytes(commentLength) }

            // ZIP64 extra field (id 1): 64-bit values for exactly the fields saturated at 0xFFFFFFFF, in this order.
            var x = ByteCursor(extra)
            while x.remaining >= 4 {
                let id = try x.readLE(UInt16.self)
                let size = Int(try x.readLE(UInt16.self))
                let body = try wrap(url, "extra field of \(UntrustedText.quoted(name))") { try x.readBytes(size) }
                guard id == 1 else { continue }
                var z = ByteCursor(body)
                try wrap(url, "ZIP64 field of \(UntrustedText.quoted(name))") {
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try z.readLE(UInt64.self) }
                    if compressed == 0xFFFF_FFFF { compressed = try z.readLE(UInt64.self) }
                    if localOffset == 0xFFFF_FFFF { localOffset = try z.readLE(UInt64.self) }
                }
            }
            guard localOffset < UInt64(all.count), compressed <= UInt64(all.count) else {
                throw ZipArchiveError.entryOutOfRange(file: url, entry: name, start: Int(clamping: localOffset),
                                                      length: Int(clamping: compressed), fileSize: all.count)
            }
            entries.append(Entry(name: name, method: method, flags: flags, compressedSize: Int(compressed),
                                 uncompressedSize: Int(clamping: uncompressed), localHeaderOffset: Int(localOffset),
                                 crc32: crc))
        }
        return entries
    }
}
