import ArgumentParser
import Foundation
import Metrics
import PluginTraining
import SegmentAnything
import Tensor
import VideoIO
import VideoTracking

struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment one image from a box and/or points.",
        discussion: """
            Writes DIR/mask.png (0/255, image size; with --multimask the best-scoring candidate, plus \
            mask_K.png per candidate), DIR/overlay.png and DIR/result.json (prompt, predicted IoU, mask as COCO RLE, \
            and with --plugin the route weights [a1 deformed, a2 regular]).
            """)

    @Argument(help: "Image file (PNG, JPEG, BMP, TIFF, WebP: anything FFmpeg decodes).")
    var image: String

    @Option(help: "SAM checkpoint (.pth or safetensors), a downloaded registry name such as vit_b (see `stablesam models`), or 'default': the small bundled model, for the bundled clips and demos.")
    var model: String = ModelLoader.defaultSpec

    @Option(help: "Box prompt in pixels, origin top-left.")
    var box: BoxArgument?

    @Option(name: .customLong("point"), help: "Point prompt x,y[,label]; label 1 foreground (default), 0 background. Repeatable.")
    var points: [PointArgument] = []

    @Flag(help: "Return SAM's three candidate masks instead of one.")
    var multimask = false

    @Option(help: "Output folder (created if missing).")
    var out: String

    @OptionGroup(title: "Precision") var precisionOptions: PrecisionOptions

    @OptionGroup(title: "Stable-SAM")
    var pluginOptions: PluginOptions

    @OptionGroup(title: "Adaptation")
    var adaptOptions: AdaptOptions

    @Option(help: "With --adapt: the target mask (PNG, image size, nonzero = object) instead of the model's answer for --box.")
    var mask: String?

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    func validate() throws {
        guard box != nil || !points.isEmpty else {
            throw ValidationError("give a prompt: --box x0,y0,x1,y1 and/or --point x,y[,label]")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard mask == nil || adaptOptions.adapt else { throw ValidationError("--mask is the target of --adapt: give --adapt too") }
        guard !adaptOptions.adapt || box != nil || mask != nil else {
            throw ValidationError("--adapt needs a target: --box (the model's mask for it) or --mask FILE")
        }
    }

    func run() throws {
        try precisionOptions.run { try runInPrecision() }
    }

    private func runInPrecision() throws {
        BLAS.setThreads(threads)
        let modelURL = try ModelLoader.resolve(model)
        let rgb = try ImageReader.read(URL(fileURLWithPath: image))
        let prompt = Prompt(box: box?.box, points: points.map(\.point))
        // Check the prompt against the image size before paying for the encoder.
        try prompt.validate(width: rgb.width, height: rgb.height)

        // Read before the model loads, so a bad mask costs nothing.
        let target = try mask.map { path -> AdaptationTarget in
            let m = try MaskFile.read(URL(fileURLWithPath: path))
            guard (m.width, m.height) == (rgb.width, rgb.height) else {
                throw ValidationError("--mask \(path) is \(m.width)x\(m.height); the image is \(rgb.width)x\(rgb.height)")
            }
            return .mask(BinaryMask(width: m.width, height: m.height, bits: m.values.map { $0 != 0 }))
        } ?? box.map { .box($0.box) }

        let sam = try SamLoader.load(modelURL)
        var plugin = try pluginOptions.attach(to: sam, model: model)
        let outURL = URL(fileURLWithPath: out, isDirectory: true)
        var pluginPath = plugin == nil ? nil : try pluginOptions.pluginPath(model: model)
        if adaptOptions.adapt, let target {
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            let adapted = try PluginAdaptation.startingPlugin(for: sam, attached: plugin, route: pluginOptions.route)
            let file = outURL.appendingPathComponent(PluginAdaptation.adaptedPluginFile)
            _ = try PluginAdaptation.adapt(sam: sam, plugin: adapted, image: rgb, targets: [target], settings: adaptOptions.settings,
                                           modelName: model, startedFrom: pluginPath, file: file,
                                           log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            plugin = adapted
            pluginPath = file.path
        }
        let predictor = Predictor(model: sam)
        predictor.setImage(rgb)
        let prediction = try predictor.predict(prompt, multimask: multimask)

        try SegmentOutput(image: rgb, prompt: prompt, prediction: prediction, modelPath: model,
                          pluginPath: plugin == nil ? nil : pluginPath, routeMode: pluginOptions.route,
                          imagePath: image, multimask: multimask).write(to: outURL)
        print("wrote \(outURL.appendingPathComponent("mask.png").path), overlay.png and result.json")
    }
}
