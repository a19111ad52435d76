/// What stops one sequence (recorded in its batch.json; the others still run) or the whole batch.
public enum BatchError: Error, CustomStringConvertible, Equatable {
    case noAnnotations(sequence: String, path: String)
    case noObjects(sequence: String, path: String)
    case objectName(sequence: String, name: String, path: String)
    case annotationWithoutFrame(sequence: String, annotation: String, video: String)
    case annotationOrder(sequence: String, path: String)
    case annotationPastEnd(sequence: String, annotation: String, frame: Int, frames: Int)
    case otherSettings(path: String, field: String)
    case unfinished(path: String, sequences: [String])
    case noPlan(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .noAnnotations(s, p):
            return "sequence \(s): no annotations in \(p): the first annotated frame gives the prompts (DAVIS semi-supervised); "
                + "add its masks, or leave the sequence out with --sequences"
        case let .noObjects(s, p): return "sequence \(s): the annotations in \(p) hold no object (every mask is empty)"
        case let .objectName(s, n, p):
            return "sequence \(s): object \"\(n.prefix(40))\" in \(p) is not a palette index: object ids are whole numbers in 1...255"
        case let .annotationWithoutFrame(s, a, v):
            return "sequence \(s): annotation \(a) has no frame of the same name in \(v)"
        case let .annotationOrder(s, p): return "sequence \(s): the annotations in \(p) do not name frames in increasing order"
        case let .annotationPastEnd(s, a, f, n): return "sequence \(s): annotation \(a) is for frame \(f) but the video has \(n) frames"
        case let .otherSettings(p, f):
            return "\(p) holds a batch run with other settings, \(f): give another --out, or the settings it was started with"
        case let .unfinished(p, list):
            let names = list.prefix(20).joined(separator: ", ") + (list.count > 20 ? ", ... (\(list.count) in all)" : "")
            return "\(p): \(list.count) sequence(s) not finished yet: \(names); run their shards (or `batch` again), or merge with --partial"
        case let .noPlan(p):
            return "\(p) holds no batch run (no batch-plan.json): give the --out folder of `stablesam batch`"
        case let .unreadable(p, r): return "cannot read \(p): \(r)"
        }
    }
}
