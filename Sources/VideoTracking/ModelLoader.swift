import DefaultModel
import Foundation
import SegmentAnything

/// What `--model` and `--plugin` name, resolved and loaded: shared by the CLI's commands and `serve`.
public enum ModelLoader {
    /// What `--model` names when it is left out.
    public static let defaultSpec = "default"

    /// For `bench`: a preset name gives random weights; anything else is a checkpoint.
    public static func loadOrPreset(_ spec: String) throws -> Sam {
        if let preset = SamPreset(rawValue: spec) { return preset.randomModel() }
        return try load(spec)
    }

    /// `default` is the bundled model, a registry name (`vit_b`) its downloaded file, anything else a path.
    public static func load(_ spec: String) throws -> Sam {
        try SamLoader.load(try resolve(spec))
    }

    public static func resolve(_ spec: String) throws -> URL {
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

    /// The plugin file for `--plugin` with `--model model`: `none` -> nil; `default` -> the bundled
    /// plugin with the bundled model, nil with any other; anything else is a path.
    public static func pluginPath(_ plugin: String, model: String) throws -> String? {
        switch plugin {
        case "none": return nil
        case "default":
            guard model == defaultSpec else { return nil }
            guard let url = DefaultModel.pluginURL else { throw ModelSpecError.defaultMissing(DefaultModel.pluginFile) }
            return url.path
        default: return plugin
        }
    }

    /// The model and plugin a tracking run needs, loaded and attached (the plugin checked against
    /// the model's decoder), as `track` loads them; `serve` calls this when it first propagates.
    public static func trackModel(model: String, plugin: String, route: Route) throws -> TrackModel {
        let sam = try load(model)
        let path = try pluginPath(plugin, model: model)
        if let path {
            let loaded = try StableSAMPlugin.load(URL(fileURLWithPath: path), for: sam)
            loaded.route = route
            sam.plugin = loaded
        } else if route == .deformable {
            throw ModelSpecError.routeNeedsPlugin
        }
        return TrackModel(sam: sam, name: model, pluginFile: path, route: route)
    }
}

public enum ModelSpecError: Error, CustomStringConvertible {
    case notDownloaded(String)
    case defaultMissing(String)
    case routeNeedsPlugin

    public var description: String {
        switch self {
        case .routeNeedsPlugin: return "--route deformable needs a plugin: give --plugin PATH"
        case .notDownloaded(let n): return "model \(n) is not downloaded yet: run `stablesam models fetch \(n)` (or give --model PATH)"
        case .defaultMissing(let file):
            return "the bundled default model (\(file)) is not beside the executable (looked in "
                + DefaultModel.searchedFolders.map(\.path).joined(separator: ", ")
                + "): copy the StableSAM_DefaultModel.resources folder with the binary, set STABLESAM_DEFAULT_MODEL_DIR, or give --model"
        }
    }
}
