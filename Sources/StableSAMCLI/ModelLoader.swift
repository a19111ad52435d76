import DefaultModel
import Foundation
import SegmentAnything

enum ModelLoader {
    /// What `--model` names when it is left out.
    static let defaultSpec = "default"

    /// For `bench`: a preset name gives random weights; anything else is a checkpoint.
    static func loadOrPreset(_ spec: String) throws -> Sam {
        if let preset = SamPreset(rawValue: spec) { return preset.randomModel() }
        return try load(spec)
    }

    /// `default` is the bundled model, a registry name (`vit_b`) its downloaded file, anything else a path.
    static func load(_ spec: String) throws -> Sam {
        try SamLoader.load(try resolve(spec))
    }

    static func resolve(_ spec: String) throws -> URL {
        if spec == defaultSpec {
            guard let url = DefaultModel.modelURL else { throw ModelSpecError.defaultMissing(DefaultModel.modelFile) }
            return url
        }
        if let entry = ModelRegistry.entry(named: spec) {
            guard let url = ModelRegistry.cachedFile(for: entry) else { throw ModelSpecError.notDownloaded(spec) }
            return url
        }
        return URL(fileURLWithPath: spec)
    }
}

enum ModelSpecError: Error, CustomStringConvertible {
    case notDownloaded(String)
    case defaultMissing(String)

    var description: String {
        switch self {
        case .notDownloaded(let n): return "model \(n) is not downloaded yet: run `stablesam models fetch \(n)` (or give --model PATH)"
        case .defaultMissing(let file):
            return "the bundled default model (\(file)) is not beside the executable (looked in "
                + DefaultModel.searchedFolders.map(\.path).joined(separator: ", ")
                + "): copy the StableSAM_DefaultModel.resources folder with the binary, set STABLESAM_DEFAULT_MODEL_DIR, or give --model"
        }
    }
}
