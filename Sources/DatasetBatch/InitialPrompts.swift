import Foundation
import Imaging
import Metrics
import Tracking
import VideoIO
import VideoTracking

/// A sequence's prompts as a `track --prompts` file in its folder (prompts.json, mask prompts
/// in init/), so the sequence can be rerun by hand with `stablesam track VIDEO --prompts`. Each
/// object starts on its first annotated frame (or the manifest's start frame) and is absent
/// before it: nothing propagates back across the frame before its first prompt.
enum InitialPrompts {
    static func write(_ sequence: DatasetSequence, groundTruth: GroundTruthFrames?, mode: InitMode,
                      layout: BatchLayout, width: Int, height: Int) throws -> KeyframePlan {
        var objects: [[String: Any]] = []
        func object(_ id: Int, _ frame: Int, _ prompt: [String: Any]) -> [String: Any] {
            var keys: [[String: Any]] = []
            if frame > 0 { keys.append(["frame": frame - 1, "absent": true]) }
            keys.append(prompt.merging(["frame": frame]) { a, _ in a })
            return ["id": id, "keyframes": keys]
        }
        if let given = sequence.objects {
            for o in given {
                var entry = object(o.id, sequence.startFrame, ["box": [o.box.x0, o.box.y0, o.box.x1, o.box.y1]])
                if let name = o.name { entry["name"] = name }
                objects.append(entry)
            }
        } else {
            guard let groundTruth else { throw BatchError.noAnnotations(sequence: sequence.name, path: sequence.groundTruth ?? "-") }
            let first = groundTruth.firstAppearances()
            guard !first.isEmpty else { throw BatchError.noObjects(sequence: sequence.name, path: groundTruth.masks.directory) }
            for f in first {
                guard let id = Int(f.id), (1...255).contains(id) else {
                    throw BatchError.objectName(sequence: sequence.name, name: f.id, path: groundTruth.masks.directory)
                }
                switch mode {
                case .box:
                    let b = f.mask.boundingBox
                    objects.append(object(id, f.frame, ["box": [b.x0, b.y0, b.x1, b.y1]]))
                case .mask:
                    let url = layout.initMask(sequence.name, id: id)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try ImageWriter.writePNG(GrayImage(width: f.mask.width, height: f.mask.height,
                                                       pixels: f.mask.bits.map { $0 ? 255 : 0 }), to: url)
                    objects.append(object(id, f.frame, ["mask": "init/\(id).png"]))
                }
            }
        }
        let data = try JSONSerialization.data(withJSONObject: ["objects": objects], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let url = layout.prompts(sequence.name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
        // Read back as `track --prompts` reads it: the same checks and messages.
        let plan = try KeyframePlan.read(path: url.path)
        try plan.check(width: width, height: height, frameCount: nil)
        return plan
    }
}
