// Training data for `stablesam train-plugin`: the three layouts, detected from the path, listed
// into samples as Scripts/stable_sam/train.py lists them (`list_samples`, `list_clip_samples`).
import Foundation
import Imaging
import Metrics
import VideoIO

/// Where one object's mask comes from.
public enum ObjectMask: Sendable, Equatable {
    /// The pixels of an instance-id PNG equal to `value` (a palette index, or a gray level).
    case value(file: URL, value: UInt8)
    /// A COCO annotation's segmentation (`json` and `annotation` id for messages).
    case coco(COCOSegmentation, width: Int, height: Int, json: URL, annotation: Int)

    /// The object as a row-major mask.
    public func read() throws -> BinaryMask {
        switch self {
        case let .value(file, value):
            let m = try MaskFile.read(file)
            return BinaryMask(width: m.width, height: m.height, bits: m.values.map { $0 == value })
        case let .coco(segmentation, width, height, json, annotation):
            guard let mask = segmentation.mask(width: width, height: height) else {
                throw TrainingDataError.badCOCO(file: json.path, reason: "annotation \(annotation): its RLE size is not its image's \(width)x\(height)")
            }
            return mask
        }
    }

    /// The file to name in a message about this object.
    public var file: URL {
        switch self {
        case .value(let file, _): return file
        case .coco(_, _, _, let json, _): return json
        }
    }
}

/// One (image, object) pair: a still sample, whose target is the whole object mask.
public struct TrainingSample: Sendable, Equatable {
    /// Index into `TrainingDataset.images`.
    public var image: Int
    public var object: ObjectMask
    /// Mask size, read while listing (checked against the image's before training).
    public var width: Int, height: Int
}

/// One DAVIS sequence: frame t is `images[frames[t]]` with annotation `annotations[t]`.
public struct TrainingClip: Sendable {
    public var name: String
    public var frames: [Int]
    public var annotations: [URL]
    /// Per object id, per frame where the object is visible, its tight box (x1/y1 exclusive).
    public var boxes: [UInt8: [Int: Box]]
    public var width: Int, height: Int
}

/// A clip sample (train.py's `(seq, t, object id)`): the object is visible at frame t.
public struct ClipSample: Sendable, Equatable {
    public var clip: Int, frame: Int, object: UInt8
    public init(clip: Int, frame: Int, object: UInt8) { self.clip = clip; self.frame = frame; self.object = object }
}

public struct TrainingDataset: Sendable {
    public enum Layout: String, Sendable {
        case folders = "images/ + masks/"
        case davis = "DAVIS (JPEGImages/ + Annotations/)"
        case coco = "COCO instances JSON"
    }

    public var layout: Layout
    public var root: URL
    /// Every distinct image, each encoded once.
    public var images: [URL]
    /// Every (image, object) pair, in listing order (by image name, then object value / annotation).
    public var stills: [TrainingSample]
    /// DAVIS layout only: the sequences, and their (seq, t, object) samples sorted as train.py sorts them.
    public var clips: [TrainingClip] = []
    public var clipSamples: [ClipSample] = []

