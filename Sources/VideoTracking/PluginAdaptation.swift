import Foundation
import Imaging
import PluginTraining
import SegmentAnything

/// Adapting the Stable-SAM plugin to one image before using it (`track --adapt` on the start
/// frame, `segment --adapt` on its image): shared here so both save the same file the same way.
public enum PluginAdaptation {
    /// The adapted plugin's name in the output folder.
    public static let adaptedPluginFile = "adapted_plugin.safetensors"

    /// The plugin to adapt: the attached one, else a new identity plugin attached with `route`.
    public static func startingPlugin(for sam: Sam, attached: StableSAMPlugin?, route: Route) throws -> StableSAMPlugin {
        if let attached { return attached }
        guard route != .regular else { throw AdaptationInputError.regularRoute }
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
        plugin.route = route
        sam.plugin = plugin
        return plugin
    }

    /// Adapts `plugin` (attached to `sam`) on `image` and saves it to `file`, its summary as the
    /// file's provenance; `log` gets a line before and one after.
    public static func adapt(sam: Sam, plugin: StableSAMPlugin, image: RGBImage, targets: [AdaptationTarget],
                             settings: AdaptationSettings, modelName: String, startedFrom: String?, file: URL,
                             log: (String) -> Void) throws -> AdaptationSummary {
        log("adapting the plugin on the start frame: \(settings.steps) steps x \(settings.batchSize) prompts, "
            + "from \(startedFrom ?? "an identity plugin")")
        let report = try FrameAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: targets, settings: settings)
        let summary = AdaptationSummary(file: file.lastPathComponent, startedFrom: startedFrom, settings: settings, report: report)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let provenance = String(decoding: try encoder.encode(summary), as: UTF8.self)
        try plugin.save(to: file, base: sam.maskDecoder, baseModel: modelName, provenance: provenance)
        log(String(format: "adapted in %.1f s: loss %.3f -> %.3f, noisy-prompt IoU with the targets %.3f -> %.3f; saved %@",
                   report.seconds, report.firstLoss, report.lastLoss, report.noisyIoUBefore, report.noisyIoUAfter, file.path))
        return summary
    }
}

/// summary.json's `adaptation` entry (also the adapted plugin file's provenance).
public struct AdaptationSummary: Codable, Sendable {
    /// The adapted plugin, relative to the output folder.
    public var file: String
    /// The plugin adaptation started from; nil for an identity plugin.
    public var startedFrom: String?
    public var settings: AdaptationSettings
    /// nil when a resumed run reloaded the plugin an earlier run adapted.
    public var report: AdaptationReport?
}
