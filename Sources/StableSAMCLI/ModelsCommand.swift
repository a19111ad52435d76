import ArgumentParser
import Foundation
import SegmentAnything

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the official checkpoints StableSAM knows, and download them.",
        subcommands: [List.self, Fetch.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each known model and whether it is in the cache.")

        func run() {
            print("cache: \(ModelRegistry.cacheDirectory.path)  (set STABLESAM_CACHE to move it)")
            for e in ModelRegistry.entries {
                let state = ModelRegistry.cachedFile(for: e).map { "cached: \($0.path)" } ?? "not downloaded (stablesam models fetch \(e.name))"
                print("\(e.name.padding(toLength: 7, withPad: " ", startingAt: 0)) \(e.summary)\n        \(e.architecture); \(state)")
            }
            print("Any SAM checkpoint (.pth or safetensors) also works as --model PATH; its architecture is read from the weights.")
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
