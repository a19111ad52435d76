import ArgumentParser
import Foundation
import NN
import SegmentAnything

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the official checkpoints and their Stable-SAM plugin size, download them, or describe a plugin file.",
        subcommands: [List.self, Fetch.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each known model, its plugin's parameter count and whether it is in the cache.",
            discussion: "Any SAM checkpoint (.pth or safetensors) also works as --model PATH; its architecture is read from the weights.")

        @Option(help: "Describe this plugin file (weights, options, base model, provenance) instead.")
        var plugin: String?

        func run() throws {
            if let plugin { return try describe(plugin) }
            print("cache: \(ModelRegistry.cacheDirectory.path)  (set STABLESAM_CACHE to move it)")
            print("model   encoder          decoder width   Stable-SAM plugin parameters   checkpoint")
            for preset in SamPreset.allCases {
                let config = preset.config
                let encoder: String
                switch config.imageEncoder {
                case .vit(let v): encoder = "ViT \(v.embedDim)x\(v.depth)"
                case .tinyViT: encoder = "TinyViT"
                }
                let width = config.maskDecoder.transformerDim
                let count = StableSAMPlugin(embeddingDim: width).parameterCount
                let state = ModelRegistry.entry(named: preset.rawValue).map { e in
                    ModelRegistry.cachedFile(for: e).map { "cached: \($0.path)" } ?? "stablesam models fetch \(e.name)"
                } ?? "load mobile_sam.pt with --model PATH"
                print(preset.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                      + encoder.padding(toLength: 17, withPad: " ", startingAt: 0)
                      + String(width).padding(toLength: 16, withPad: " ", startingAt: 0)
                      + count.formatted(.number).padding(toLength: 31, withPad: " ", startingAt: 0)
                      + state)
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

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an official checkpoint into the cache, checking its size and SHA-256.")

        @Argument(help: "Model name (see `stablesam models`).")
        var name: String

        @Option(help: "Download from this base URL instead of the official host (a mirror).")
        var baseURL: String?

        func validate() throws {
            guard ModelRegistry.entry(named: name) != nil else {
                throw ValidationError(FetchError.unknownModel(name, known: ModelRegistry.entries.map(\.name)).description)
            }
            if let baseURL, URL(string: baseURL)?.scheme == nil { throw ValidationError("--base-url must be a URL such as https://mirror.example/sam") }
        }

        func run() async throws {
            let entry = ModelRegistry.entry(named: name)!
            let fetcher = ModelFetcher(baseURL: baseURL.flatMap(URL.init(string:)))
            if ModelRegistry.cachedFile(for: entry) == nil {
                FileHandle.standardError.write(Data("downloading \(fetcher.sourceURL(for: entry).absoluteString) ...\n".utf8))
            }
            let url = try await fetcher.fetch(entry)
            print(url.path)
        }
    }
}
