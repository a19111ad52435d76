import Foundation
import Imaging
import Metrics
import PluginTraining
import SegmentAnything
import Tracking
import VideoIO

/// The run side of adaptation: the start frame's targets, the start frame itself, and the
/// adapted plugin (or, on resume, the one the interrupted run saved).
enum StartFrameAdaptation {
    /// From a mask PNG: one target per object, pixels equal to its id; with one object, any
    /// nonzero pixel. Checked against the frame size before the model loads.
    static func maskTargets(_ path: String, specs: [ObjectSpec], width: Int, height: Int) throws -> [AdaptationTarget] {
        let m = try MaskFile.read(URL(fileURLWithPath: path))
        guard (m.width, m.height) == (width, height) else {
            throw AdaptationInputError.maskSize(path: path, width: m.width, height: m.height, frameWidth: width, frameHeight: height)
        }
        let single = specs.count == 1 && !m.values.contains(UInt8(specs[0].id))
        return try specs.map { s in
            let bits = m.values.map { single ? $0 != 0 : Int($0) == s.id }
            guard bits.contains(true) else { throw AdaptationInputError.maskMissesObject(path: path, id: s.id) }
            return .mask(BinaryMask(width: width, height: height, bits: bits))
        }
    }

    /// The plugin adapted to the start frame, attached to `model.sam`; on resume, the one the
    /// interrupted run saved (adapting again would give the same bytes, but costs time).
    /// `maskTargets`: nil for the model's answers for the boxes.
    static func adaptPlugin(_ model: TrackModel, request: TrackRequest, settings: AdaptationSettings,
                            maskTargets: [AdaptationTarget]?, layout: TrackLayout, log: (String) -> Void) throws -> AdaptationSummary {
        let sam = model.sam
        let file = layout.root.appendingPathComponent(PluginAdaptation.adaptedPluginFile)
        if request.resume, FileManager.default.fileExists(atPath: file.path) {
            let plugin = try StableSAMPlugin.load(file, for: sam)
            plugin.route = model.route
            sam.plugin = plugin
            log("resuming with the plugin adapted by the earlier run: \(file.path)")
            return AdaptationSummary(file: file.lastPathComponent, startedFrom: model.pluginFile, settings: settings, report: nil)
        }
        let plugin = try PluginAdaptation.startingPlugin(for: sam, attached: sam.plugin, route: model.route)
        let image = try startFrameImage(request)
        let targets = maskTargets ?? request.objects.map { s -> AdaptationTarget in
            .box(s.box.clipped(width: image.width, height: image.height) ?? s.box)
        }
        return try PluginAdaptation.adapt(sam: sam, plugin: plugin, image: image, targets: targets, settings: settings,
                                          modelName: model.name, startedFrom: model.pluginFile, file: file, log: log)
    }

    /// Decodes the video up to the start frame (a second reader, so the run's own reader is untouched).
    static func startFrameImage(_ request: TrackRequest) throws -> RGBImage {
        let reader = try VideoReader(url: request.video, folderFrameRate: request.folderFrameRate)
        var seen = 0
        while let frame = try reader.next() {
            seen = frame.index + 1
            if frame.index == request.startFrame {
                return frame.image
            }
        }
        if seen == 0 { throw VideoIOError.noFrames(path: reader.info.path) }
        throw TrackError.startPastEnd(start: request.startFrame, frames: seen, path: reader.info.path)
    }
}
