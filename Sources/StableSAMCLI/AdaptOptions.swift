import ArgumentParser
import PluginTraining

/// `--adapt` and its settings, shared by `track` and `segment`; the adapting itself is
/// VideoTracking's `PluginAdaptation`.
struct AdaptOptions: ParsableArguments {
    @Flag(help: "Before running, adapt the Stable-SAM plugin to this input: train it for --adapt-steps on the start frame (SAM frozen), the targets being the model's masks for the given boxes (segment: or --mask), the prompts noisy boxes and points around them. Starts from the given plugin, or from an identity plugin with --plugin none; works with any checkpoint. The adapted plugin is saved in the output folder.")
    var adapt = false

    @Option(help: "Optimiser steps of --adapt, 4 prompts each.")
    var adaptSteps = AdaptationSettings().steps

    @Option(help: "Seed of --adapt's prompts.")
    var adaptSeed: UInt64 = 0

    func validate() throws {
        guard adaptSteps >= 1 else { throw ValidationError("--adapt-steps must be at least 1") }
    }

    var settings: AdaptationSettings { AdaptationSettings(steps: adaptSteps, seed: adaptSeed) }
}
