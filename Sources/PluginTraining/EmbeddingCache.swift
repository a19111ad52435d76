// Image embeddings computed once with the frozen encoder and kept on disk: RTS trains only the
// decoder's plugin, so a second epoch or a resumed run never encodes an image again.
import Foundation
import Imaging
import NN
import SegmentAnything
import Tensor
import VideoIO

/// The frozen image encoder as the trainer sees it (a test double counts its calls).
public protocol FrameEncoding: AnyObject {
    /// Identifies everything the embedding depends on: encoder weights, input size, normalisation.
    var cacheKey: String { get }
    /// An RGB image at its own size -> its embedding `[1, C, h, w]`.
    func encode(_ image: RGBImage) -> Tensor
}

/// SAM's own path, as `Predictor.setImage`: resize longest side, normalise and pad, encode.
public final class SamFrameEncoder: FrameEncoding {
    public let sam: Sam
    public let cacheKey: String
    private let transform: ResizeLongestSide

    public init(sam: Sam) {
        self.sam = sam
        transform = ResizeLongestSide(targetLength: sam.config.imgSize)
        cacheKey = Self.fingerprint(sam)
    }

    public func encode(_ image: RGBImage) -> Tensor {
        sam.imageEncoder(sam.preprocess(transform.applyImage(image)))
    }

    /// FNV-1a 64 over the image size, pixel mean/std and every encoder parameter (key, shape, and
    /// a position-weighted sum of the float bit patterns, as `MaskDecoder.fingerprint`).
    static func fingerprint(_ sam: Sam) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func eat(_ bytes: some Sequence<UInt8>) { for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        func eat(_ v: UInt64) { eat((0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
        eat(UInt64(sam.config.imgSize))
        for v in sam.config.pixelMean + sam.config.pixelStd { eat(UInt64(v.bitPattern)) }
        for (key, t) in sam.imageEncoder.namedParameters() {
            eat(Array(key.utf8))
            for d in t.shape { eat(UInt64(d)) }
            var s: UInt64 = 0
            t.withUnsafeBufferPointer { p in for (i, v) in p.enumerated() { s = s &+ UInt64(v.bitPattern) &* UInt64(i + 1) } }
            eat(s)
        }
        return String(h, radix: 16)
    }
}

/// `<folder>/<encoder key>/<key of the image>.safetensors`, one embedding per image. An image's key
/// is the SHA-256 of its absolute path, byte size and modification time: an edited image is
/// encoded again, an untouched one never. Entries are written atomically (temp + rename), so an
/// interrupted run leaves only complete ones.
public final class EmbeddingCache {
    public struct Entry {
        /// [1, C, h, w]
        public var embedding: Tensor
        public var width: Int, height: Int
    }

    public let folder: URL
    public let encoder: any FrameEncoding
    /// Images encoded (cache misses) and read back (hits) by this instance.
    public private(set) var encoded = 0, reused = 0

    public init(folder: URL, encoder: any FrameEncoding) {
        self.folder = folder.appendingPathComponent(encoder.cacheKey)
        self.encoder = encoder
    }

    /// The file that holds (or will hold) `image`'s embedding.
    public func entryURL(for image: URL) throws -> URL {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: image.path) } catch {
            throw TrainingDataError.unreadable(file: image.path, reason: "no such file")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        var sha = SHA256()
        sha.update(Array("\(image.standardizedFileURL.path)\n\(size)\n\(mtime)".utf8))
        return folder.appendingPathComponent(sha.finalize() + ".safetensors")
    }

    /// Whether `image` is already cached.
    public func contains(_ image: URL) throws -> Bool { FileManager.default.fileExists(atPath: try entryURL(for: image).path) }

    /// The image's embedding: from the cache, or encoded now and stored.
    public func embedding(for image: URL) throws -> Entry {
        let url = try entryURL(for: image)
        if FileManager.default.fileExists(atPath: url.path), let entry = try? read(url) {
            reused += 1
            return entry
        }
        let rgb: RGBImage
        do { rgb = try ImageReader.read(image) } catch {
            throw TrainingDataError.unreadable(file: image.path, reason: "\(error)")
        }
        let embedding = encoder.encode(rgb)
        encoded += 1
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try SafetensorsFile.write([("embedding", embedding)],
                                      metadata: ["image": image.path, "width": String(rgb.width), "height": String(rgb.height)], to: url)
        } catch {
            throw TrainingDataError.unreadable(file: url.path, reason: "cannot write the embedding cache: \(error)")
        }
        return Entry(embedding: embedding, width: rgb.width, height: rgb.height)
    }

    func read(_ url: URL) throws -> Entry {
        let file = try SafetensorsFile(url: url)
        guard let w = file.metadata["width"].flatMap(Int.init), let h = file.metadata["height"].flatMap(Int.init) else {
            throw TrainingDataError.unreadable(file: url.path, reason: "no image size in the cache entry")
        }
        return Entry(embedding: try file.tensor(named: "embedding"), width: w, height: h)
    }
}
