import Foundation
internal import COpenEXR
internal import COpenEXRImf

/// Compression of an EXR file. All of them keep alpha channels (`A`, `layer.A`) lossless;
/// DWAA (32 scanlines a block) and DWAB (256) are lossy only on colour channels (R, G, B, Y, at
/// OpenEXR's default level 45) and are written by OpenEXR's C++ library: OpenEXRCore 3.1 has no
/// DWA encoder.
public enum EXRCompression: String, Sendable, Codable, CaseIterable {
    case none, zip, piz, dwaa, dwab
}

/// One channel of an EXR image: its full name (`car.A` puts channel `A` in layer `car`, as Nuke
/// and OpenImageIO read it) and its values, row-major at the image size (`values[y * width + x]`).
public struct EXRChannel: Sendable {
    public var name: String
    public var values: [Float]

    public init(name: String, values: [Float]) {
        self.name = name
        self.values = values
    }
}

/// Writes single-part scanline OpenEXR files with half-float channels, through OpenEXR's own C
/// library (OpenEXRCore), which names channels freely (FFmpeg's EXR encoder writes fixed names
/// only); DWAA and DWAB through its C++ library (Imf), with the same header apart from the
/// compression. Files are written atomically (see `AtomicFile`).
public enum EXRWriter {
    /// Writes `channels` (each `width * height` values, rounded to half precision, round to
    /// nearest even) to `url`. Channel names must be distinct, non-empty and free of NULs.
    public static func write(_ channels: [EXRChannel], width: Int, height: Int, compression: EXRCompression = .zip,
                             to url: URL) throws(VideoIOError) {
        let path = url.path
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw .invalidImage(path: path, reason: "size \(width)x\(height) has no pixels")
        }
        guard !channels.isEmpty else { throw .invalidImage(path: path, reason: "an EXR file needs at least one channel") }
        var names = Set<String>()
        for c in channels {
            // Both libraries take C strings: a NUL would cut the name (and could make two names one).
            guard !c.name.isEmpty, !c.name.contains("\0"), names.insert(c.name).inserted else {
                throw .invalidImage(path: path, reason: "channel name '\(c.name)' is empty, holds a NUL or is given twice")
            }
            guard c.values.count == width * height else {
                throw .invalidImage(path: path, reason: "channel \(c.name) has \(c.values.count) values for \(width)x\(height)")
            }
        }
        // Half values, one plane per channel, alive until the file is finished.
        let plane = width * height
        let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: channels.count * plane)
        defer { halves.deallocate() }
        for (k, c) in channels.enumerated() {
            c.values.withUnsafeBufferPointer { v in
                for i in 0..<plane { halves[k * plane + i] = imath_float_to_half(v[i]) }
            }
        }
        try AtomicFile.write(to: url) { temporary throws(VideoIOError) in
            if let imf = compression.imf {
                try ImfWriter.write(channels.map(\.name), halves: UnsafeBufferPointer(halves), width: width, height: height,
                                    compression: imf, temporaryPath: temporary, path: path, name: compression.rawValue)
                return
            }
            let file = try EXRFile(temporaryPath: temporary, path: path)
            try file.write(channels.map(\.name), halves: UnsafeBufferPointer(halves), width: width, height: height,
                           compression: compression)
            try file.finish()
        }
    }
}

extension EXRWriter {
    /// Throws the library's own error when it cannot write `compression`, found by writing a 1x1
    /// file in the temporary folder: a run can refuse an option up front instead of failing on its
    /// first frame (a linked OpenEXR built without a codec, or a broken install).
    public static func checkSupported(_ compression: EXRCompression) throws(VideoIOError) {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent(".stablesam-exr-probe-\(UUID().uuidString).exr")
        defer { unlink(probe.path) }
        try write([EXRChannel(name: "A", values: [0.5])], width: 1, height: 1, compression: compression, to: probe)
    }
}

/// The OpenEXR library linked at run time, for run manifests.
public enum EXRInfo {
    public static var version: String {
        var (major, minor, patch): (Int32, Int32, Int32) = (0, 0, 0)
        var extra: UnsafePointer<CChar>? = nil
        exr_get_library_version(&major, &minor, &patch, &extra)
        return "\(major).\(minor).\(patch)" + (extra.map { String(cString: $0) } ?? "")
    }
}

/// One EXR file open for writing; owns the OpenEXRCore context (freed by `finish` or `deinit`)
/// and collects the library's error messages, which would otherwise go to stderr.
private final class EXRFile {
    let path: String
    private var context: exr_context_t?

    init(temporaryPath: String, path: String) throws(VideoIOError) {
        self.path = path
        var initializer = copenexr_default_initializer()
        initializer.error_handler_fn = { context, _, text in
            EXRMessages.shared.set(EXRMessages.key(context), text.map { String(cString: $0) } ?? "")
        }
        try check(exr_start_write(&context, temporaryPath, EXR_WRITE_FILE_DIRECTLY, &initializer), "exr_start_write")
    }

    deinit {
        // An unfinished file (an error on the way): free the context; the caller removes the file.
        let key = EXRMessages.key(context)
        if context != nil { exr_finish(&context) }
        _ = EXRMessages.shared.take(key)
    }

