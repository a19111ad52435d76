import ArgumentParser
import Foundation
import Metrics
import PluginTraining
import SegmentAnything
import Tracking
import VideoIO

/// `--adapt` and its settings, shared by `track` and `segment`.
struct AdaptOptions: ParsableArguments {
    @Flag(help: "Before running, adapt the Stable-SAM plugin to this input: train it for --adapt-steps on the start frame (SAM frozen), the targets being the model's masks for the given boxes (segment: or --mask), the prompts noisy boxes and points around them. Starts from the given plugin, or from an identity plugin with --plugin none; works with any checkpoint. The adapted plugin is saved in the output folder.")
    var adapt = false

    @Option(help: "Optimiser steps of --adapt, 4 prompts each.")
    var adaptSteps = AdaptationSettings().steps

    @Option(help: "Seed of --adapt's prompts.")
    var adaptSeed: UInt64 = 0

    func validate() throws {
        guard adaptSteps >= 1 else { throw ValidationError("--adapt-steps must be at least 1") }
    }

    var settings: AdaptationSettings { AdaptationSettings(steps: adaptSteps, seed: adaptSeed) }

    /// The plugin to adapt: the attached one, else a new identity plugin attached with `route`.
    static func startingPlugin(for sam: Sam, attached: StableSAMPlugin?, route: Route) throws -> StableSAMPlugin {
        if let attached { return attached }
        guard route != .regular else { throw ValidationError("--adapt with --route regular: the regular route never runs the plugin") }
        let plugin = StableSAMPlugin(embeddingDim: sam.maskDecoder.config.transformerDim)
        plugin.route = route
        sam.plugin = plugin
        return plugin
    }

    /// Adapts `plugin` (attached to `sam`) on `image` and saves it to `file`.
    static func run(sam: Sam, plugin: StableSAMPlugin, image: RGB8Image, targets: [AdaptationTarget], settings: AdaptationSettings,
                    modelName: String, startedFrom: String?, file: URL, log: (String) -> Void) throws -> AdaptationSummary {
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
struct AdaptationSummary: Codable {
    /// The adapted plugin, relative to the output folder.
    var file: String
    /// The plugin adaptation started from; nil for an identity plugin.
    var startedFrom: String?
    var settings: AdaptationSettings
    /// nil when a resumed run reloaded the plugin an earlier run adapted.
    var report: AdaptationReport?
}

extension Track {
    static let adaptedPluginFile = "adapted_plugin.safetensors"

    /// `--adapt`: the plugin adapted to the start frame, attached to `sam`; on `--resume`, the
    /// one the interrupted run saved (adapting again would give the same bytes, but costs time).
    /// `maskTargets`: from `--mask` (read before the model loads); nil: the model's answers for the boxes.
    func adaptPlugin(sam: Sam, attached: StableSAMPlugin?, specs: [ObjectSpec], maskTargets: [AdaptationTarget]?, layout: TrackLayout,
                     log: (String) -> Void) throws -> AdaptationSummary {
        let file = layout.root.appendingPathComponent(Self.adaptedPluginFile)
        let startedFrom = try pluginOptions.pluginPath(model: model)
        if resume, FileManager.default.fileExists(atPath: file.path) {
            let plugin = try StableSAMPlugin.load(file, for: sam)
            plugin.route = pluginOptions.route
            sam.plugin = plugin
            log("resuming with the plugin adapted by the earlier run: \(file.path)")
            return AdaptationSummary(file: file.lastPathComponent, startedFrom: startedFrom, settings: adaptOptions.settings, report: nil)
        }
        let plugin = try AdaptOptions.startingPlugin(for: sam, attached: attached, route: pluginOptions.route)
        let image = try startFrameImage()
        let targets = maskTargets ?? specs.map { s -> AdaptationTarget in
                let b = s.box.clipped(width: image.width, height: image.height) ?? s.box
                return .box(b.x0, b.y0, b.x1, b.y1)
            }
        return try AdaptOptions.run(sam: sam, plugin: plugin, image: image, targets: targets, settings: adaptOptions.settings,
                                    modelName: model, startedFrom: startedFrom, file: file, log: log)
    }

    /// `--mask`: one target per object, pixels equal to its id; with one object, any nonzero pixel.
    func maskTargets(_ path: String, specs: [ObjectSpec], width: Int, height: Int) throws -> [AdaptationTarget] {
        let m = try MaskFile.read(URL(fileURLWithPath: path))
        guard (m.width, m.height) == (width, height) else {
            throw ValidationError("--mask \(path) is \(m.width)x\(m.height); the frame is \(width)x\(height)")
        }
        let single = specs.count == 1 && !m.values.contains(UInt8(specs[0].id))
        return try specs.map { s in
            let bits = m.values.map { single ? $0 != 0 : Int($0) == s.id }
            guard bits.contains(true) else {
                throw ValidationError("--mask \(path) has no pixel of object \(s.id) (value \(s.id)); every object needs its mask")
            }
            return .mask(BinaryMask(width: width, height: height, bits: bits))
        }
    }

    /// Decodes the video up to --start-frame (a second reader, so the run's own reader is untouched).
    func startFrameImage() throws -> RGB8Image {
        let reader = try VideoReader(url: URL(fileURLWithPath: video), folderFrameRate: Rational(Int((fps * 1000).rounded()), 1000))
        var seen = 0
        while let frame = try reader.next() {
            seen = frame.index + 1
            if frame.index == startFrame {
                return RGB8Image(width: frame.image.width, height: frame.image.height, pixels: frame.image.pixels)
            }
        }
        if seen == 0 { throw VideoIOError.noFrames(path: reader.info.path) }
        throw TrackError.startPastEnd(start: startFrame, frames: seen, path: reader.info.path)
    }
}
