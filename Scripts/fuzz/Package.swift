// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harness for StableSAM's parsers of untrusted files (the `FuzzTargets` library of the
// root package). Built only by Scripts/fuzz/run.sh, with -sanitize=fuzzer,address; never by CI.
let package = Package(
    name: "StableSAMFuzz",
    dependencies: [.package(name: "StableSAM", path: "../..")],
    targets: [
        .executableTarget(
            name: "stablesam-fuzz",
            dependencies: [.product(name: "FuzzTargets", package: "StableSAM")]),
    ]
)
