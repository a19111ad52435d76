import Foundation
import Tracking
import VideoTracking

/// Finds a dataset's sequences: a DAVIS folder (`JPEGImages/<seq>/`, `Annotations/<seq>/`, also
/// DAVIS's own `JPEGImages/480p/<seq>` form) or a manifest of JSON lines.
public enum DatasetSource {
    /// `resolution`: the subfolder of JPEGImages/ and Annotations/ to read (DAVIS ships 480p and
    /// Full-Resolution); nil takes 480p where both folders have it, else the folders themselves.
    public static func load(_ root: URL, resolution: String? = nil) throws -> [DatasetSequence] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir) else {
            throw DatasetError(path: root.path, reason: "no such file or folder; give a DAVIS folder (JPEGImages/ + Annotations/) or a manifest (.jsonl)")
        }
        return isDir.boolValue ? try davis(root, resolution: resolution) : try DatasetManifest.read(root)
    }

    static func davis(_ root: URL, resolution: String?) throws -> [DatasetSequence] {
        var images = root.appendingPathComponent("JPEGImages"), annotations = root.appendingPathComponent("Annotations")
        guard isFolder(images) else {
            throw DatasetError(path: root.path, reason: "no JPEGImages/ folder: a DAVIS dataset has JPEGImages/<sequence>/ frames and Annotations/<sequence>/ masks (or give a manifest .jsonl file)")
        }
        if let resolution {
            images.appendPathComponent(resolution)
            annotations.appendPathComponent(resolution)
            guard isFolder(images) else {
                throw DatasetError(path: images.path, reason: "no such folder (--resolution \(resolution)); found: \(subfolders(images.deletingLastPathComponent()).joined(separator: ", "))")
            }
        } else if isFolder(images.appendingPathComponent("480p")) && isFolder(annotations.appendingPathComponent("480p")) {
            images.appendPathComponent("480p")
            annotations.appendPathComponent("480p")
        }
        let names = subfolders(images)
        guard !names.isEmpty else { throw DatasetError(path: images.path, reason: "holds no sequence folders") }
        return names.map { name in
            let frames = images.appendingPathComponent(name), gt = annotations.appendingPathComponent(name)
            return DatasetSequence(name: name, video: frames.path, groundTruth: gt.path, weight: max(1, fileCount(frames)))
        }
    }

    /// Keeps the sequences named (in the dataset's order); an unknown name is an error listing the known ones.
    public static func select(_ sequences: [DatasetSequence], names: [String]?) throws -> [DatasetSequence] {
        guard let names else { return sequences }
        let known = Set(sequences.map(\.name))
        if let unknown = names.first(where: { !known.contains($0) }) {
            let list = sequences.prefix(20).map(\.name).joined(separator: ", ") + (sequences.count > 20 ? ", ..." : "")
            throw DatasetError(path: unknown, reason: "no such sequence in the dataset (it has \(sequences.count): \(list))")
        }
        let wanted = Set(names)
        return sequences.filter { wanted.contains($0.name) }
    }

    /// Names in a sequence list file (DAVIS `ImageSets/2017/val.txt`: one per line; blank lines and `#` comments skipped).
    public static func names(inListFile url: URL) throws -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw DatasetError(path: url.path, reason: "cannot read the sequence list (one name per line)")
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    static func isFolder(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    static func subfolders(_ url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && isFolder(url.appendingPathComponent($0)) }.sorted()
    }

    static func fileCount(_ url: URL) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { !$0.hasPrefix(".") }.count
    }
}
