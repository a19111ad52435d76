import ArgumentParser
import Evaluation
import DefaultModel
import Foundation
import Imaging
import Metrics
import SegmentAnything
import Tensor
import VideoTracking
import VideoIO

/// A promptable segmenter as the robustness sweep sees it: plain SAM, or SAM with the Stable-SAM
/// plugin, run side by side on identical prompts.
protocol PromptSegmenting {
    var name: String { get }
    /// Encodes an image (once per image, shared by all its objects and prompts).
    func setImage(_ image: RGBImage) throws
    /// The single-mask prediction for a prompt, at image size.
    func segment(_ prompt: SweepPrompt) throws -> BinaryMask
}

/// SAM through a `Predictor`, single-mask output as the paper's box and point results use. Engines
/// may share one predictor (the plugin's `regular` route is plain SAM bit for bit), so an image is
/// encoded once for all of them.
final class SamSegmenter: PromptSegmenting {
    let name: String
    let predictor: Predictor
    /// The plugin route this engine runs with; nil when the model has no plugin.
    let route: Route?
    private var size = (w: 0, h: 0)

    init(name: String, predictor: Predictor, route: Route? = nil) {
        self.name = name
        self.predictor = predictor
        self.route = route
    }

    func setImage(_ image: RGBImage) throws {
        size = (image.width, image.height)
        if predictor.imageEmbedding == nil || predictor.lastImage != image { predictor.setImage(image) }
    }

    func segment(_ prompt: SweepPrompt) throws -> BinaryMask {
        if let route { predictor.model.plugin?.route = route }
        let p = Prompt(box: prompt.box,
                       points: prompt.points.map { Prompt.Point(x: $0.x, y: $0.y, positive: true) })
        let prediction = try predictor.predict(p, multimask: false)
        return BinaryMask(width: size.w, height: size.h, bytes: prediction.mask(0))
    }
}

struct RobustnessReport: Codable {
    struct Engine: Codable {
        var name: String
        var scores: [PromptTypeScores]
    }
    var images: Int
    var objects: Int
    var seed: UInt64
    var draws: Int
    var boundaryRatio: Double
    var engines: [Engine]
}

