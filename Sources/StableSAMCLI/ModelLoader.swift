import Foundation
import SegmentAnything

enum ModelLoader {
    /// For `bench`: a preset name gives random weights; anything else is a checkpoint.
    static func loadOrPreset(_ spec: String) throws -> Sam {
        if let preset = SamPreset(rawValue: spec) { return preset.randomModel() }
        return try load(spec)
    }

    /// A registry name (`vit_b`) resolves to its downloaded file; anything else is a path.
    static func load(_ spec: String) throws -> Sam {
        try SamLoader.load(try resolve(spec))
    }

    static func resolve(_ spec: String) throws -> URL {
        if let entry = ModelRegistry.entry(named: spec) {
            guard let url = ModelRegistry.cachedFile(for: entry) else { throw ModelSpecError.notDownloaded(spec) }
            return url
        }
        return URL(fileURLWithPath: spec)
    }
}

enum ModelSpecError: Error, CustomStringConvertible {
    case notDownloaded(String)
    var description: String {
        switch self {
        case .notDownloaded(let n): return "model \(n) is not downloaded yet: run `stablesam models fetch \(n)` (or give --model PATH)"
        }
    }
}
