import Imaging
import Tracking

/// A run that cannot start or go on: the messages name the CLI's flags, since the CLI prints them
/// as they are (a server shows them beside its own form's fields).
public enum TrackError: Error, CustomStringConvertible {
    case startPastEnd(start: Int, frames: Int, path: String)
    case badBox(id: Int, box: Box, reason: String)
    case badObjects(path: String, reason: String)
    case previousRun(path: String, keyframes: Bool = false)
    case cannotResume(path: String, reason: String)
    case promptsExclude(String)

    public var description: String {
        switch self {
        case let .startPastEnd(start, frames, path):
            "--start-frame \(start) is past the end: \(path) has \(frames) frames (0...\(frames - 1))"
        case let .badBox(id, box, reason):
            "object \(id): box \(box.x0),\(box.y0),\(box.x1),\(box.y1) \(reason); boxes are x0,y0,x1,y1 in pixels, origin top-left"
        case let .badObjects(path, reason):
            "\(path): \(reason); expected a JSON array like [{\"id\": 1, \"name\": \"car\", \"box\": [x0, y0, x1, y1]}]"
        case let .previousRun(path, keyframes):
            keyframes
                ? "\(path) already holds a track run (summary.json): pass --update to apply these keyframes to it (only what they change is recomputed), or choose another --out"
                : "\(path) already holds a track run (summary.json): pass --resume to continue it, or choose another --out"
        case let .cannotResume(path, reason):
            "cannot resume in \(path): \(reason)"
        case let .promptsExclude(what):
            "--prompts gives every object's keyframes: \(what) cannot be combined with it"
        }
    }
}

/// The output folder (or a file the run keeps in it) cannot be created or written.
public struct OutputFolderError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    public var description: String { "cannot create output folder \(path): \(reason); choose a writable --out" }
}

/// Input of `--adapt` that does not fit the run: the CLI prints these as usage errors.
public enum AdaptationInputError: Error, CustomStringConvertible {
    case maskSize(path: String, width: Int, height: Int, frameWidth: Int, frameHeight: Int)
    case maskMissesObject(path: String, id: Int)
    case regularRoute

    public var description: String {
        switch self {
        case let .maskSize(path, width, height, frameWidth, frameHeight):
            "--mask \(path) is \(width)x\(height); the frame is \(frameWidth)x\(frameHeight)"
        case let .maskMissesObject(path, id):
            "--mask \(path) has no pixel of object \(id) (value \(id)); every object needs its mask"
        case .regularRoute:
            "--adapt with --route regular: the regular route never runs the plugin"
        }
    }
}