    /// Defines the part and its half channels, writes the header, then every scanline chunk.
    /// `halves` holds one plane of `width * height` values per name, in the order of `names`.
    func write(_ names: [String], halves: UnsafeBufferPointer<UInt16>, width: Int, height: Int,
               compression: EXRCompression) throws(VideoIOError) {
        var part: Int32 = 0
        try check(exr_add_part(context, nil, EXR_STORAGE_SCANLINE, &part), "exr_add_part")
        try check(exr_initialize_required_attr_simple(context, part, Int32(width), Int32(height), compression.core),
                  "exr_initialize_required_attr_simple")
        for name in names {
            try check(exr_add_channel(context, part, name, EXR_PIXEL_HALF, EXR_PERCEPTUALLY_LOGARITHMIC, 1, 1),
                      "exr_add_channel (\(name))")
        }
        try check(exr_write_header(context), "exr_write_header")
        var linesPerChunk: Int32 = 0
        try check(exr_get_scanlines_per_chunk(context, part, &linesPerChunk), "exr_get_scanlines_per_chunk")
        let plane = width * height
        var encoder = copenexr_encode_pipeline()
        defer { exr_encoding_destroy(context, &encoder) }
        var first = true
        for y in stride(from: 0, to: height, by: Int(max(linesPerChunk, 1))) {
            var chunk = exr_chunk_info_t()
            try check(exr_write_scanline_chunk_info(context, part, Int32(y), &chunk), "exr_write_scanline_chunk_info (y \(y))")
            if first {
                try check(exr_encoding_initialize(context, part, &chunk, &encoder), "exr_encoding_initialize")
            } else {
                try check(exr_encoding_update(context, part, &chunk, &encoder), "exr_encoding_update (y \(y))")
            }
            // The library lists channels sorted by name: find each one's plane by its name.
            for c in 0..<Int(encoder.channel_count) {
                let name = String(cString: encoder.channels[c].channel_name)
                guard let k = names.firstIndex(of: name) else {
                    throw .openEXR(path: path, operation: "exr_encoding_initialize", code: 0,
                                   message: "the part lists a channel '\(name)' that was not added")
                }
                encoder.channels[c].user_bytes_per_element = 2
                encoder.channels[c].user_data_type = UInt16(EXR_PIXEL_HALF.rawValue)
                encoder.channels[c].user_pixel_stride = 2
                encoder.channels[c].user_line_stride = Int32(2 * width)
                let start = UnsafeRawPointer(halves.baseAddress! + k * plane + Int(chunk.start_y) * width)
                copenexr_set_encode_pointer(&encoder.channels[c], start.assumingMemoryBound(to: UInt8.self))
            }
            if first {
                try check(exr_encoding_choose_default_routines(context, part, &encoder), "exr_encoding_choose_default_routines")
                first = false
            }
            try check(exr_encoding_run(context, part, &encoder), "exr_encoding_run (y \(y))")
        }
    }

    /// Writes the chunk offset table and closes the file.
    func finish() throws(VideoIOError) {
        let key = EXRMessages.key(context)
        let code = exr_finish(&context)
        context = nil
        try check(code, "exr_finish", key: key)
    }

    private func check(_ code: exr_result_t, _ operation: @autoclosure () -> String, key: Int? = nil) throws(VideoIOError) {
        guard code != EXR_ERR_SUCCESS.rawValue else { return }
        let name = exr_get_error_code_as_string(code).map { String(cString: $0) } ?? "error"
        let text = EXRMessages.shared.take(key ?? EXRMessages.key(context))
            ?? exr_get_default_error_message(code).map { String(cString: $0) } ?? "unknown error"
        throw .openEXR(path: path, operation: operation(), code: code, message: "\(text) [\(name)]")
    }
}

/// The DWA writer: OpenEXR's C++ library behind `copenexrimf_write_half`, which turns its
/// exceptions into a message.
private enum ImfWriter {
    /// `halves` holds one plane of `width * height` values per name, in the order of `names`.
    static func write(_ names: [String], halves: UnsafeBufferPointer<UInt16>, width: Int, height: Int,
                      compression: copenexrimf_compression, temporaryPath: String, path: String,
                      name: String) throws(VideoIOError) {
        let plane = width * height
        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let namePointers = cNames.map { UnsafePointer($0) }
        let planes: [UnsafePointer<UInt16>?] = names.indices.map { halves.baseAddress! + $0 * plane }
        let capacity = 1024
        var message = [CChar](repeating: 0, count: capacity)
        let code = namePointers.withUnsafeBufferPointer { n in
            planes.withUnsafeBufferPointer { p in
                copenexrimf_write_half(temporaryPath, Int32(width), Int32(height), Int32(names.count), n.baseAddress,
                                       p.baseAddress, compression, &message, capacity)
            }
        }
        guard code == 0 else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .openEXRException(path: path, compression: name, message: text.isEmpty ? "no message" : text)
        }
    }
}

/// The library's error messages by context. Its error handler gets only the context, and asking
/// the context for user data from inside the handler deadlocks (the library holds the context's
/// lock while it reports), so messages are kept here until the failing call returns.
private final class EXRMessages: @unchecked Sendable {
    static let shared = EXRMessages()
    /// Guards `messages`.
    private let lock = NSLock()
    private var messages: [Int: String] = [:]

    static func key(_ context: OpaquePointer?) -> Int { Int(bitPattern: context) }

    func set(_ key: Int, _ message: String) { lock.withLock { messages[key] = message } }
    func take(_ key: Int) -> String? { lock.withLock { messages.removeValue(forKey: key) } }
}

extension EXRCompression {
    fileprivate var core: exr_compression_t {
        switch self {
        case .none: EXR_COMPRESSION_NONE
        case .zip: EXR_COMPRESSION_ZIP
        case .piz: EXR_COMPRESSION_PIZ
        case .dwaa: EXR_COMPRESSION_DWAA
        case .dwab: EXR_COMPRESSION_DWAB
        }
    }

    /// The compressions written through the C++ library, which OpenEXRCore 3.1 cannot encode.
    fileprivate var imf: copenexrimf_compression? {
        switch self {
        case .none, .zip, .piz: nil
        case .dwaa: COPENEXRIMF_DWAA
        case .dwab: COPENEXRIMF_DWAB
        }
    }
}
