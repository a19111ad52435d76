import Foundation
import Metrics
import VideoIO

/// One sequence of masks read from disk: per object id, one mask per frame.
public struct MaskSequence: Sendable {
    public enum Format: String, Sendable { case palette = "palette PNGs", binary = "per-object binary PNGs", json = "frames/*.json" }
    public var name: String
    public var directory: String
    public var format: Format
    /// Frame files in order (for a per-object folder layout, those of the first object).
    public var frameFiles: [String]
    public var width: Int
    public var height: Int
    public var objects: [String: [BinaryMask]]
    /// Per-frame void pixels (palette index 255), ground truth only.
    public var void: [[Bool]?]?

    public var frameCount: Int { frameFiles.count }
    public var objectIDs: [String] { objects.keys.sorted { Self.idOrder($0, $1) } }

    /// Numeric ids in numeric order, the rest after them by name.
    public static func idOrder(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case let (x?, y?): x < y
        case (_?, nil): true
        case (nil, _?): false
        default: a < b
        }
    }
}

public enum EvalInputError: Error, CustomStringConvertible {
    case noMasks(path: String)
    case emptyFolder(path: String, what: String)
    case sizeMismatch(file: String, width: Int, height: Int, expectedFile: String, expectedWidth: Int, expectedHeight: Int)
    case frameCountMismatch(sequence: String, prediction: String, predicted: Int, groundTruth: String, expected: Int)
    case objectFrameCount(folder: String, frames: Int, firstFolder: String, expected: Int)
    case missingObjects(sequence: String, ids: [String], prediction: String, available: [String])
    case missingSequence(name: String, prediction: String, available: [String])
    case badFrameJSON(path: String, reason: String)

    public var description: String {
        switch self {
        case .noMasks(let p):
            return "no masks found in \(p): expected palette PNGs, folders of per-object 0/255 PNGs, frames/*.json "
                + "from `stablesam track`, or one such folder per sequence"
        case let .emptyFolder(p, what): return "\(p) holds no \(what)"
        case let .sizeMismatch(f, w, h, e, ew, eh):
            return "\(f) is \(w)x\(h) but \(e) is \(ew)x\(eh): prediction and ground truth must have the same frame size"
        case let .frameCountMismatch(s, p, n, g, m):
            return "sequence \(s): the prediction has \(n) frames (\(p)) but the ground truth has \(m) (\(g)); "
                + "give one prediction per ground-truth frame"
        case let .objectFrameCount(f, n, first, m):
            return "\(f) has \(n) frames but \(first) has \(m): every object folder needs one mask per frame"
        case let .missingObjects(s, ids, p, available):
            return "sequence \(s): the prediction in \(p) has no object \(ids.joined(separator: ", ")) "
                + "(it has: \(available.isEmpty ? "none" : available.joined(separator: ", "))); "
                + "pass --allow-missing to score missing objects as empty masks"
        case let .missingSequence(n, p, available):
            return "the prediction \(p) has no sequence \(n) (found: \(available.joined(separator: ", ")))"
        case let .badFrameJSON(p, r): return "cannot read \(p): \(r)"
        }
    }
}

/// Finds and reads mask sequences in any of the supported layouts.
public enum MaskSequenceReader {
    /// `root` is either one sequence or a folder of sequences.
    public static func read(_ root: String, voidIndex: Bool) throws -> [MaskSequence] {
        let url = URL(fileURLWithPath: root)
        if let seq = try readSequence(url, name: url.lastPathComponent, voidIndex: voidIndex) { return [seq] }
        var sequences: [MaskSequence] = []
        for child in try subfolders(url) {
            if let seq = try readSequence(child, name: child.lastPathComponent, voidIndex: voidIndex) { sequences.append(seq) }
        }
        guard !sequences.isEmpty else { throw EvalInputError.noMasks(path: root) }
        return sequences
    }