    /// Reads `path`: a COCO `.json` file, a folder with images/ + masks/, or a DAVIS folder.
    /// `cocoImages` is where a COCO file's images live (default: searched beside the file).
    public static func open(_ path: String, cocoImages: String? = nil) throws -> TrainingDataset {
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw TrainingDataError.missingData(path: url.path)
        }
        if !isDir.boolValue {
            guard url.pathExtension.lowercased() == "json" else { throw TrainingDataError.unknownLayout(path: url.path) }
            return try COCODataset.read(url, images: cocoImages.map { URL(fileURLWithPath: $0) })
        }
        let has = { (name: String) in FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }
        if has("JPEGImages") || has("Annotations") {
            for name in ["JPEGImages", "Annotations"] where !has(name) {
                throw TrainingDataError.missingFolder(path: url.appendingPathComponent(name).path, layout: Layout.davis.rawValue)
            }
            return try readDAVIS(url)
        }
        if has("images") || has("masks") {
            for name in ["images", "masks"] where !has(name) {
                throw TrainingDataError.missingFolder(path: url.appendingPathComponent(name).path, layout: Layout.folders.rawValue)
            }
            return try readFolders(url)
        }
        throw TrainingDataError.unknownLayout(path: url.path)
    }

    static let imageSuffixes = ["png", "jpg", "jpeg"]

    /// train.py `list_samples`: DATA/images/<stem>.(png|jpg|jpeg) with DATA/masks/<stem>.png; every
    /// nonzero value of the mask is one object. An image without a mask, or whose mask is empty, is
    /// an error naming the file.
    static func readFolders(_ root: URL) throws -> TrainingDataset {
        let folder = root.appendingPathComponent("images")
        let images = try visibleFiles(folder).filter { imageSuffixes.contains($0.pathExtension.lowercased()) }
        guard !images.isEmpty else { throw TrainingDataError.noImages(folder: folder.path) }
        var samples: [TrainingSample] = []
        for (i, image) in images.enumerated() {
            let mask = root.appendingPathComponent("masks").appendingPathComponent(image.deletingPathExtension().lastPathComponent + ".png")
            guard FileManager.default.fileExists(atPath: mask.path) else {
                throw TrainingDataError.imageWithoutMask(image: image.path, expected: mask.path)
            }
            let m = try MaskFile.read(mask)
            let values = Set(m.values).subtracting([0]).sorted()
            guard !values.isEmpty else { throw TrainingDataError.emptyMask(file: mask.path) }
            samples += values.map { TrainingSample(image: i, object: .value(file: mask, value: $0), width: m.width, height: m.height) }
        }
        return TrainingDataset(layout: .folders, root: root, images: images, stills: samples)
    }

    /// train.py `list_clip_samples`: every sequence under Annotations/ (sorted), frame t the t-th PNG in
    /// name order, its frame JPEGImages/<seq>/<stem>.jpg. Every frame is also a still sample (the
    /// RTS mix), every visible (seq, t, object) a clip sample (temporal prompts).
    static func readDAVIS(_ root: URL) throws -> TrainingDataset {
        let annotations = root.appendingPathComponent("Annotations")
        var images: [URL] = [], stills: [TrainingSample] = [], clips: [TrainingClip] = [], clipSamples: [ClipSample] = []
        for seq in try visibleFiles(annotations) where isDirectory(seq) {
            let pngs = try visibleFiles(seq).filter { $0.pathExtension.lowercased() == "png" }
            guard !pngs.isEmpty else { continue }
            var clip = TrainingClip(name: seq.lastPathComponent, frames: [], annotations: pngs, boxes: [:], width: 0, height: 0)
            for (t, png) in pngs.enumerated() {
                let folder = root.appendingPathComponent("JPEGImages").appendingPathComponent(seq.lastPathComponent)
                let stem = png.deletingPathExtension().lastPathComponent
                // DAVIS frames are .jpg; lossless .png (or .jpeg) frames with the same stem are taken too.
                guard let frame = ["jpg", "jpeg", "png"].map({ folder.appendingPathComponent(stem + "." + $0) })
                    .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                    throw TrainingDataError.frameWithoutImage(annotation: png.path, expected: folder.appendingPathComponent(stem + ".jpg").path)
                }
                let m = try MaskFile.read(png)
                if t > 0, m.width != clip.width || m.height != clip.height {
                    throw TrainingDataError.sizeMismatch(image: pngs[0].path, width: clip.width, height: clip.height,
                                                         mask: png.path, maskWidth: m.width, maskHeight: m.height)
                }
                (clip.width, clip.height) = (m.width, m.height)
                clip.frames.append(images.count)
                for v in Set(m.values).subtracting([0]).sorted() {
                    let object = BinaryMask(width: m.width, height: m.height, bits: m.values.map { $0 == v })
                    guard let box = Box(object) else { continue }
                    clip.boxes[v, default: [:]][t] = box
                    stills.append(TrainingSample(image: images.count, object: .value(file: png, value: v), width: m.width, height: m.height))
                    clipSamples.append(ClipSample(clip: clips.count, frame: t, object: v))
                }
                images.append(frame)
            }
            clips.append(clip)
        }
        guard !clips.isEmpty else { throw TrainingDataError.noImages(folder: annotations.path) }
        guard !stills.isEmpty else { throw TrainingDataError.noObjects(path: annotations.path) }
        // train.py sorts (seq, t, id) tuples; listing order is already that order.
        return TrainingDataset(layout: .davis, root: root, images: images, stills: stills, clips: clips, clipSamples: clipSamples)
    }

    /// Visible entries of a folder, sorted by name (as Python's `sorted(iterdir())`).
    static func visibleFiles(_ folder: URL) throws -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw TrainingDataError.unreadable(file: folder.path, reason: "not a readable folder")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }
}

/// An instance-id mask PNG as train.py reads it (`np.asarray(Image.open(mask))`): the palette
/// indices of a palette PNG, otherwise the 8-bit gray values (a 0/255 PNG is one object, 255).
public enum MaskFile {
    public static func read(_ url: URL) throws -> (width: Int, height: Int, values: [UInt8]) {
        if let indexed = try? ImageReader.readIndexed(url) { return (indexed.width, indexed.height, indexed.indices) }
        do {
            let gray = try ImageReader.readGray(url)
            return (gray.width, gray.height, gray.pixels)
        } catch {
            throw TrainingDataError.unreadable(file: url.path, reason: "\(error)")
        }
    }
}
