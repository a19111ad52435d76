import Foundation
import Imaging
import Tracking
import VideoIO

extension TrackLayout {
    /// `masks_soft/<id>/`: 16-bit soft mattes, straight alpha, numbered as `masks/<id>/`.
    public func softMaskFolder(id: Int) -> URL { root.appendingPathComponent("masks_soft").appendingPathComponent(String(id)) }
    public func softMaskFile(id: Int, number: Int) -> URL {
        softMaskFolder(id: id).appendingPathComponent(Self.number(number) + ".png")
    }
    public var exrFolder: URL { root.appendingPathComponent("exr") }
    /// `exr/<name>.<number>.exr`, the number padded to at least four digits (`matte.1001.exr`), as
    /// Nuke's `matte.####.exr` reads it.
    public func exrFile(name: String, number: Int) -> URL {
        exrFolder.appendingPathComponent("\(name).\(String(format: "%04d", number)).exr")
    }
}

/// Writes a frame's soft mattes: per object a 16-bit PNG, and with `exr` one EXR holding every
/// object as layer `<name>.A` (half float), plus R, G, B, A with `colour`. Lives on the writer
/// thread with `TrackWriter`, so the matte operations overlap the model's next frame.
final class SoftMatteWriter {
    let request: SoftMatteRequest
    let layout: TrackLayout
    let width: Int
    let height: Int
    /// The EXR layer of each object, by id.
    let layers: [Int: String]

    init(request: SoftMatteRequest, layout: TrackLayout, width: Int, height: Int, objects: [ObjectSpec]) throws {
        self.request = request
        self.layout = layout
        self.width = width
        self.height = height
        layers = Self.layerNames(objects)
        do {
            var folders = objects.map { layout.softMaskFolder(id: $0.id) }
            if request.exr != nil { folders.append(layout.exrFolder) }
            for folder in folders { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        } catch {
            throw OutputFolderError(path: layout.root.path, reason: error.localizedDescription)
        }
    }

    /// EXR layer names: the object's name (characters other than letters, digits, '_' and '-'
    /// become '_', since '.' would nest layers), else `obj<id>`; a name taken by an earlier
    /// object gets `_<id>` appended.
    static func layerNames(_ objects: [ObjectSpec]) -> [Int: String] {
        var taken = Set<String>()
        var names: [Int: String] = [:]
        for o in objects {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
            let cleaned = String((o.name ?? "").map { allowed.contains($0) ? $0 : "_" })
            var name = cleaned.isEmpty ? "obj\(o.id)" : cleaned
            if taken.contains(name) { name += "_\(o.id)" }
            taken.insert(name)
            names[o.id] = name
        }
        return names
    }

    /// Writes the frame's files (numbered `number`) and returns the union of the objects' mattes
    /// (the largest alpha at each pixel), for the matte video.
    @discardableResult
    func write(_ frame: VideoFrame, _ results: [ObjectFrame], number: Int) throws -> [Float] {
        var union = [Float](repeating: 0, count: width * height)
        var channels: [EXRChannel] = []
        for r in results {
            let alpha = request.apply(alpha: r.state == .tracked ? r.logits.map(Self.sigmoid) : nil, mask: r.mask,
                                      width: width, height: height)
            try ImageWriter.writePNG(Gray16Image(width: width, height: height, alpha: alpha),
                                     to: layout.softMaskFile(id: r.id, number: number))
            for i in union.indices where alpha[i] > union[i] { union[i] = alpha[i] }
            channels.append(EXRChannel(name: "\(layers[r.id] ?? "obj\(r.id)").A", values: alpha))
        }
        if let exr = request.exr {
            if exr.colour { channels += Self.premultipliedColour(frame.image, alpha: union) }
            try EXRWriter.write(channels, width: width, height: height, compression: exr.compression,
                                to: layout.exrFile(name: exr.name, number: number))
        }
        return union
    }

    /// Soft alpha from log-odds: at least 0.5 where the logit is positive (the binary mask), at
    /// most 0.5 elsewhere, so the soft matte agrees with the binary one.
    static func sigmoid(_ logits: [Float]) -> [Float] {
        logits.map { 1 / (1 + expf(-$0)) }
    }

    /// The union matte of a frame an earlier run wrote (a resumed run's matte video), from its PNGs.
    func union(number: Int, ids: [Int]) throws -> [Float] {
        var union = [Float](repeating: 0, count: width * height)
        for id in ids {
            let png = try ImageReader.readGray16(layout.softMaskFile(id: id, number: number))
            for i in union.indices { union[i] = max(union[i], Float(png.pixels[i]) / 65535) }
        }
        return union
    }

    /// R, G, B decoded from sRGB to linear light (what Nuke expects of EXR) and multiplied by
    /// `alpha`, and A = `alpha`: the frame's colour cut out by the mattes, premultiplied.
    static func premultipliedColour(_ image: RGBImage, alpha: [Float]) -> [EXRChannel] {
        let plane = image.width * image.height
        var rgb = [[Float]](repeating: [Float](repeating: 0, count: plane), count: 3)
        for i in 0..<plane {
            for c in 0..<3 { rgb[c][i] = srgbToLinear[Int(image.pixels[i * 3 + c])] * alpha[i] }
        }
        return [EXRChannel(name: "R", values: rgb[0]), EXRChannel(name: "G", values: rgb[1]),
                EXRChannel(name: "B", values: rgb[2]), EXRChannel(name: "A", values: alpha)]
    }

    /// The sRGB transfer function's inverse (IEC 61966-2-1) for each 8-bit code.
    static let srgbToLinear: [Float] = (0..<256).map { code in
        let v = Double(code) / 255
        return Float(v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4))
    }
}
