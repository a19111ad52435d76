import Foundation
import Imaging
import NN
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// One `plugin_tiny_<name>` pair written by Scripts/make_plugin_fixtures.py from the PyTorch
/// reference (Scripts/stable_sam) on the official SAM: a plugin file and its stages per prompt.
/// Repro: `.venv-scripts/bin/python Scripts/make_plugin_fixtures.py` (seeds, versions in metadata).
struct PluginFixture {
    let base: ParityFixture
    let stages: SafetensorsFile
    let cases: [ParityFixture.Case]
    let pluginURL: URL

    init(_ name: String) throws {
        base = try ParityFixture("win")
        pluginURL = Fixtures.url("plugin_tiny_\(name).safetensors")
        stages = try SafetensorsFile(url: Fixtures.url("plugin_tiny_\(name)_stages.safetensors"))
        cases = try JSONDecoder().decode([ParityFixture.Case].self, from: Data((stages.metadata["cases"] ?? "[]").utf8))
    }

    func tensor(_ key: String) throws -> Tensor { try stages.tensor(named: key) }

    /// The case's prompt, read from this fixture's own copy of the coordinates.
    func prompt(_ c: ParityFixture.Case) throws -> Prompt {
        var prompt = Prompt()
        if c.inputs.contains("box") {
            let b = try tensor("case\(c.k).box").storage.map(Double.init)
            prompt.box = Box(x0: b[0], y0: b[1], x1: b[2], y1: b[3])
        }
        if c.inputs.contains("point_coords") {
            let xy = try tensor("case\(c.k).point_coords").storage, labels = try tensor("case\(c.k).point_labels").storage
            prompt.points = labels.indices.map { Prompt.Point(x: Double(xy[2 * $0]), y: Double(xy[2 * $0 + 1]), positive: labels[$0] == 1) }
        }
        return prompt
    }

    /// The base model with its image set, and the plugin loaded (not yet attached).
    func predictorAndPlugin() throws -> (Predictor, StableSAMPlugin) {
        let sam = try base.loadModel()
        let predictor = Predictor(model: sam)
        predictor.setImage(try base.image())
        return (predictor, try StableSAMPlugin.load(pluginURL, for: sam))
    }
}

/// Tolerances: |a - e| <= atol + rtol·|e|; atol 1e-4, rtol 1e-3 for features and logits, as the
/// SAM parity suite (float32 sums in another order than PyTorch's; PyTorch also reaches p + d
/// through a normalised grid, which moves sampling positions by ~1e-6 cells).
@Suite("Stable-SAM plugins match the PyTorch reference")
struct StableSAMPluginTests {
    @Test("with the identity initialisation the plugin leaves SAM's outputs bit for bit unchanged")
    func identityIsPlainSAM() throws {
        let f = try PluginFixture("identity")
        let (predictor, loaded) = try f.predictorAndPlugin()
        for plugin in [loaded, StableSAMPlugin(embeddingDim: 32, seed: 3)] {
            for c in f.cases {
                predictor.model.plugin = nil
                let plain = try predictor.predict(try f.prompt(c), multimask: c.multimask)
                predictor.model.plugin = plugin
                let p = try predictor.predict(try f.prompt(c), multimask: c.multimask)
                #expect(p.lowResLogits.storage == plain.lowResLogits.storage, "case \(c.k): low-res logits differ")
                #expect(p.iou == plain.iou && p.logits.storage == plain.logits.storage, "case \(c.k)")
                #expect(p.route == [0.5, 0.5] && plain.route == nil)
            }
        }
    }

