import Foundation
import Imaging
import VideoIO
import VideoTracking

/// prompts.json as the page edits it: the same format `track --prompts` reads. Every change is
/// checked by `KeyframePlan`'s own reader and checks (so the page gets `track`'s messages) before
/// it replaces the file, atomically.
struct PromptsDocument: Codable, Equatable, Sendable {
    struct Object: Codable, Equatable, Sendable {
        var id: Int
        var name: String?
        var keyframes: [Keyframe]
    }

    struct Keyframe: Codable, Equatable, Sendable {
        var frame: Int
        /// [x0, y0, x1, y1] in pixels.
        var box: [Double]?
        /// [[x, y, 1 or 0]]: 1 on the object, 0 not on it.
        var points: [[Double]]?
        /// A mask PNG path as a hand-written file gives it (the page never writes one).
        var mask: String?
        var absent: Bool?
    }

    var objects: [Object] = []

    static func read(_ url: URL) throws -> PromptsDocument {
        guard FileManager.default.fileExists(atPath: url.path) else { return PromptsDocument() }
        do {
            return try JSONDecoder().decode(PromptsDocument.self, from: Data(contentsOf: url))
        } catch {
            throw ServeError.bad("\(url.path) is not a prompts file the page can edit (\(error)): fix or move it")
        }
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Sets object `id`'s keyframe on `key.frame` (adding the object when new), keyframes in frame order.
    mutating func set(_ key: Keyframe, id: Int, name: String?) {
        if let n = objects.firstIndex(where: { $0.id == id }) {
            objects[n].keyframes.removeAll { $0.frame == key.frame }
            objects[n].keyframes.append(key)
            objects[n].keyframes.sort { $0.frame < $1.frame }
            if let name { objects[n].name = name }
        } else {
            objects.append(Object(id: id, name: name, keyframes: [key]))
            objects.sort { $0.id < $1.id }
        }
    }

    /// Removes object `id`'s keyframe on `frame` (and the object with its last keyframe); false if there was none.
    mutating func remove(id: Int, frame: Int) -> Bool {
        guard let n = objects.firstIndex(where: { $0.id == id }),
              let k = objects[n].keyframes.firstIndex(where: { $0.frame == frame }) else { return false }
        objects[n].keyframes.remove(at: k)
        if objects[n].keyframes.isEmpty { objects.remove(at: n) }
        return true
    }

    /// Writes the document to `url` if `track --prompts` would accept it for this video; throws its
    /// message otherwise and leaves the file as it was. An empty document removes the file.
    func save(to url: URL, info: VideoInfo, frameCount: Int?) throws {
        if objects.isEmpty {
            try? FileManager.default.removeItem(at: url)
            return
        }
        let data = try encoded()
        // Checked where it will live: mask paths are relative to the file's folder.
        let candidate = url.deletingLastPathComponent().appendingPathComponent(".serve-prompts-check.json")
        try AtomicFile.write(data, to: candidate)
        defer { try? FileManager.default.removeItem(at: candidate) }
        do {
            let plan = try KeyframePlan.read(path: candidate.path)
            try plan.check(width: info.width, height: info.height, frameCount: frameCount)
        } catch let error as KeyframeError {
            throw ServeError.bad(error.description.replacingOccurrences(of: candidate.path, with: url.path))
        }
        try AtomicFile.write(data, to: url)
    }

    /// The page's view: objects with names, colours (the palette's: index = id) and keyframes.
    var json: [[String: Any]] {
        objects.map { o in
            let c = RGBColor.davisPalette[o.id]
            return ["id": o.id, "name": o.name ?? "object \(o.id)", "color": [Int(c.r), Int(c.g), Int(c.b)],
                    "keyframes": o.keyframes.map { k -> [String: Any] in
                        var d: [String: Any] = ["frame": k.frame]
                        if let b = k.box { d["box"] = b }
                        if let p = k.points { d["points"] = p }
                        if k.mask != nil { d["mask"] = true }
                        if k.absent == true { d["absent"] = true }
                        return d
                    }]
        }
    }
}
