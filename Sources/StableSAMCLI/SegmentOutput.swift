import Foundation
import Imaging
import Metrics
import SegmentAnything
import VideoIO

/// `result.json` of `segment`.
struct SegmentResult: Codable {
    struct Mask: Codable {
        var index: Int
        var file: String
        var predictedIou: Float
        var area: Int
        /// COCO [x, y, w, h]
        var bbox: [Double]
        var rle: RLE
    }
    struct Point: Codable { var x: Double, y: Double, label: Int }

    var image: String
    var width: Int
    var height: Int
    var model: String
    /// Stable-SAM plugin file, nil for plain SAM.
    var plugin: String?
    /// auto | deformable | regular
    var routeMode: String
    /// [a1 (deformed), a2 (regular)] that block 2 used; nil without a plugin.
    var route: [Float]?
    /// [x0, y0, x1, y1]
    var box: Box?
    var points: [Point]
    var multimask: Bool
    /// Index into `masks` of the mask written as mask.png (highest predicted IoU).
    var best: Int
    var masks: [Mask]
}

struct SegmentOutput {
    let image: RGBImage
    let prompt: Prompt
    let prediction: Prediction
    let modelPath: String
    let pluginPath: String?
    let routeMode: Route
    let imagePath: String
    let multimask: Bool

    func write(to dir: URL) throws {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CLIError.outputFolder(path: dir.path, reason: error.localizedDescription)
        }
        let (w, h) = (image.width, image.height)
        let count = prediction.iou.count
        let best = prediction.iou.indices.max { prediction.iou[$0] < prediction.iou[$1] } ?? 0
        var masks: [SegmentResult.Mask] = []
        for i in 0..<count {
            let bits = prediction.mask(i)
            let file = multimask ? "mask_\(i).png" : "mask.png"
            if multimask {
                try ImageWriter.writePNG(GrayImage(width: w, height: h, pixels: bits.map { $0 * 255 }), to: dir.appendingPathComponent(file))
            }
            let rle = RLE.encode(mask: bits, height: h, width: w)
            masks.append(.init(index: i, file: file, predictedIou: prediction.iou[i], area: rle.area,
                               bbox: rle.boundingBox.coco, rle: rle))
        }
        let bestBits = prediction.mask(best)
        try ImageWriter.writePNG(GrayImage(width: w, height: h, pixels: bestBits.map { $0 * 255 }), to: dir.appendingPathComponent("mask.png"))

        var overlay = image
        let b = prompt.box.map { (x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
        overlay.drawObject(id: 1, mask: bestBits.map { $0 != 0 }, box: b)
        for p in prompt.points { overlay.drawPoint(x: p.x, y: p.y, positive: p.positive) }
        try ImageWriter.writePNG(overlay, to: dir.appendingPathComponent("overlay.png"))

        let result = SegmentResult(
            image: imagePath, width: w, height: h, model: modelPath,
            plugin: pluginPath, routeMode: routeMode.rawValue, route: prediction.route,
            box: prompt.box,
            points: prompt.points.map { .init(x: $0.x, y: $0.y, label: $0.positive ? 1 : 0) },
            multimask: multimask, best: best, masks: masks)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(result), to: dir.appendingPathComponent("result.json"))
    }
}

enum CLIError: Error, CustomStringConvertible {
    case outputFolder(path: String, reason: String)

    var description: String {
        switch self {
        case let .outputFolder(path, reason): return "cannot create output folder \(path): \(reason); choose a writable --out"
        }
    }
}
