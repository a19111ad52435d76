import ArgumentParser
import DefaultModel
import Foundation
import SegmentAnything
import VideoTracking

extension Route: ExpressibleByArgument {}

/// `--plugin PATH|none` and `--route auto|deformable|regular`, shared by the commands that run the
/// mask decoder (`segment`; `track` adopts the same group).
struct PluginOptions: ParsableArguments {
    @Option(help: "Stable-SAM plugin file (safetensors, from Scripts/stable_sam), 'none' for plain SAM, or 'default': the bundled plugin with the bundled model, none with any other model.")
    var plugin: String = "default"

    @Option(help: "How block 2 mixes deformed and regular features: auto (the plugin's router), deformable (a = 1, 0) or regular (a = 0, 1: plain SAM).")
    var route: Route = .auto

    /// The plugin file to load with `model` (a `--model` value), or nil for plain SAM.
    func pluginPath(model: String) throws -> String? { try Self.resolve(plugin, model: model) }

    /// `none` -> nil; `default` -> the bundled plugin with the bundled model, nil with any other; else a path.
    static func resolve(_ plugin: String, model: String) throws -> String? { try ModelLoader.pluginPath(plugin, model: model) }

    func validate() throws {
        if plugin == "none" && route == .deformable {
            throw ValidationError("--route deformable needs a plugin: give --plugin PATH")
        }
    }

    /// Loads the plugin (checked against `sam`'s decoder), attaches it with the chosen route and
    /// says what was loaded on stderr (unless `quiet`). Returns nil for plain SAM.
    @discardableResult
    func attach(to sam: Sam, model: String, quiet: Bool = false) throws -> StableSAMPlugin? {
        guard let path = try pluginPath(model: model) else {
            if route == .deformable { throw ValidationError("--route deformable needs a plugin: give --plugin PATH") }
            return nil
        }
        let plugin = try StableSAMPlugin.load(URL(fileURLWithPath: path), for: sam)
        plugin.route = route
        sam.plugin = plugin
        if !quiet { FileHandle.standardError.write(Data("\(PluginOptions.summary(plugin, path: path)), route \(route.rawValue)\n".utf8)) }
        return plugin
    }

    static func summary(_ plugin: StableSAMPlugin, path: String) -> String {
        let o = plugin.options
        return "plugin \(path): \(plugin.parameterCount.formatted(.number)) parameters (C = \(plugin.embeddingDim)), "
            + "offset_scale \(o.offsetScale), route_token \(o.routeToken.rawValue), key_pe \(o.keyPositionalEncoding.rawValue)"
            + (plugin.info.baseModel.isEmpty ? "" : ", trained on \(plugin.info.baseModel)")
    }
}
