// swift-tools-version: 6.1
import PackageDescription

// Numeric targets are always optimised: a debug build of the kernels is 50x slower and would
// make the parity suite crawl. `-Ounchecked` is not used: bounds checks stay on.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "StableSAM",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stablesam", targets: ["StableSAMCLI"]),
        .library(name: "SegmentAnything", targets: ["SegmentAnything", "Imaging"]),
        // The parsers of untrusted files as single entries, for the fuzzer package in Scripts/fuzz.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `stablesam serve`'s HTTP server. Default traits off: no swift-configuration, and no full
        // Foundation beyond what the project already links.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        // Already in Hummingbird's graph; named for the server's logger, its channel (bound port,
        // closing) and graceful shutdown (an open progress stream must not keep Ctrl-C waiting).
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg",
            pkgConfig: "libavformat libavcodec libswscale libavutil",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        // OpenEXR's C library (OpenEXRCore) for multi-layer EXR mattes: FFmpeg's EXR encoder
        // writes fixed channel names only.
        .systemLibrary(
            name: "COpenEXR", path: "Sources/COpenEXR", pkgConfig: "OpenEXR",
            providers: [.apt(["libopenexr-dev"])]),
        // OpenEXR's C++ library (Imf) behind one C function, for DWAA / DWAB, which OpenEXRCore 3.1
        // cannot encode; COpenEXR brings OpenEXR's pkg-config flags (headers, -lOpenEXR-3_1 ...).
        .target(name: "COpenEXRImf", dependencies: ["COpenEXR"]),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // The one RGB image and the one box every layer passes around; no dependencies.
        .target(name: "Imaging", swiftSettings: optimised),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimised),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: optimised),
        .target(name: "SegmentAnything", dependencies: ["NN", "Tensor", "Imaging"], swiftSettings: optimised),
        // Reverse-mode autodiff on Tensor (ops with their pullbacks, Adam), and the Stable-SAM
        // plugin trainer built on it; inference never imports either.
        .target(name: "Autograd", dependencies: ["Tensor"], swiftSettings: optimised),
        .target(name: "PluginTraining", dependencies: ["Autograd", "SegmentAnything", "NN", "Tensor", "VideoIO", "Metrics", "Imaging"],
                swiftSettings: optimised),
        .target(name: "VideoIO", dependencies: ["CFFmpeg", "COpenEXR", "COpenEXRImf", "Imaging"], swiftSettings: optimised),
        .target(name: "Metrics", dependencies: ["Imaging"], swiftSettings: optimised),
        .target(name: "DefaultModel", resources: [.copy("Resources")]),
        // Tracking sees models only through its `Segmenting` protocol; VideoTracking adapts SAM to it.
        .target(name: "Tracking", dependencies: ["Metrics", "Imaging"], swiftSettings: optimised),
        // One tracking run (source + objects + settings -> output folder) for the CLI and a later
        // server: no stderr, signals or argument parser; events by callback, stop by flag.
        .target(name: "VideoTracking", dependencies: ["SegmentAnything", "NN", "Tensor", "VideoIO", "Tracking", "Metrics", "PluginTraining", "Imaging", "DefaultModel"],
                swiftSettings: optimised),
        // Reading mask sequences (palette, per-object PNGs, track's frames/*.json), pairing them with
        // ground truth, and the evaluation's table, JSON and HTML: for `eval` and `batch`.
        .target(name: "Evaluation", dependencies: ["Metrics", "VideoIO"], swiftSettings: optimised),
        // `stablesam batch`: a dataset (DAVIS folders or a manifest) tracked sequence by sequence,
        // shardable, resumable, then one evaluation across it; no argument parser, no signals.
        .target(name: "DatasetBatch", dependencies: ["VideoTracking", "Evaluation", "Tracking", "Metrics", "VideoIO", "Imaging"],
                swiftSettings: optimised),
        // `stablesam serve`: routes, the access check, the one-at-a-time propagation queue and the
        // page (package resources); state lives in the run folder. swift-metrics' module is
        // renamed: the project has its own `Metrics`.
        .target(
            name: "Serving",
            dependencies: [
                "VideoTracking", "VideoIO", "Tracking", "Imaging", "SegmentAnything",
                .product(name: "Hummingbird", package: "hummingbird", moduleAliases: ["Metrics": "SwiftMetrics"]),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Page")]),
        .executableTarget(
            name: "StableSAMCLI",
            dependencies: [
                "SegmentAnything", "NN", "Tensor", "VideoIO", "Metrics", "Tracking", "CMalloc", "DefaultModel", "PluginTraining",
                "VideoTracking", "Imaging", "Serving", "Evaluation", "DatasetBatch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimised),
        // One entry per parser of untrusted input (checkpoints, RLE, objects and prompts JSON):
        // what Scripts/fuzz drives with libFuzzer and the suite replays its crash inputs through.
        .target(name: "FuzzTargets", dependencies: ["NN", "Tensor", "SegmentAnything", "Metrics", "VideoTracking"]),
        .target(
            name: "TestSupport", dependencies: ["Tensor", "NN", "VideoIO", "Imaging"], path: "Tests/TestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "NN", "TestSupport", "CKernels"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor", "TestSupport"]),
        .testTarget(name: "SegmentAnythingTests", dependencies: ["SegmentAnything", "NN", "Tensor", "TestSupport", "Imaging"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "Tensor", "TestSupport"]),
        .testTarget(name: "PluginTrainingTests",
                    dependencies: ["PluginTraining", "Autograd", "SegmentAnything", "NN", "Tensor", "TestSupport", "VideoIO", "Metrics", "Imaging"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "TestSupport", "Imaging"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport", "Imaging"]),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "Metrics", "Imaging"]),
        .testTarget(name: "VideoTrackingTests",
                    dependencies: ["VideoTracking", "Tracking", "VideoIO", "SegmentAnything", "DefaultModel", "Metrics", "Imaging"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "VideoTracking", "DefaultModel", "VideoIO", "Imaging", "Tracking"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(name: "DatasetBatchTests",
                    dependencies: ["DatasetBatch", "Evaluation", "VideoTracking", "Tracking", "Metrics", "VideoIO", "Imaging", "SegmentAnything", "DefaultModel", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "VideoIO", "Metrics", "NN", "Tensor", "Tracking", "Imaging"]),
    ]
)
