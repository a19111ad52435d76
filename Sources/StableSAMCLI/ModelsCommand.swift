import ArgumentParser
import Foundation
import NN
import SegmentAnything

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the model architectures and the size of their Stable-SAM plugin, or describe a plugin file.",
        discussion: "Checkpoints of the official models load directly with --model PATH (.pth or safetensors).")

    @Option(help: "Describe this plugin file (weights, options, base model, provenance) instead.")
    var plugin: String?

    func run() throws {
        if let plugin { return try describe(plugin) }
        print("model   encoder          decoder width   Stable-SAM plugin parameters")
        for preset in SamPreset.allCases {
            let config = preset.config
            guard case .vit(let v) = config.imageEncoder else { continue }
            let width = config.maskDecoder.transformerDim
            let count = StableSAMPlugin(embeddingDim: width).parameterCount
            print(preset.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + "ViT \(v.embedDim)x\(v.depth)".padding(toLength: 17, withPad: " ", startingAt: 0)
                  + String(width).padding(toLength: 16, withPad: " ", startingAt: 0)
                  + count.formatted(.number))
        }
    }

    private func describe(_ path: String) throws {
        let file = try SafetensorsFile(url: URL(fileURLWithPath: path))
        guard file.metadata["format"] == StableSAMPlugin.fileFormat else {
            throw PluginError.notAPlugin(file: path, format: file.metadata["format"])
        }
        let count = file.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
        print("plugin \(path): \(count.formatted(.number)) parameters, decoder width \(file.metadata["transformer_dim"] ?? "?")")
        for key in ["options", "base_model", "base_decoder_fingerprint", "provenance"] {
            print("  \(key): \(file.metadata[key] ?? "-")")
        }
    }
}
