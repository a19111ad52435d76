import Foundation
import Imaging
import NN
import SegmentAnything
import Tensor
import TestSupport

/// One `sam_tiny_<name>` fixture pair written by Scripts/make_fixtures.py from the official
/// segment_anything 1.0 code (or, for `tinyvit`, Scripts/make_tinyvit_fixtures.py from mobile_sam):
/// the checkpoint (.pth) and every recorded stage (.safetensors).
/// Repro: `.venv-scripts/bin/python Scripts/make_fixtures.py` (seeds and versions in the file's metadata).
struct ParityFixture {
    struct Case: Decodable {
        let k: Int
        let description: String
        let multimask: Bool
        let inputs: [String]
        let dense: String
    }

    let name: String
    let weights: URL
    let stages: SafetensorsFile
    let cases: [Case]
    let decoderHeads: Int
    /// The input side from the generator's config: TinyViT weights do not record it.
    let imgSize: Int?

    init(_ name: String) throws {
        try self.init(name: name, weights: Fixtures.url("sam_tiny_\(name).pth"),
                      stages: Fixtures.url("sam_tiny_\(name)_stages.safetensors"))
    }

    /// A fixture pair outside the bundle, e.g. a full-size model written by `--full`.
    init(name: String, weights: URL, stages url: URL) throws {
        self.name = name
        self.weights = weights
        stages = try SafetensorsFile(url: url)
        cases = try JSONDecoder().decode([Case].self, from: Data((stages.metadata["cases"] ?? "[]").utf8))
        struct Config: Decodable {
            struct Encoder: Decodable { let img_size: Int? }
            let decoder_num_heads: Int
            let image_encoder: Encoder?
        }
        let config = try JSONDecoder().decode(Config.self, from: Data((stages.metadata["config"] ?? "{}").utf8))
        decoderHeads = config.decoder_num_heads
        imgSize = config.image_encoder?.img_size
    }

    func loadModel() throws -> Sam {
        try SamLoader.load(weights, decoderHeads: decoderHeads, imgSize: imgSize)
    }

    func tensor(_ key: String) throws -> Tensor { try stages.tensor(named: key) }

    func image(_ key: String = "image") throws -> RGBImage {
        let (shape, values) = try stages.uint8(named: key)
        return RGBImage(width: shape[1], height: shape[0], pixels: values)
    }

    /// The case's prompt in original-image pixels, exactly the float32 values the reference was given.
    func prompt(_ c: Case) throws -> Prompt {
        var prompt = Prompt()
        if c.inputs.contains("box") {
            let b = try tensor("case\(c.k).box").storage.map(Double.init)
            prompt.box = Box(x0: b[0], y0: b[1], x1: b[2], y1: b[3])
        }
        if c.inputs.contains("point_coords") {
            let xy = try tensor("case\(c.k).point_coords").storage, labels = try tensor("case\(c.k).point_labels").storage
            prompt.points = labels.indices.map { Prompt.Point(x: Double(xy[2 * $0]), y: Double(xy[2 * $0 + 1]), positive: labels[$0] == 1) }
        }
        if c.inputs.contains("mask_input") { prompt.maskInput = try tensor("case\(c.k).mask_input") }
        return prompt
    }
}
