import Foundation
import NN
import Imaging
import Tracking
import VideoIO

/// `track --prompts FILE.json`: per object, keyframes on any frames, each a box, points (both may
/// be combined), a mask PNG, or "absent" (the object is not in view there: nothing propagates
/// across it).
///
///     {"objects": [{"id": 1, "name": "car", "keyframes": [
///         {"frame": 0, "box": [x0, y0, x1, y1]},
///         {"frame": 40, "points": [[x, y, 1], [x, y, 0]]},
///         {"frame": 80, "mask": "car_80.png"},
///         {"frame": 120, "absent": true}]}]}
///
/// Mask paths are relative to the file; a mask pixel is the object where its value is above 127
/// (a 0/255 matte from masks/<id>/ edited and given back, soft edges cut at half).
public struct KeyframePlan: Sendable, Hashable {
    public struct Object: Sendable, Hashable {
        public var id: Int
        public var name: String?
        /// Sorted by frame, one per frame.
        public var keyframes: [Keyframe]

        public init(id: Int, name: String? = nil, keyframes: [Keyframe]) {
            self.id = id
            self.name = name
            self.keyframes = keyframes.sorted { $0.frame < $1.frame }
        }
    }

    public struct Keyframe: Sendable, Hashable {
        public var frame: Int
        public var box: Box?
        public var points: [PromptPoint]
        /// Absolute path of the mask PNG.
        public var maskPath: String?
        public var absent: Bool

        public init(frame: Int, box: Box? = nil, points: [PromptPoint] = [], maskPath: String? = nil, absent: Bool = false) {
            self.frame = frame
            self.box = box
            self.points = points
            self.maskPath = maskPath
            self.absent = absent
        }
    }

    public var objects: [Object]
    /// Where the plan was read from, for messages.
    public var source: String

    public init(objects: [Object], source: String = "prompts") {
        self.objects = objects
        self.source = source
    }

    /// The objects as `ObjectSpec`s (box: the first keyframe's box, points' or mask's bounds once
    /// known; the frame's bounds otherwise), for summary.json and the palette.
    func specs(width: Int, height: Int) -> [ObjectSpec] {
        objects.map { o in
            let first = o.keyframes.first { !$0.absent }
            let box = first?.box ?? first.flatMap { Box.around($0.points) }
                ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
            return ObjectSpec(id: o.id, name: o.name, box: box)
        }
    }
}

/// A prompts file or keyframe that cannot be used; names the object and frame.
public struct KeyframeError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let object: Int?
    public let frame: Int?
    public let reason: String

    public var description: String {
        var place = path
        if let object { place += ": object \(object)" }
        if let frame { place += ", keyframe at frame \(frame)" }
        return "\(place): \(reason)"
    }
}

