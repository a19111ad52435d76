import Foundation
import Tracking
import VideoTracking

/// A manifest: one JSON object per line,
///
///     {"name": "dance", "video": "videos/dance.mp4", "objects": [{"id": 1, "box": [x0, y0, x1, y1]}],
///      "start_frame": 0, "gt": "gt/dance"}
///
/// `video` (a file or an image folder) is required; `objects` (as `track --objects` takes them,
/// boxes on `start_frame`) may be left out where `gt` is given, and the prompts then come from the
/// ground truth; `name` defaults to the video's file name without extension. Paths are relative to
/// the manifest's folder. Blank lines and lines starting with `#` are skipped. A line that is not
/// valid is an error for the whole manifest (fix it before hours of tracking); a path that does
/// not exist is the sequence's failure when it runs, and the others still run.
public enum DatasetManifest {
    static let keys: Set<String> = ["name", "video", "objects", "start_frame", "gt"]

    public static func read(_ url: URL) throws -> [DatasetSequence] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DatasetError(path: url.path, reason: "cannot read the manifest")
        }
        return try parse(data, path: url.path, folder: url.deletingLastPathComponent())
    }

    public static func parse(_ data: Data, path: String, folder: URL) throws -> [DatasetSequence] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(path: path, reason: "not UTF-8 text; a manifest is JSON lines")
        }
        // Paths resolve against the folder itself (a URL not marked as a folder resolves against its parent).
        let folder = URL(fileURLWithPath: folder.path, isDirectory: true)
        var sequences: [DatasetSequence] = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let at = "\(path):\(n + 1)"
            let sequence = try parseLine(Data(line.utf8), at: at, folder: folder)
            if let other = sequences.first(where: { $0.name == sequence.name }) {
                throw DatasetError(path: at, reason: "sequence name \"\(sequence.name)\" is used twice (also by \(other.video)); give each line its own \"name\"")
            }
            sequences.append(sequence)
        }
        guard !sequences.isEmpty else { throw DatasetError(path: path, reason: "the manifest lists no sequences") }
        return sequences
    }

    /// The typed fields of a line; `objects` is read by `ObjectList` for its own checks and messages.
    private struct Line: Decodable {
        var name: String?
        var video: String?
        var gt: String?
        var start_frame: Int?
    }

    static func parseLine(_ data: Data, at: String, folder: URL) throws -> DatasetSequence {
        func bad(_ reason: String) -> DatasetError { DatasetError(path: at, reason: reason) }
        let shape = #"expected {"video": "clip.mp4", "objects": [{"id": 1, "box": [x0, y0, x1, y1]}], "gt": "gt/clip"}"#
        guard let value = try? JSONSerialization.jsonObject(with: data), let o = value as? [String: Any] else {
            throw bad("not a JSON object; \(shape)")
        }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw bad("unknown key \"\(unknown.prefix(40))\" (a line has \(keys.sorted().joined(separator: ", ")))")
        }
        let line: Line
        do { line = try JSONDecoder().decode(Line.self, from: data) } catch {
            throw bad("\"name\", \"video\" and \"gt\" must be strings and \"start_frame\" a whole number (\(error))")
        }
        guard let video = line.video, !video.isEmpty else { throw bad("\"video\" (a file or image folder path) is required") }
        let gt = line.gt.flatMap { $0.isEmpty ? nil : $0 }
        let start = line.start_frame ?? 0
        guard start >= 0 else { throw bad("\"start_frame\" must be 0 or more") }
        var objects: [ObjectSpec]?
        if let raw = o["objects"], !(raw is NSNull) {
            let encoded = (try? JSONSerialization.data(withJSONObject: raw)) ?? Data()
            do { objects = try ObjectList.parse(encoded, path: at) } catch { throw bad("\"objects\": \(error)") }
        }
        guard objects != nil || gt != nil else {
            throw bad("give \"objects\" (boxes on start_frame) or \"gt\" (ground truth whose first annotated frame gives the prompts)")
        }
        if objects == nil && start > 0 { throw bad("\"start_frame\" is the frame of the \"objects\" boxes: give them") }
        let videoURL = URL(fileURLWithPath: video, relativeTo: folder).standardizedFileURL
        let name = line.name.flatMap { $0.isEmpty ? nil : $0 } ?? videoURL.deletingPathExtension().lastPathComponent
        guard !name.contains("/"), !name.hasPrefix("."), !name.hasPrefix("shard-"), name != "report.json" else {
            throw bad("sequence name \"\(name.prefix(60))\" cannot be a folder name here (no /, not starting with . or shard-)")
        }
        let gtPath = gt.map { URL(fileURLWithPath: $0, relativeTo: folder).standardizedFileURL.path }
        let weight = DatasetSource.isFolder(videoURL) ? DatasetSource.fileCount(videoURL)
            : gtPath.map { DatasetSource.fileCount(URL(fileURLWithPath: $0)) } ?? 1
        return DatasetSequence(name: name, video: videoURL.path, groundTruth: gtPath, objects: objects, startFrame: start,
                               weight: max(1, weight))
    }
}