    /// One sequence folder, or nil when `dir` holds none of the layouts.
    public static func readSequence(_ dir: URL, name: String, voidIndex: Bool) throws -> MaskSequence? {
        let frames = dir.appendingPathComponent("frames")
        if !(try files(frames, ext: "json")).isEmpty { return try readJSON(frames, name: name) }
        let palette = dir.appendingPathComponent("palette")
        if !(try files(palette, ext: "png")).isEmpty { return try readPalette(palette, name: name, voidIndex: voidIndex) }
        let masks = dir.appendingPathComponent("masks")
        if !(try subfolders(masks)).isEmpty { return try readBinaryFolders(masks, name: name) }
        if !(try files(dir, ext: "json")).isEmpty { return try readJSON(dir, name: name) }
        let pngs = try files(dir, ext: "png")
        if let first = pngs.first {
            if isPalette(first) { return try readPalette(dir, name: name, voidIndex: voidIndex) }
            return try readBinary(pngs, folder: dir, name: name, object: "1")
        }
        // Folders of 0/255 PNGs are objects; folders of palette PNGs are sequences (the caller's job).
        let subs = try subfolders(dir)
        if let firstSub = subs.first, let png = try files(firstSub, ext: "png").first, !isPalette(png) {
            return try readBinaryFolders(dir, name: name)
        }
        return nil
    }

    static func isPalette(_ url: URL) -> Bool {
        (try? ImageReader.readIndexed(url)) != nil
    }

    static func readPalette(_ dir: URL, name: String, voidIndex: Bool) throws -> MaskSequence {
        let urls = try files(dir, ext: "png")
        var frames: [IndexedImage] = []
        for url in urls {
            let image = try ImageReader.readIndexed(url)
            if let first = frames.first, first.width != image.width || first.height != image.height {
                throw EvalInputError.sizeMismatch(file: url.path, width: image.width, height: image.height,
                                                  expectedFile: urls[0].path, expectedWidth: first.width, expectedHeight: first.height)
            }
            frames.append(image)
        }
        let (w, h) = (frames[0].width, frames[0].height)
        var ids = Set<UInt8>()
        for f in frames { ids.formUnion(f.indices) }
        ids.remove(0)
        if voidIndex { ids.remove(255) }
        var objects: [String: [BinaryMask]] = [:]
        for id in ids {
            objects[String(id)] = frames.map { f in BinaryMask(width: w, height: h, bits: f.indices.map { $0 == id }) }
        }
        let void: [[Bool]?]? = voidIndex ? frames.map { f in f.indices.contains(255) ? f.indices.map { $0 == 255 } : nil } : nil
        return MaskSequence(name: name, directory: dir.path, format: .palette, frameFiles: urls.map(\.path),
                            width: w, height: h, objects: objects, void: void)
    }

    static func readBinaryFolders(_ dir: URL, name: String) throws -> MaskSequence {
        var result: MaskSequence?
        for sub in try subfolders(dir) {
            let pngs = try files(sub, ext: "png")
            guard !pngs.isEmpty else { continue }
            let one = try readBinary(pngs, folder: sub, name: name, object: sub.lastPathComponent)
            guard var r = result else { result = one; continue }
            guard one.frameCount == r.frameCount else {
                throw EvalInputError.objectFrameCount(folder: sub.path, frames: one.frameCount,
                                                      firstFolder: URL(fileURLWithPath: r.frameFiles[0]).deletingLastPathComponent().path,
                                                      expected: r.frameCount)
            }
            guard one.width == r.width, one.height == r.height else {
                throw EvalInputError.sizeMismatch(file: one.frameFiles[0], width: one.width, height: one.height,
                                                  expectedFile: r.frameFiles[0], expectedWidth: r.width, expectedHeight: r.height)
            }
            r.objects.merge(one.objects) { a, _ in a }
            result = r
        }
        guard var r = result else { throw EvalInputError.emptyFolder(path: dir.path, what: "object folders with PNG masks") }
        r.directory = dir.path
        return r
    }