extension KeyframePlan {
    /// Reads and checks the file's structure (frames, boxes and masks against the video are
    /// checked by `check`, once the video is open).
    public static func read(path: String) throws -> KeyframePlan {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw KeyframeError(path: path, object: nil, frame: nil, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// The file's bytes; `path` names it in errors, and mask paths are relative to its folder
    /// (masks are read here).
    public static func parse(_ data: Data, path: String) throws -> KeyframePlan {
        func fail(_ object: Int?, _ frame: Int?, _ reason: String) -> KeyframeError {
            KeyframeError(path: path, object: object, frame: frame, reason: reason)
        }
        func fail(_ reason: String) -> KeyframeError { fail(nil, nil, reason) }
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw fail("not valid JSON (\(JSONValue.reason(error)))")
        }
        let shape = #"expected {"objects": [{"id": 1, "keyframes": [{"frame": 0, "box": [x0, y0, x1, y1]}]}]}"#
        guard case .object(let root) = json, case .array(let list)? = root["objects"] else { throw fail(shape) }
        guard !list.isEmpty else { throw fail("the objects list is empty") }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var objects: [Object] = []
        for (n, item) in list.enumerated() {
            guard case .object(let o) = item else { throw fail("objects[\(n)] is not an object; \(shape)") }
            guard let id = JSONValue.integer(o["id"]), (1...255).contains(id) else {
                throw fail("objects[\(n)]: \"id\" must be a whole number in 1...255 (it is the palette index)")
            }
            if objects.contains(where: { $0.id == id }) { throw fail(id, nil, "the id is used by another object") }
            var name: String?
            if let raw = o["name"], raw != .null {
                guard case .string(let s) = raw else { throw fail(id, nil, "\"name\" must be a string") }
                name = s
            }
            guard case .array(let keys)? = o["keyframes"], !keys.isEmpty else {
                throw fail(id, nil, "needs a non-empty \"keyframes\" list")
            }
            var keyframes: [Keyframe] = []
            for (m, rawKey) in keys.enumerated() {
                guard case .object(let k) = rawKey else { throw fail(id, nil, "keyframes[\(m)] is not an object") }
                guard let frame = JSONValue.integer(k["frame"]), frame >= 0 else {
                    throw fail(id, nil, "keyframes[\(m)]: \"frame\" must be a whole number, 0 or more")
                }
                if keyframes.contains(where: { $0.frame == frame }) { throw fail(id, frame, "a second keyframe on this frame") }
                keyframes.append(try keyframe(k, frame: frame, folder: folder) { fail(id, frame, $0) })
            }
            guard keyframes.contains(where: { !$0.absent }) else {
                throw fail(id, nil, "every keyframe is \"absent\": give at least one box, points or mask")
            }
            objects.append(Object(id: id, name: name, keyframes: keyframes))
        }
        return KeyframePlan(objects: objects, source: path)
    }

    private static func keyframe(_ k: [String: JSONValue], frame: Int, folder: URL,
                                 fail: (String) -> KeyframeError) throws -> Keyframe {
        let known: Set<String> = ["frame", "box", "points", "mask", "absent"]
        if let unknown = k.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown key \"\(unknown)\" (a keyframe has frame, box, points, mask or absent)")
        }
        var key = Keyframe(frame: frame)
        if let raw = k["absent"] {
            guard case .bool(let flag) = raw else {
                throw fail("\"absent\" must be true or false")
            }
            key.absent = flag
        }
        if let raw = k["box"] {
            guard case .array(let v) = raw, v.count == 4, let nums = JSONValue.numbers(v) else {
                throw fail("\"box\" must be [x0, y0, x1, y1] (four numbers, pixels)")
            }
            key.box = Box(x0: nums[0], y0: nums[1], x1: nums[2], y1: nums[3])
        }
        if let raw = k["points"] {
            guard case .array(let list) = raw, !list.isEmpty else { throw fail("\"points\" must be a non-empty list of [x, y, 1 or 0]") }
            for p in list {
                guard case .array(let v) = p, v.count == 3, let nums = JSONValue.numbers(v), nums[2] == 0 || nums[2] == 1 else {
                    throw fail("each point must be [x, y, label] with label 1 (on the object) or 0 (not on it)")
                }
                key.points.append(PromptPoint(x: nums[0], y: nums[1], positive: nums[2] == 1))
            }
        }
        if let raw = k["mask"] {
            guard case .string(let s) = raw, !s.isEmpty else { throw fail("\"mask\" must be a PNG path (relative to the prompts file)") }
            key.maskPath = URL(fileURLWithPath: s, relativeTo: folder).standardizedFileURL.path
        }
        let prompts = (key.box != nil ? 1 : 0) + (key.points.isEmpty ? 0 : 1) + (key.maskPath != nil ? 1 : 0)
        if key.absent && prompts > 0 { throw fail("an \"absent\" keyframe takes no box, points or mask") }
        if !key.absent && prompts == 0 { throw fail("give a box, points, a mask, or \"absent\": true") }
        if key.maskPath != nil && prompts > 1 { throw fail("a mask keyframe takes no box or points (the mask is the answer)") }
        return key
    }

    /// Checks every keyframe against the video: frame inside it (when its length is known),
    /// box with an area overlapping the frame, points inside it, masks readable, of the frame's
    /// size and not empty.
    public func check(width: Int, height: Int, frameCount: Int?) throws {
        for o in objects {
            for k in o.keyframes {
                func fail(_ reason: String) -> KeyframeError { KeyframeError(path: source, object: o.id, frame: k.frame, reason: reason) }
                if let frameCount, k.frame >= frameCount {
                    throw fail("the video has \(frameCount) frames (0...\(frameCount - 1))")
                }
                if let b = k.box {
                    if b.isDegenerate { throw fail("box \(b.x0),\(b.y0),\(b.x1),\(b.y1) has no area (need x0 < x1 and y0 < y1)") }
                    if b.clipped(width: width, height: height) == nil {
                        throw fail("box \(b.x0),\(b.y0),\(b.x1),\(b.y1) lies outside the \(width)x\(height) frame")
                    }
                }
                if let p = k.points.first(where: { !($0.x >= 0 && $0.x < Double(width) && $0.y >= 0 && $0.y < Double(height)) }) {
                    throw fail("point \(p.x),\(p.y) lies outside the \(width)x\(height) frame")
                }
                if k.points.allSatisfy({ !$0.positive }) && !k.points.isEmpty && k.box == nil {
                    throw fail("points without a box need at least one positive point (label 1)")
                }
                if let path = k.maskPath { _ = try KeyframeMask.read(path, width: width, height: height, fail: fail) }
            }
        }
    }
}

/// A keyframe's mask PNG as a frame-size mask.
enum KeyframeMask {
    static func read(_ path: String, width: Int, height: Int, fail: (String) -> KeyframeError) throws -> [Bool] {
        let image: GrayImage
        do { image = try ImageReader.readGray(URL(fileURLWithPath: path)) } catch {
            throw fail("cannot read mask \(path) (\(error))")
        }
        guard image.width == width && image.height == height else {
            throw fail("mask \(path) is \(image.width)x\(image.height); the frame is \(width)x\(height)")
        }
        let mask = image.pixels.map { $0 > 127 }
        guard mask.contains(true) else {
            throw fail("mask \(path) has no pixel above 127; for a frame where the object is out of view use \"absent\": true")
        }
        return mask
    }
}

/// Any JSON value, with booleans, numbers and strings kept apart (so `"id": true` or `"id": 1.5`
/// get their own message instead of a decoder's).
extension JSONValue {
    /// A whole number (`1`, `1.0`), not `1.5`, within Int comfortably.
    static func integer(_ v: JSONValue?) -> Int? {
        guard case .number(let d)? = v, d.isFinite, d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    static func numbers(_ v: [JSONValue]) -> [Double]? {
        var out: [Double] = []
        for x in v {
            guard case .number(let d) = x, d.isFinite else { return nil }
            out.append(d)
        }
        return out
    }

    /// What the JSON parser said, without Foundation's generic "isn't in the correct format".
    static func reason(_ error: any Error) -> String {
        guard case DecodingError.dataCorrupted(let context) = error else { return "\(error.localizedDescription)" }
        let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return UntrustedText.sanitized(underlying ?? context.debugDescription, limit: 200)
    }
}

enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}
