import ArgumentParser
import Foundation
import Imaging
import Metrics
import NN
import SegmentAnything
import Synchronization
import Tensor
import VideoTracking

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the image encoder, the prompt encoder + mask decoder, and the decoder with Stable-SAM's plugin.",
        discussion: "Presets (vit_b, vit_l, vit_h, vit_t = MobileSAM) use random weights, so no checkpoint is needed.")

    @Option(help: "A preset (vit_b, vit_l, vit_h, vit_t) or a checkpoint path.")
    var model: String = "vit_b"

    @Option(help: "Timed runs per stage (after one warm-up); the median is reported.")
    var runs: Int = 3

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    @Option(help: "Stable-SAM plugin file for the 'decoder + plugin' stage; default: a seeded random plugin of the decoder's width.")
    var plugin: String?

    @Flag(help: "Skip the image encoder (a random embedding feeds the decoder): for timing the decoder and plugin quickly.")
    var decoderOnly = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    @OptionGroup(title: "Precision") var precisionOptions: PrecisionOptions

    func run() throws {
        try precisionOptions.run { try runInPrecision() }
    }

    private func runInPrecision() throws {
        BLAS.setThreads(threads)
        let sam = try ModelLoader.loadOrPreset(model)
        let peak = GemmPeak.measure()
        let s = sam.config.imgSize
        var rng = SeededGenerator(seed: 7)
        let input = Tensor(shape: [1, 3, s, s], storage: (0..<(3 * s * s)).map { _ in rng.symmetric() * 2 })

        let e = sam.config.embeddingSize, c = sam.config.promptEmbedDim
        var embedding = Tensor(shape: [1, c, e, e], storage: (0..<(c * e * e)).map { _ in rng.symmetric() })
        var stages: [StageTiming] = []
        if !decoderOnly {
            stages.append(StageTiming.measure(runs: runs) { embedding = sam.imageEncoder(input) }.named("image encoder"))
        }

        let predictor = Predictor(model: sam)
        predictor.setEmbedding(embedding, originalSize: (s * 3 / 4, s))
        let box = Prompt(box: Box(x0: Double(s) * 0.2, y0: Double(s) * 0.25, x1: Double(s) * 0.6, y1: Double(s) * 0.5))
        // Same prompt through the plugin on the auto route (DSP and DRP both run).
        let plugin = try self.plugin.map { try StableSAMPlugin.load(URL(fileURLWithPath: $0), for: sam) } ?? {
            let random = StableSAMPlugin(embeddingDim: sam.config.maskDecoder.transformerDim)
            random.randomize(seed: 11)
            return random
        }()
        // The two decoder stages run alternately, many times: on a shared machine load drifts, and
        // interleaving exposes both to the same drift; the overhead is the median of per-pair ratios.
        let (decoder, withPlugin, ratio) = StageTiming.measureAlternating(runs: max(runs, 21)) { usePlugin in
            sam.plugin = usePlugin ? plugin : nil
            _ = try? predictor.predict(box, multimask: false)
        }
        sam.plugin = nil
        let agreement = BLAS.precision == .bf16 && !decoderOnly
            ? try PrecisionAgreement.measure(sam: sam, input: input, embedding: embedding, box: box) : nil

        var report = BenchReport(model: model, threads: threads, gemmKernel: BLAS.kernelName, gemmPeakGFLOPS: peak,
                                 stages: stages + [decoder.named("prompt+decoder+upscale"),
                                                   withPlugin.named("... + Stable-SAM plugin")],
                                 pluginOverheadPercent: 100 * (ratio - 1),
                                 peakMemoryMB: ProcessMemory.peakResidentMB())
        report.bf16Agreement = agreement
        print(json ? report.json() : report.table())
    }
}

/// Median wall time and GEMM FLOPs of one stage.
struct StageTiming: Codable {
    var name = ""
    var medianMs: Double
    var gflop: Double
    var gflops: Double { gflop / (medianMs / 1000) }

    static func measure(runs: Int, _ body: () -> Void) -> StageTiming {
        body()   // warm-up: first-touch allocation and OpenBLAS thread start-up
        var times: [Double] = []
        var flops = 0
        for _ in 0..<runs {
            let f0 = BLAS.flops.load(ordering: .relaxed)
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            flops = BLAS.flops.load(ordering: .relaxed) - f0
        }
        return StageTiming(medianMs: times.sorted()[times.count / 2], gflop: Double(flops) / 1e9)
    }