    @Test("with large random offsets every stage matches: offsets, samples, values, route, masks, IoU",
          arguments: ["large", "options"])
    func largeOffsets(name: String) throws {
        let f = try PluginFixture(name)
        let (predictor, plugin) = try f.predictorAndPlugin()
        plugin.recordsStages = true
        predictor.model.plugin = plugin
        #expect(f.cases.count == 3)
        for c in f.cases {
            let p = try predictor.predict(try f.prompt(c), multimask: c.multimask)
            let stage = "\(name) case \(c.k) (\(c.description))"
            let s = try #require(plugin.lastStages)
            for (label, actual) in [("offsets", s.offsets), ("sample", s.sample), ("values", s.values)] {
                let r = compare(actual, try f.tensor("case\(c.k).\(label)"), atol: 1e-4, rtol: 1e-3)
                #expect(r.passed, "\(stage) \(label): \(r)")
            }
            let route = compare(try #require(p.route), try f.tensor("case\(c.k).route").storage, atol: 1e-5, rtol: 1e-4)
            #expect(route.passed, "\(stage) route: \(route)")
            let expectedLow = try f.tensor("case\(c.k).low_res_masks")
            let low = compare(p.lowResLogits, expectedLow.reshaped(Array(expectedLow.shape.dropFirst())), atol: 1e-4, rtol: 1e-3)
            #expect(low.passed, "\(stage) low_res_masks: \(low)")
            let iou = compare(p.iou, try f.tensor("case\(c.k).iou").storage, atol: 1e-4, rtol: 1e-3)
            #expect(iou.passed, "\(stage) iou: \(iou)")
        }
    }

    @Test("the deformable route forces a = (1, 0) and matches the reference")
    func deformableRoute() throws {
        let f = try PluginFixture("large")
        let (predictor, plugin) = try f.predictorAndPlugin()
        plugin.route = .deformable
        predictor.model.plugin = plugin
        let c = f.cases[0]
        let p = try predictor.predict(try f.prompt(c), multimask: c.multimask)
        #expect(p.route == [1, 0])
        let expectedLow = try f.tensor("case\(c.k).deformable.low_res_masks")
        let low = compare(p.lowResLogits, expectedLow.reshaped(Array(expectedLow.shape.dropFirst())), atol: 1e-4, rtol: 1e-3)
        #expect(low.passed, "deformable low_res_masks: \(low)")
        let iou = compare(p.iou, try f.tensor("case\(c.k).deformable.iou").storage, atol: 1e-4, rtol: 1e-3)
        #expect(iou.passed, "deformable iou: \(iou)")
    }

    @Test("the regular route equals no plugin, bit for bit")
    func regularRouteIsPlainSAM() throws {
        let f = try PluginFixture("large")
        let (predictor, plugin) = try f.predictorAndPlugin()
        plugin.route = .regular
        for c in f.cases {
            predictor.model.plugin = nil
            let plain = try predictor.predict(try f.prompt(c), multimask: c.multimask)
            predictor.model.plugin = plugin
            let p = try predictor.predict(try f.prompt(c), multimask: c.multimask)
            #expect(p.lowResLogits.storage == plain.lowResLogits.storage && p.iou == plain.iou, "case \(c.k)")
            #expect(p.route == [0, 1])
        }
    }

    @Test("a 256-wide plugin has 81,826 parameters: DSP 73,472 and DRP 8,354")
    func parameterCount() {
        let plugin = StableSAMPlugin(embeddingDim: 256)
        #expect(plugin.parameterCount == 81_826)
        #expect(plugin.dsp.parameterCount == 73_472)
        #expect(plugin.drp.parameterCount == 8_354)
    }

    @Test("the plugin file records the reference's fingerprint of the base decoder")
    func fingerprint() throws {
        let f = try PluginFixture("large")
        let file = try SafetensorsFile(url: f.pluginURL)
        #expect(file.metadata["base_decoder_fingerprint"] == (try f.base.loadModel()).maskDecoder.fingerprint())
        #expect(file.metadata["base_model"] == "sam_tiny_win.pth")
    }

    @Test("loading rejects a plugin for another decoder width, naming both widths")
    func widthMismatch() throws {
        let f = try PluginFixture("large")
        let narrow = try ParityFixture("glob").loadModel()   // a 24-wide decoder
        #expect(throws: PluginError.widthMismatch(file: "plugin_tiny_large.safetensors", plugin: 32, decoder: 24)) {
            try StableSAMPlugin.load(f.pluginURL, for: narrow)
        }
        let message = PluginError.widthMismatch(file: "p", plugin: 32, decoder: 24).description
        #expect(message.contains("32") && message.contains("24"))
    }

    @Test("loading rejects a plugin trained on different decoder weights unless asked not to check")
    func baseMismatch() throws {
        let f = try PluginFixture("large")
        let sam = try f.base.loadModel()
        sam.maskDecoder.iouToken.weight.storage[0] += 1
        #expect(throws: PluginError.self) { try StableSAMPlugin.load(f.pluginURL, for: sam) }
        _ = try StableSAMPlugin.load(f.pluginURL, for: sam, checkBase: false)
    }

    @Test("a saved plugin loads back with the same weights, options and base")
    func saveRoundTrip() throws {
        let f = try PluginFixture("options")
        let (predictor, plugin) = try f.predictorAndPlugin()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plugin-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try plugin.save(to: url, base: predictor.model.maskDecoder, baseModel: "sam_tiny_win.pth", provenance: "{\"test\":true}")
        let back = try StableSAMPlugin.load(url, for: predictor.model)
        #expect(back.options == StableSAMOptions(offsetScale: 2.5, routeToken: .iou, keyPositionalEncoding: .deformed))
        #expect(back.namedParameters().map(\.tensor) == plugin.namedParameters().map(\.tensor))
        #expect(back.info.baseModel == "sam_tiny_win.pth" && back.info.provenance == "{\"test\":true}")
    }
}
