import ArgumentParser
import Foundation
import Metrics
import SegmentAnything
import Tensor
import VideoIO

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

    @OptionGroup(title: "Stable-SAM")
    var pluginOptions: PluginOptions

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    func validate() throws {
        guard box != nil || !points.isEmpty else {
            throw ValidationError("give a prompt: --box x0,y0,x1,y1 and/or --point x,y[,label]")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.setThreads(threads)
        let modelURL = try ModelLoader.resolve(model)
        let rgb = try ImageReader.read(URL(fileURLWithPath: image))
        let frame = RGB8Image(width: rgb.width, height: rgb.height, pixels: rgb.pixels)
        let prompt = Prompt(box: box.map { ($0.x0, $0.y0, $0.x1, $0.y1) }, points: points.map(\.point))
        // Check the prompt against the image size before paying for the encoder.
        try prompt.validate(width: rgb.width, height: rgb.height)

        let sam = try SamLoader.load(modelURL)
        let plugin = try pluginOptions.attach(to: sam, model: model)
        let predictor = Predictor(model: sam)
        predictor.setImage(frame)
        let prediction = try predictor.predict(prompt, multimask: multimask)

        let outURL = URL(fileURLWithPath: out, isDirectory: true)
        try SegmentOutput(image: rgb, prompt: prompt, prediction: prediction, modelPath: model,
                          pluginPath: plugin == nil ? nil : try pluginOptions.pluginPath(model: model), routeMode: pluginOptions.route,
                          imagePath: image, multimask: multimask).write(to: outURL)
        print("wrote \(outURL.appendingPathComponent("mask.png").path), overlay.png and result.json")
    }
}
