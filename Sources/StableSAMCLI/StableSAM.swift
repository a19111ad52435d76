import ArgumentParser

@main
struct StableSAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stablesam",
        abstract: "Segment and track objects with Segment Anything (plus Stable-SAM's plugins), natively on CPU.",
        version: StableSAMVersion.string,
        subcommands: [Segment.self, Track.self, Bench.self])
}

enum StableSAMVersion {
    static let string = "0.1.0"
}
