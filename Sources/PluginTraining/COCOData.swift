// COCO instances files (`images`, `annotations` with polygon or RLE `segmentation`) as training
// data: every non-crowd annotation is one object of its image.
import Foundation
import Metrics

/// A COCO annotation's `segmentation`.
public enum COCOSegmentation: Sendable, Equatable {
    /// `[[x0, y0, x1, y1, ...], ...]`: polygons in pixel coordinates, their union is the object.
    case polygons([[Double]])
    /// `{"size": [h, w], "counts": "..." | [..]}`: COCO RLE, column-major (Metrics.RLE).
    case rle(RLE)

    /// The object as a row-major mask of the image's size, or nil when an RLE has another size.
    public func mask(width: Int, height: Int) -> BinaryMask? {
        switch self {
        case .polygons(let polygons):
            return PolygonRaster.fill(polygons, width: width, height: height)
        case .rle(let rle):
            guard rle.width == width, rle.height == height else { return nil }
            return BinaryMask(rle)
        }
    }
}

/// Polygon fill on the pixel grid: pixel (x, y) is inside when its centre (x + 0.5, y + 0.5) is
/// inside the polygon by the even-odd rule (a centre exactly on a left/top edge counts as
/// inside, on a right/bottom edge as outside, so polygons that share an edge never both claim a
/// pixel). Several polygons are united. pycocotools' `frPoly` traces the boundary on a 5x grid
/// instead, so the two can differ by a pixel along edges; for training targets that is noise.
public enum PolygonRaster {
    public static func fill(_ polygons: [[Double]], width: Int, height: Int) -> BinaryMask {
        var bits = [Bool](repeating: false, count: width * height)
        for flat in polygons where flat.count >= 6 && flat.allSatisfy(\.isFinite) {
            let n = flat.count / 2
            var crossings: [Double] = []
            for y in 0..<height {
                let cy = Double(y) + 0.5
                crossings.removeAll(keepingCapacity: true)
                for i in 0..<n {
                    let (x0, y0) = (flat[2 * i], flat[2 * i + 1])
                    let j = (i + 1) % n
                    let (x1, y1) = (flat[2 * j], flat[2 * j + 1])
                    // Half-open in y: an edge covers y0 <= cy < y1 (or the reverse), so a vertex
                    // on the scanline is counted once and horizontal edges never.
                    guard (y0 <= cy && cy < y1) || (y1 <= cy && cy < y0) else { continue }
                    crossings.append(x0 + (cy - y0) * (x1 - x0) / (y1 - y0))
                }
                crossings.sort()
                var k = 0
                while k + 1 < crossings.count {
                    // Centres cx = x + 0.5 with left <= cx < right.
                    // Clamped in Double first: a wild coordinate must not overflow Int.
                    let first = Int(min(max((crossings[k] - 0.5).rounded(.up), 0), Double(width)))
                    let last = Int(min(max((crossings[k + 1] - 0.5).rounded(.up), 0), Double(width)))
                    if first < last { for x in first..<last { bits[y * width + x] = true } }
                    k += 2
                }
            }
        }
        return BinaryMask(width: width, height: height, bits: bits)
    }
}

enum COCODataset {
    struct File: Decodable {
        struct Image: Decodable {
            var id: Int
            var file_name: String
            var width: Int
            var height: Int
        }
        struct Annotation: Decodable {
            var id: Int
            var image_id: Int
            var iscrowd: Int?
            var segmentation: Segmentation?
        }
        /// Polygons, or an RLE object with compressed (string) or uncompressed (array) counts.
        struct Segmentation: Decodable {
            var value: COCOSegmentationJSON
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let polygons = try? c.decode([[Double]].self) {
                    value = .polygons(polygons)
                } else {
                    value = .rle(try c.decode(RLEJSON.self))
                }
            }
        }
        var images: [Image]
        var annotations: [Annotation]
    }

    enum COCOSegmentationJSON {
        case polygons([[Double]])
        case rle(RLEJSON)
    }

    struct RLEJSON: Decodable {
        var size: [Int]
        var counts: Counts
        enum Counts: Decodable {
            case compressed(String), runs([UInt32])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .compressed(s) } else { self = .runs(try c.decode([UInt32].self)) }
            }
        }
    }

    /// The images dir defaults to the first of: beside the file, `images/` beside it, its parent,
    /// `images/` in its parent, that holds the first image.
    static func read(_ json: URL, images: URL?) throws -> TrainingDataset {
        let data: Data
        do { data = try Data(contentsOf: json) } catch {
            throw TrainingDataError.unreadable(file: json.path, reason: error.localizedDescription)
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw TrainingDataError.badCOCO(file: json.path, reason: "\(error)")
        }
        let folder = json.deletingLastPathComponent()
        let candidates = images.map { [$0] } ?? [folder, folder.appendingPathComponent("images"), folder.deletingLastPathComponent(),
                                                 folder.deletingLastPathComponent().appendingPathComponent("images")]
        var byImage: [Int: [File.Annotation]] = [:]
        for a in file.annotations where (a.iscrowd ?? 0) == 0 && a.segmentation != nil { byImage[a.image_id, default: []].append(a) }
        var urls: [URL] = [], samples: [TrainingSample] = []
        var base: URL?
        for image in file.images.sorted(by: { $0.file_name < $1.file_name }) {
            guard let annotations = byImage[image.id], !annotations.isEmpty else { continue }
            if base == nil {
                base = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent(image.file_name).path) }
            }
            guard let root = base, FileManager.default.fileExists(atPath: root.appendingPathComponent(image.file_name).path) else {
                throw TrainingDataError.cocoImageMissing(json: json.path, fileName: image.file_name,
                                                         searched: (base.map { [$0] } ?? candidates).map(\.path))
            }
            let index = urls.count
            urls.append(root.appendingPathComponent(image.file_name))
            for a in annotations.sorted(by: { $0.id < $1.id }) {
                let segmentation: COCOSegmentation
                switch a.segmentation!.value {
                case .polygons(let p): segmentation = .polygons(p)
                case .rle(let r):
                    guard r.size.count == 2 else {
                        throw TrainingDataError.badCOCO(file: json.path, reason: "annotation \(a.id): RLE size must be [h, w]")
                    }
                    do {
                        switch r.counts {
                        case .compressed(let s): segmentation = .rle(try RLE(compressedCounts: s, height: r.size[0], width: r.size[1]))
                        case .runs(let c): segmentation = .rle(try RLE(height: r.size[0], width: r.size[1], counts: c))
                        }
                    } catch {
                        throw TrainingDataError.badCOCO(file: json.path, reason: "annotation \(a.id): \(error)")
                    }
                }
                let object = ObjectMask.coco(segmentation, width: image.width, height: image.height, json: json, annotation: a.id)
                let mask = try object.read()
                guard !mask.isEmpty else {
                    throw TrainingDataError.emptyAnnotation(json: json.path, annotation: a.id, image: image.file_name)
                }
                samples.append(TrainingSample(image: index, object: object, width: image.width, height: image.height))
            }
        }
        guard !samples.isEmpty else { throw TrainingDataError.noObjects(path: json.path) }
        return TrainingDataset(layout: .coco, root: json, images: urls, stills: samples)
    }
}