    func named(_ n: String) -> StageTiming { var c = self; c.name = n; return c }

    /// Times `body(false)` and `body(true)` alternately -> (false stage, true stage, median of
    /// per-pair time ratios true/false).
    static func measureAlternating(runs: Int, _ body: (Bool) -> Void) -> (StageTiming, StageTiming, Double) {
        body(false); body(true)
        var times: [[Double]] = [[], []], flops = [0, 0]
        for _ in 0..<runs {
            for variant in [false, true] {
                let f0 = BLAS.flops.load(ordering: .relaxed)
                let t0 = DispatchTime.now().uptimeNanoseconds
                body(variant)
                times[variant ? 1 : 0].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                flops[variant ? 1 : 0] = BLAS.flops.load(ordering: .relaxed) - f0
            }
        }
        let median = { (v: [Double]) in v.sorted()[v.count / 2] }
        let ratio = median(zip(times[1], times[0]).map { $0 / $1 })
        return (StageTiming(medianMs: median(times[0]), gflop: Double(flops[0]) / 1e9),
                StageTiming(medianMs: median(times[1]), gflop: Double(flops[1]) / 1e9), ratio)
    }
}

enum GemmPeak {
    /// Best-of-5 GFLOP/s of a 2048³ sgemm: the roofline the stages are compared to.
    static func measure(n: Int = 2048) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                                   c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}

struct BenchReport: Codable {
    var model: String
    var threads: Int
    /// `--precision`: the linear layers' products in fp32 or bf16.
    var precision = BLAS.precision.rawValue
    /// Which SGEMM ran the products (the AVX-512 kernel, or OpenBLAS without AVX-512 or with
    /// STABLESAM_GEMM=openblas); the peak is that kernel's.
    var gemmKernel: String
    var gemmPeakGFLOPS: Double
    var stages: [StageTiming]
    /// Time the plugin adds to the prompt+decoder+upscale stage, in percent of that stage.
    var pluginOverheadPercent: Double
    var peakMemoryMB: Double
    /// With `--precision bf16`: how far the bf16 answer is from fp32's on the same input.
    var bf16Agreement: PrecisionAgreement? = nil

    func table() -> String {
        var lines = ["model \(model), \(threads) threads, \(precision), sgemm \(gemmKernel) peak \(String(format: "%.1f", gemmPeakGFLOPS)) GFLOP/s, peak memory \(String(format: "%.0f", peakMemoryMB)) MB",
                     "stage                        ms        GFLOP   GFLOP/s   % of peak"]
        for s in stages {
            lines.append(s.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + String(format: "%10.1f %12.2f %9.1f %10.1f", s.medianMs, s.gflop, s.gflops, 100 * s.gflops / gemmPeakGFLOPS))
        }
        lines.append(String(format: "Stable-SAM plugin adds %.1f%% to the decoder stage (median of per-pair ratios, runs alternated)", pluginOverheadPercent))
        if let a = bf16Agreement {
            lines.append(String(format: "bf16 vs fp32: image embedding relative error %.2e, box mask IoU %.4f", a.embeddingRelativeError, a.maskIoU))
        }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// bf16 against fp32 on the bench's own input: the image embedding's relative error
/// (‖bf16 - fp32‖ / ‖fp32‖) and the box's mask IoU (logits > 0 at the model's input size), each
/// model running its whole pipeline in its own precision.
struct PrecisionAgreement: Codable {
    var embeddingRelativeError: Double
    var maskIoU: Double

    static func measure(sam: Sam, input: Tensor, embedding bf16: Tensor, box: Prompt) throws -> PrecisionAgreement {
        let fp32 = BLAS.$precision.withValue(.fp32) { sam.imageEncoder(input) }
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(bf16.storage, fp32.storage) {
            diff += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        let s = sam.config.imgSize
        func mask(_ embedding: Tensor, _ precision: Precision) throws -> [Bool] {
            try BLAS.$precision.withValue(precision) {
                let predictor = Predictor(model: sam)
                predictor.setEmbedding(embedding, originalSize: (s, s))
                return try predictor.predict(box, multimask: false).logits.storage.map { $0 > 0 }
            }
        }
        return PrecisionAgreement(embeddingRelativeError: (diff / max(norm, 1e-30)).squareRoot(),
                                  maskIoU: MaskMetrics.iou(try mask(bf16, .bf16), try mask(fp32, .fp32)))
    }
}
