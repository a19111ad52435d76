import Foundation
import VideoIO

/// Report files, written atomically: JSON (snake_case keys, sorted) or text.
public enum ReportFiles {
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try write(String(decoding: try encoder.encode(value), as: UTF8.self), to: path)
    }

    public static func write(_ text: String, to path: String) throws {
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: path))
    }
}
