import Foundation

/// Reads EXR files with readers this project did not write: OpenEXR's `exrheader` (Debian
/// `openexr`) for the header, OpenImageIO's `oiiotool` (Debian `openimageio-tools`, on OpenEXR's
/// C++ library) for pixel values. A missing tool is an error saying how to install it, never a skip.
public enum EXRReference {
    public struct Channel: Equatable, Sendable {
        public var name: String
        /// exrheader's words: "16-bit floating-point", "32-bit floating-point", "32-bit unsigned integer".
        public var type: String
    }

    public struct Header: Sendable {
        public var channels: [Channel]
        /// exrheader's compression line, e.g. "zip, multi-scanline blocks", "piz", "dwa, small scanline blocks" (DWAA).
        public var compression: String
        public var dataWindow: String
        /// "2, flags 0x0": the file format version and its flags (0x400: long names).
        public var version: String
        /// Every attribute exrheader printed on one line, by name: "dataWindow" -> "(type box2i): (0 0) - (28 18)".
        public var attributes: [String: String]
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func tool(_ name: String) throws -> URL {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw Failure(description: "\(name) not found: run Scripts/install-deps.sh (it installs openexr for exrheader "
                      + "and openimageio-tools for oiiotool); the EXR tests need a second reader")
    }

    static func run(_ name: String, _ arguments: [String]) throws -> String {
        let r = try CLIRunner.run(arguments, executable: try tool(name))
        guard r.status == 0 else { throw Failure(description: "\(name) \(arguments) failed (\(r.status)): \(r.stderr)") }
        return r.stdout
    }

    /// `exrheader FILE`: channel names and types, compression, data window.
    public static func header(_ url: URL) throws -> Header {
        let lines = try run("exrheader", [url.path]).split(separator: "\n").map(String.init)
        var header = Header(channels: [], compression: "", dataWindow: "", version: "", attributes: [:])
        var inChannels = false
        for line in lines {
            if line.hasPrefix("channels (type chlist)") { inChannels = true; continue }
            if inChannels, line.hasPrefix("    ") {
                // "    car.A, 16-bit floating-point, sampling 1 1"
                let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: ", ")
                if parts.count >= 2 { header.channels.append(Channel(name: parts[0], type: parts[1])) }
                continue
            }
            inChannels = false
            if line.hasPrefix("file format version: ") { header.version = String(line.dropFirst("file format version: ".count)) }
            // "lineOrder (type lineOrder): increasing y"
            if let space = line.firstIndex(of: " "), line[space...].hasPrefix(" (type "), line.contains("): ") {
                header.attributes[String(line[..<space])] = String(line[line.index(after: space)...])
            }
            if line.hasPrefix("compression (type compression): ") {
                header.compression = String(line.dropFirst("compression (type compression): ".count))
            }
            if line.hasPrefix("dataWindow (type box2i): ") {
                header.dataWindow = String(line.dropFirst("dataWindow (type box2i): ".count))
            }
        }
        guard !header.channels.isEmpty else { throw Failure(description: "exrheader listed no channels for \(url.path)") }
        return header
    }

    /// Every channel's values as OpenImageIO decodes them (`oiiotool --dumpdata`, 9 decimals),
    /// row-major, keyed by channel name.
    public static func pixels(_ url: URL) throws -> [String: [Float]] {
        let info = try run("oiiotool", ["--info", "-v", url.path])
        guard let listLine = info.split(separator: "\n").first(where: { $0.contains("channel list:") }) else {
            throw Failure(description: "oiiotool --info printed no channel list for \(url.path)")
        }
        let names = listLine.components(separatedBy: "channel list:")[1].trimmingCharacters(in: .whitespaces)
            .components(separatedBy: ", ")
        var values = [[Float]](repeating: [], count: names.count)
        for line in try run("oiiotool", ["--dumpdata", url.path]).split(separator: "\n") where line.contains("Pixel (") {
            // "    Pixel (3, 0): 0.000000000 0.449951172 ..."
            let numbers = line.components(separatedBy: "):")[1].split(separator: " ").compactMap { Float(String($0)) }
            guard numbers.count == names.count else {
                throw Failure(description: "oiiotool printed \(numbers.count) values for \(names.count) channels: \(line)")
            }
            for (k, v) in numbers.enumerated() { values[k].append(v) }
        }
        return Dictionary(uniqueKeysWithValues: zip(names, values))
    }
}
