import Foundation
import Imaging
import VideoIO

/// Tiny generated training sets for `train-plugin` tests, in each layout the trainer reads. Scenes
/// are 96x72 (the `win` tiny model's fixture size): a textured background, object 1 a rectangle and
/// object 2 an ellipse in their own colours, placed by a seeded generator.
public enum TinyTrainingData {
    public static let width = 96, height = 72

    struct Random {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    /// One scene: (RGB image, instance ids). `shift` moves both objects (clips).
    public static func scene(seed: UInt64, shift: Int = 0) -> (RGBImage, IndexedImage) {
        var rng = Random(state: seed)
        let rx = 4 + rng.next(30), ry = 4 + rng.next(20), rw = 14 + rng.next(20), rh = 12 + rng.next(16)
        let ex = 50 + rng.next(20), ey = 20 + rng.next(30), ea = 8 + rng.next(10), eb = 6 + rng.next(10)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var ids = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                var c: (UInt8, UInt8, UInt8) = (UInt8(40 + (x * 7 + y * 3) % 50), UInt8(60 + (x * y) % 40), UInt8(90 + (x + 2 * y) % 60))
                let px = x - shift
                if px >= rx && px < rx + rw && y >= ry && y < ry + rh {
                    ids[i] = 1
                    c = (220, 40, 30)
                }
                let dx = Double(px - ex) / Double(ea), dy = Double(y - ey) / Double(eb)
                if dx * dx + dy * dy <= 1 {
                    ids[i] = 2
                    c = (30, 200, 60)
                }
                (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = c
            }
        }
        return (RGBImage(width: width, height: height, pixels: pixels), IndexedImage(width: width, height: height, indices: ids))
    }

    /// `root/images/sceneNN.png` + `root/masks/sceneNN.png`.
    @discardableResult
    public static func folders(at root: URL, count: Int, seed: UInt64 = 1) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("masks"), withIntermediateDirectories: true)
        for k in 0..<count {
            let (image, mask) = scene(seed: seed &+ UInt64(k) &* 7919)
            let name = String(format: "scene%02d.png", k)
            try ImageWriter.writePNG(image, to: root.appendingPathComponent("images").appendingPathComponent(name))
            try ImageWriter.writePNG(mask, to: root.appendingPathComponent("masks").appendingPathComponent(name))
        }
        return root
    }

    /// `root/JPEGImages/<seq>/NNNNN.png` (lossless frames) + `root/Annotations/<seq>/NNNNN.png`; the
    /// objects move 2 px per frame.
    @discardableResult
    public static func davis(at root: URL, sequences: Int, frames: Int, seed: UInt64 = 5) throws -> URL {
        let fm = FileManager.default
        for s in 0..<sequences {
            let seq = "seq\(s)"
            let images = root.appendingPathComponent("JPEGImages").appendingPathComponent(seq)
            let annotations = root.appendingPathComponent("Annotations").appendingPathComponent(seq)
            try fm.createDirectory(at: images, withIntermediateDirectories: true)
            try fm.createDirectory(at: annotations, withIntermediateDirectories: true)
            for t in 0..<frames {
                let (image, mask) = scene(seed: seed &+ UInt64(s), shift: 2 * t)
                let name = String(format: "%05d.png", t)
                try ImageWriter.writePNG(image, to: images.appendingPathComponent(name))
                try ImageWriter.writePNG(mask, to: annotations.appendingPathComponent(name))
            }
        }
        return root
    }
}
