import ArgumentParser
import DefaultModel
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
            try describeDefault()
            print("")
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

        /// The bundled model and plugin: what they are and how they were trained (from their metadata).
        private func describeDefault() throws {
            guard let modelURL = DefaultModel.modelURL else {
                print("default: the bundled model is missing (looked in \(DefaultModel.searchedFolders.map(\.path).joined(separator: ", ")))")
                return
            }
            let sam = try SamLoader.load(modelURL)
            let file = try SafetensorsFile(url: modelURL)
            let provenance = Self.json(file.metadata["provenance"])
            print("default (used when --model is not given): \(modelURL.path)")
            print("  a small SAM (\(sam.parameterCount.formatted(.number)) parameters, \(sam.config.imgSize) px input, decoder width \(sam.config.maskDecoder.transformerDim)) trained from scratch by Scripts/train_base.py")
            print("  on generated scenes (Scripts/scenes): for the bundled clips, tests and demos, not for real footage")
            let keys = ["steps", "images_seen", "train_wall_seconds", "heldout_eval"]
            print("  training: " + keys.compactMap { k in provenance[k].map { "\(k) \($0)" } }.joined(separator: ", "))
            if let pluginURL = DefaultModel.pluginURL {
                let plugin = try SafetensorsFile(url: pluginURL)
                let count = plugin.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
                let p = Self.json(plugin.metadata["provenance"])
                print("  plugin: \(pluginURL.lastPathComponent), \(count.formatted(.number)) parameters, RTS on the frozen base: "
                      + ["trainer", "steps", "samples", "seed"].compactMap { k in p[k].map { "\(k) \($0)" } }.joined(separator: ", "))
            }
        }

        static func json(_ text: String?) -> [String: Any] {
            guard let text, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
            return object
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