    static func readBinary(_ urls: [URL], folder: URL, name: String, object: String) throws -> MaskSequence {
        var masks: [BinaryMask] = []
        for url in urls {
            let image = try ImageReader.readGray(url)
            if let first = masks.first, first.width != image.width || first.height != image.height {
                throw EvalInputError.sizeMismatch(file: url.path, width: image.width, height: image.height,
                                                  expectedFile: urls[0].path, expectedWidth: first.width, expectedHeight: first.height)
            }
            // Mattes are 0/255; anything at or above half is inside (tolerates lossy re-encodes).
            masks.append(BinaryMask(width: image.width, height: image.height, bits: image.pixels.map { $0 >= 128 }))
        }
        return MaskSequence(name: name, directory: folder.path, format: .binary, frameFiles: urls.map(\.path),
                            width: masks[0].width, height: masks[0].height, objects: [object: masks], void: nil)
    }

    /// `frames/NNNNNN.json` of `stablesam track`: objects absent from a frame get an empty mask there.
    static func readJSON(_ dir: URL, name: String) throws -> MaskSequence {
        let urls = try files(dir, ext: "json")
        var perFrame: [[String: BinaryMask]] = []
        var size: (w: Int, h: Int)?
        for url in urls {
            let record: FrameRecord
            do {
                record = try JSONDecoder().decode(FrameRecord.self, from: Data(contentsOf: url))
            } catch {
                throw EvalInputError.badFrameJSON(path: url.path, reason: "\(error)")
            }
            var objects: [String: BinaryMask] = [:]
            for o in record.objects {
                let m = BinaryMask(o.mask)
                if let s = size, s.w != m.width || s.h != m.height {
                    throw EvalInputError.sizeMismatch(file: url.path, width: m.width, height: m.height,
                                                      expectedFile: urls[0].path, expectedWidth: s.w, expectedHeight: s.h)
                }
                size = (m.width, m.height)
                objects[o.id.value] = m
            }
            perFrame.append(objects)
        }
        guard let size else { throw EvalInputError.emptyFolder(path: dir.path, what: "object masks in any frame") }
        let ids = Set(perFrame.flatMap(\.keys))
        var objects: [String: [BinaryMask]] = [:]
        for id in ids {
            objects[id] = perFrame.map { $0[id] ?? .empty(width: size.w, height: size.h) }
        }
        return MaskSequence(name: name, directory: dir.path, format: .json, frameFiles: urls.map(\.path),
                            width: size.w, height: size.h, objects: objects, void: nil)
    }

    /// Visible files ending in `.ext`, in frame order: by the number in the name, then by name.
    public static func files(_ dir: URL, ext: String) throws -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        let chosen = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix("." + ext) }
        func number(_ s: String) -> Int? { Int(s.filter(\.isNumber).prefix(18)) }
        return chosen.sorted { a, b in
            if let x = number(a), let y = number(b), x != y { return x < y }
            return a < b
        }.map { dir.appendingPathComponent($0) }
    }

    static func subfolders(_ dir: URL) throws -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted { MaskSequence.idOrder($0, $1) }.compactMap { n in
            var isDir: ObjCBool = false
            let u = dir.appendingPathComponent(n)
            return FileManager.default.fileExists(atPath: u.path, isDirectory: &isDir) && isDir.boolValue ? u : nil
        }
    }
}

/// The part of `frames/NNNNNN.json` that evaluation reads.
struct FrameRecord: Decodable {
    struct Object: Decodable {
        var id: ObjectID
        var mask: RLE
    }
    /// Ids are numbers in our files; strings are accepted too.
    struct ObjectID: Decodable {
        var value: String
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { value = String(i) } else { value = try c.decode(String.self) }
        }
    }
    var objects: [Object]
}

extension MaskSequence {
    /// The sequence on the given frames only (in that order): a dense prediction cut to the
    /// frames a sparse ground truth annotates.
    public func frames(_ indices: [Int]) -> MaskSequence {
        var cut = self
        cut.frameFiles = indices.map { frameFiles[$0] }
        cut.objects = objects.mapValues { masks in indices.map { masks[$0] } }
        cut.void = void.map { v in indices.map { v[$0] } }
        return cut
    }
}
