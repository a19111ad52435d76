import Foundation
import Tracking

/// The objects of a run as a person gives them, checked before anything is loaded.
public enum ObjectList {
    /// `--objects FILE.json`: `[{"id": 1, "name": "car", "box": [x0, y0, x1, y1]}]`, checked as `check` does.
    public static func read(path: String) throws -> [ObjectSpec] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrackError.badObjects(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        let specs: [ObjectSpec]
        do { specs = try JSONDecoder().decode([ObjectSpec].self, from: data) } catch {
            throw TrackError.badObjects(path: path, reason: "not a list of objects (\(error))")
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
