import Foundation
import Imaging
import NN
import Tracking

/// The objects of a run as a person gives them, checked before anything is loaded.
public enum ObjectList {
    /// `--objects FILE.json`: `[{"id": 1, "name": "car", "box": [x0, y0, x1, y1]}]`, checked as `check` does.
    public static func read(path: String) throws -> [ObjectSpec] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrackError.badObjects(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// The file's bytes; `path` names it in errors.
    public static func parse(_ data: Data, path: String) throws -> [ObjectSpec] {
        func bad(_ reason: String) -> TrackError { .badObjects(path: path, reason: reason) }
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw bad("not valid JSON (\(JSONValue.reason(error)))")
        }
        let shape = #"expected [{"id": 1, "name": "car", "box": [x0, y0, x1, y1]}]"#
        guard case .array(let list) = json else { throw bad(shape) }
        var specs: [ObjectSpec] = []
        for (n, item) in list.enumerated() {
            guard case .object(let o) = item else { throw bad("objects[\(n)] is not an object; \(shape)") }
            if let unknown = o.keys.sorted().first(where: { !["id", "name", "box"].contains($0) }) {
                throw bad("objects[\(n)]: unknown key \(UntrustedText.quoted(unknown, limit: 40)) (an object has \"id\", \"name\" and \"box\")")
            }
            guard let id = JSONValue.integer(o["id"]) else {
                throw bad("objects[\(n)]: \"id\" must be a whole number in 1...255 (it is the palette index)")
            }
            var name: String?
            if let raw = o["name"], raw != .null {
                guard case .string(let s) = raw else { throw bad("objects[\(n)] (id \(id)): \"name\" must be a string") }
                name = s
            }
            guard case .array(let raw)? = o["box"], raw.count == 4, let b = JSONValue.numbers(raw) else {
                throw bad("objects[\(n)] (id \(id)): \"box\" must be [x0, y0, x1, y1]: exactly 4 numbers in pixels")
            }
            specs.append(ObjectSpec(id: id, name: name, box: Box(x0: b[0], y0: b[1], x1: b[2], y1: b[3])))
        }
        try check(specs, source: path)
        return specs
    }

    /// At least one object, ids distinct and in 1...255: they are the palette indices of
    /// palette/*.png. `source` names where the objects came from in the error.
    public static func check(_ specs: [ObjectSpec], source: String) throws {
        guard !specs.isEmpty else { throw TrackError.badObjects(path: source, reason: "the list is empty") }
        guard Set(specs.map(\.id)).count == specs.count else {
            throw TrackError.badObjects(path: source, reason: "ids repeat")
        }
        if let bad = specs.first(where: { !(1...255).contains($0.id) }) {
            throw TrackError.badObjects(path: source, reason: "id \(bad.id) is outside 1...255")
        }
    }

    /// Every box must have an area and overlap the frame.
    static func checkBoxes(_ specs: [ObjectSpec], width: Int, height: Int) throws {
        for s in specs {
            if s.box.isDegenerate { throw TrackError.badBox(id: s.id, box: s.box, reason: "has no area (need x0 < x1 and y0 < y1)") }
            if s.box.clipped(width: width, height: height) == nil {
                throw TrackError.badBox(id: s.id, box: s.box, reason: "lies outside the \(width)x\(height) frame")
            }
        }
    }
}
