import Foundation
import NN
import SegmentAnything
import Tensor
import TestSupport

/// `plugin_grad_tiny.safetensors`, written by Scripts/make_plugin_grad_fixtures.py from the PyTorch
/// reference (Scripts/stable_sam) on the official SAM decoder of `sam_tiny_win.pth` (C = 32, 8 heads,
/// 16x16 grid): three samples (random embedding, prompt, target) and, per plugin configuration, the
/// starting weights, step 0's forward, loss and gradients, and the weights after 20 Adam steps.
/// Repro: `.venv-scripts/bin/python Scripts/make_plugin_grad_fixtures.py` (seeds, versions in metadata).
struct GradFixture {
    static let configs = ["default", "options"]
    let file: SafetensorsFile
    let sampleCount: Int
    let steps: Int

    init() throws {
        file = try SafetensorsFile(url: Fixtures.url("plugin_grad_tiny.safetensors"))
        sampleCount = Int(file.metadata["samples"] ?? "") ?? 0
        steps = Int(file.metadata["steps"] ?? "") ?? 0
    }

    func tensor(_ key: String) throws -> Tensor { try file.tensor(named: key) }

    /// The frozen base: the `win` tiny SAM (8 decoder heads, as its stages' config says).
    func sam() throws -> Sam { try SamLoader.load(Fixtures.url("sam_tiny_win.pth"), decoderHeads: 8) }

    /// The configuration's options, as the generator wrote them.
    func options(_ config: String) -> StableSAMOptions {
        config == "default" ? StableSAMOptions() : StableSAMOptions(offsetScale: 2.5, routeToken: .iou, keyPositionalEncoding: .deformed)
    }

    /// How far PyTorch's own 20 steps move under float32-sized gradient noise (the generator's
    /// `noise_spread`): the scale the Swift run is held to.
    func noiseSpread(_ config: String) throws -> Float {
        let json = try JSONSerialization.jsonObject(with: Data((file.metadata["configs"] ?? "{}").utf8))
        guard let spread = ((json as? [String: Any])?[config] as? [String: Any])?["noise_spread"] as? Double else {
            throw CocoaError(.coderValueNotFound, userInfo: [NSDebugDescriptionErrorKey: "no configs.\(config).noise_spread in the fixture"])
        }
        return Float(spread)
    }

    /// A plugin with the configuration's starting weights (`<config>.init.*`).
    func plugin(_ config: String) throws -> StableSAMPlugin {
        let plugin = StableSAMPlugin(embeddingDim: 32, options: options(config))
        try plugin.visit(ParameterWalk { key, t in
            let v = try self.tensor("\(config).init.\(key)")
            precondition(v.shape == t.shape, "\(key): fixture \(v.shape) vs plugin \(t.shape)")
            t = v
        })
        return plugin
    }

    /// (embedding, sparse, dense, target) of sample i.
    func sample(_ i: Int) throws -> (embedding: Tensor, sparse: Tensor, dense: Tensor, target: Tensor) {
        (try tensor("sample\(i).image_embedding"), try tensor("sample\(i).sparse"), try tensor("no_mask_dense"),
         try tensor("sample\(i).target"))
    }

    /// Sample i's prompt in model-input pixels, for the prompt encoder.
    func prompt(_ i: Int) throws -> (points: [PromptPoint], box: (Float, Float, Float, Float)?) {
        var points: [PromptPoint] = []
        if file.entry(named: "sample\(i).point_coords") != nil {
            let xy = try tensor("sample\(i).point_coords").storage, labels = try tensor("sample\(i).point_labels").storage
            points = labels.indices.map { PromptPoint(x: xy[2 * $0], y: xy[2 * $0 + 1], label: Int(labels[$0])) }
        }
        let box = file.entry(named: "sample\(i).box") == nil ? nil : try tensor("sample\(i).box").storage
        return (points, box.map { ($0[0], $0[1], $0[2], $0[3]) })
    }
}
