import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public enum FetchError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case http(url: String, status: Int)
    case transport(url: String, reason: String)
    case sizeMismatch(url: String, expected: Int64, actual: Int64)
    case hashMismatch(file: String, expectedPrefix: String, actual: String)
    case cannotStore(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownModel(n, known): return "unknown model '\(n)': known models are \(known.joined(separator: ", "))"
        case let .http(url, status): return "download of \(url) failed with HTTP \(status); check the URL or try again later"
        case let .transport(url, reason): return "download of \(url) failed: \(reason); check the network connection"
        case let .sizeMismatch(url, e, a):
            return "download of \(url) is incomplete: the server announced \(e) bytes, \(a) arrived; try again"
        case let .hashMismatch(file, e, a):
            return "\(file) has SHA-256 \(a), which does not start with \(e): the file is corrupt or not the official one, and was not kept"
        case let .cannotStore(path, reason): return "cannot store the checkpoint at \(path): \(reason); set STABLESAM_CACHE to a writable folder"
        }
    }
}

/// Downloads a registry checkpoint into the cache: to a temporary file first, then size and
/// SHA-256 checks, then an atomic rename, so the cache never holds a partial or wrong file.
public struct ModelFetcher: Sendable {
    /// Replaces the host part of registry URLs (mirrors, and the loopback server in tests).
    public var baseURL: URL?
    public var cacheDirectory: URL

    public init(baseURL: URL? = nil, cacheDirectory: URL = ModelRegistry.cacheDirectory) {
        self.baseURL = baseURL
        self.cacheDirectory = cacheDirectory
    }

    public func sourceURL(for entry: ModelEntry) -> URL {
        if let baseURL { return baseURL.appendingPathComponent(entry.file) }
        return URL(string: entry.url)!
    }

    /// Returns the verified file in the cache (downloading only when it is not there yet).
    public func fetch(_ entry: ModelEntry) async throws -> URL {
        let dest = cacheDirectory.appendingPathComponent(entry.file)
        if FileManager.default.fileExists(atPath: dest.path) { return dest }
        do {
            try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        } catch {
            throw FetchError.cannotStore(path: cacheDirectory.path, reason: error.localizedDescription)
        }
        let source = sourceURL(for: entry)
        let (tmp, response): (URL, URLResponse)
        do {
            (tmp, response) = try await URLSession.shared.download(from: source)
        } catch {
            throw FetchError.transport(url: source.absoluteString, reason: error.localizedDescription)
        }
        defer { try? FileManager.default.removeItem(at: tmp) }
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            throw FetchError.http(url: source.absoluteString, status: http.statusCode)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: tmp.path)[.size] as? Int64) ?? nil ?? 0
        if response.expectedContentLength > 0 && response.expectedContentLength != size {
            throw FetchError.sizeMismatch(url: source.absoluteString, expected: response.expectedContentLength, actual: size)
        }
        let digest = try Self.sha256(of: tmp)
        if let prefix = entry.sha256Prefix, !digest.hasPrefix(prefix) {
            throw FetchError.hashMismatch(file: entry.file, expectedPrefix: prefix, actual: digest)
        }
        let staged = cacheDirectory.appendingPathComponent(".\(entry.file).\(UUID().uuidString).part")
        do {
            try FileManager.default.moveItem(at: tmp, to: staged)
            if rename(staged.path, dest.path) != 0 { throw FetchError.cannotStore(path: dest.path, reason: String(cString: strerror(errno))) }
        } catch let e as FetchError {
            try? FileManager.default.removeItem(at: staged)
            throw e
        } catch {
            try? FileManager.default.removeItem(at: staged)
            throw FetchError.cannotStore(path: dest.path, reason: error.localizedDescription)
        }
        return dest
    }

    /// Streams the file through SHA-256 in 4 MB pieces (a ViT-H checkpoint is 2.5 GB).
    public static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hash.update(chunk) }
        return hash.finalize()
    }
}