struct Robustness: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Stable-SAM prompt-robustness sweep: GT box, noisy boxes, 1/3/10 points; mIoU, mBIoU, ST, pairwise IoU.",
        discussion: """
            Each image in --images needs a mask with the same name stem in --masks: a 0/255 PNG (one object) or a \
            palette PNG (each index 1-254 an object). Per object: the ground-truth box once; noisy boxes at \
            s = 0.1...0.5 (HQ-SAM noise) and 1, 3 and 10 random positive points, --draws seeded draws each. \
            With --plugin the same prompts also go through SAM + the Stable-SAM plugin, side by side.
            """)

    @Option(help: "Folder of images.")
    var images: String

    @Option(help: "Folder of ground-truth masks, one per image (same name stem).")
    var masks: String

    @Option(help: "SAM checkpoint (.pth or safetensors), a downloaded registry name, or 'default' (the bundled model).")
    var model: String = ModelLoader.defaultSpec

    @Option(help: "Stable-SAM plugin weights (safetensors), 'none', or 'default' (the bundled plugin with the bundled model); with a plugin, SAM and Stable-SAM run side by side.")
    var plugin: String = "default"

    @Option(help: "Random draws per object and prompt type.")
    var draws: Int = 20

    @Option(help: "Seed of the prompt draws.")
    var seed: UInt64 = 0

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Option(help: "Also write a self-contained HTML report to this file.")
    var html: String?

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    func validate() throws {
        guard draws >= 2 else { throw ValidationError("--draws must be at least 2 (ST and pairwise IoU compare draws)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    @OptionGroup(title: "Precision") var precisionOptions: PrecisionOptions

    func run() throws {
        try precisionOptions.run { try runInPrecision() }
    }

    private func runInPrecision() throws {
        BLAS.setThreads(threads)
        let pairs = try RobustnessInput.pairs(images: images, masks: masks)
        let sam = try ModelLoader.load(model)
        let predictor = Predictor(model: sam)
        var engines: [any PromptSegmenting] = [SamSegmenter(name: "SAM", predictor: predictor)]
        if let path = try PluginOptions.resolve(plugin, model: model) {
            sam.plugin = try StableSAMPlugin.load(URL(fileURLWithPath: path), for: sam)
            engines = [SamSegmenter(name: "SAM", predictor: predictor, route: .regular),
                       SamSegmenter(name: "Stable-SAM", predictor: predictor, route: .auto)]
        }
        let sweep = RobustnessProtocol(seed: seed, draws: draws)
        var accumulators = engines.map { _ in RobustnessAccumulator(boundaryRatio: sweep.boundaryRatio) }
        var objectCount = 0
        for (i, pair) in pairs.enumerated() {
            let image = try ImageReader.read(pair.image)
            let objects = try RobustnessInput.objects(pair.mask, width: image.width, height: image.height)
            objectCount += objects.count
            FileHandle.standardError.write(Data("[\(i + 1)/\(pairs.count)] \(pair.image.lastPathComponent): \(objects.count) objects\n".utf8))
            for (e, engine) in engines.enumerated() {
                try engine.setImage(image)
                for (k, object) in objects.enumerated() {
                    for kind in sweep.kinds {
                        let prompts = sweep.prompts(kind, groundTruth: object, image: i, object: k)
                        accumulators[e].add(kind, groundTruth: object, masks: try prompts.map(engine.segment))
                    }
                }
            }
        }
        let report = RobustnessReport(images: pairs.count, objects: objectCount, seed: seed, draws: draws,
                                      boundaryRatio: sweep.boundaryRatio,
                                      engines: zip(engines, accumulators).map { .init(name: $0.name, scores: $1.scores) })
        print(Self.table(report))
        if let json { try ReportFiles.writeJSON(report, to: json) }
        if let html { try ReportFiles.write(Self.html(report), to: html) }
    }

    static func table(_ r: RobustnessReport) -> String {
        var header = ["prompt"]
        for e in r.engines { header += ["\(e.name) mIoU", "mBIoU", "ST", "pairIoU"] }
        let kinds = r.engines.first?.scores.map(\.kind) ?? []
        let rows = kinds.indices.map { k in
            [kinds[k]] + r.engines.flatMap { e -> [String] in
                let s = e.scores[k]
                return [ReportTable.number(s.mIoU), ReportTable.number(s.mBIoU), ReportTable.number(s.stability),
                        ReportTable.number(s.pairwiseIoU)]
            }
        }
        return ReportTable.render(header, rows)
            + "\n\(r.images) images, \(r.objects) objects, \(r.draws) draws per random prompt type, seed \(r.seed); "
            + "mBIoU band \(r.boundaryRatio) of the diagonal; ST/pairIoU need several draws (\"-\" for the GT box)."
    }

    static func html(_ r: RobustnessReport) -> String {
        let kinds = r.engines.first?.scores.map(\.kind) ?? []
        var body = "<p>\(r.images) images, \(r.objects) objects, \(r.draws) seeded draws (seed \(r.seed)) per random prompt type.</p>"
        body += "<h2>Scores</h2>" + HTMLReport.table(
            ["prompt"] + r.engines.flatMap { ["\($0.name) mIoU", "mBIoU", "ST", "pairwise IoU"] },
            kinds.indices.map { k in
                [kinds[k]] + r.engines.flatMap { e in
                    [e.scores[k].mIoU, e.scores[k].mBIoU, e.scores[k].stability, e.scores[k].pairwiseIoU].map { ReportTable.number($0) }
                }
            })
        for (title, key) in [("mIoU", \PromptTypeScores.mIoU), ("mBIoU (boundary band \(r.boundaryRatio) of the diagonal)", \.mBIoU),
                             ("Stability ST", \.stability)] as [(String, KeyPath<PromptTypeScores, Double?>)] {
            body += "<h2>\(HTMLReport.escape(title)) per prompt type</h2>"
            body += HTMLReport.barChart(labels: kinds, series: r.engines.map { e in (e.name, e.scores.map { $0[keyPath: key] }) })
        }
        return HTMLReport.page(title: "StableSAM prompt robustness", body: body)
    }
}

enum RobustnessInput {
    struct Pair { var image: URL, mask: URL }

    static func pairs(images: String, masks: String) throws -> [Pair] {
        let exts = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"]
        let imageURLs = try exts.flatMap { try MaskSequenceReader.files(URL(fileURLWithPath: images), ext: $0) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        guard !imageURLs.isEmpty else { throw EvalInputError.emptyFolder(path: images, what: "images (\(exts.joined(separator: ", ")))") }
        return try imageURLs.map { url in
            let stem = url.deletingPathExtension().lastPathComponent
            let mask = URL(fileURLWithPath: masks).appendingPathComponent(stem + ".png")
            guard FileManager.default.fileExists(atPath: mask.path) else {
                throw ValidationError("no mask for \(url.path): expected \(mask.path)")
            }
            return Pair(image: url, mask: mask)
        }
    }

    /// The non-empty objects of a mask file: palette index 1...254 each, or the foreground of a 0/255 PNG.
    static func objects(_ url: URL, width: Int, height: Int) throws -> [BinaryMask] {
        var objects: [BinaryMask]
        var size: (Int, Int)
        if let indexed = try? ImageReader.readIndexed(url) {
            size = (indexed.width, indexed.height)
            objects = Set(indexed.indices).subtracting([0, 255]).sorted().map { id in
                BinaryMask(width: indexed.width, height: indexed.height, bits: indexed.indices.map { $0 == id })
            }
        } else {
            let gray = try ImageReader.readGray(url)
            size = (gray.width, gray.height)
            objects = [BinaryMask(width: gray.width, height: gray.height, bits: gray.pixels.map { $0 >= 128 })]
        }
        guard size == (width, height) else {
            throw EvalInputError.sizeMismatch(file: url.path, width: size.0, height: size.1, expectedFile: "its image",
                                              expectedWidth: width, expectedHeight: height)
        }
        objects.removeAll { $0.isEmpty }
        return objects
    }
}
