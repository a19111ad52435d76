import ArgumentParser

@main
struct StableSAM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stablesam",
        abstract: "Track and segment objects through video from one box (SAM + Stable-SAM plugins).",
        subcommands: [])
}
