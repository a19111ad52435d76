import ArgumentParser
import VideoTracking

@main
struct StableSAM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stablesam",
        abstract: "Segment and track objects with Segment Anything (plus Stable-SAM's plugins), natively on CPU.",
        version: StableSAMVersion.string,
        subcommands: [Segment.self, Track.self, Batch.self, Serve.self, Eval.self, Robustness.self, Bench.self, Models.self, TrainPlugin.self])

    static func main() async {
        MallocTuning.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as AdaptationInputError {
            // Usage errors, as ArgumentParser prints its own (exit code 64, usage lines).
            exit(withError: ValidationError(error.description))
        } catch {
            exit(withError: error)
        }
    }
}
