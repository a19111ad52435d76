import ArgumentParser
import Tracking
import VideoTracking

/// The tracker's settings as flags, shared by `track` and `batch`: a settings file, with
/// `--margin`, `--min-score` and `--mask-prompt` over it.
struct TrackerOptions: ParsableArguments {
    @Option(help: "Prompt padding per side, as a fraction of the previous box's size (default 0.1).")
    var margin: Double?

    @Option(help: "Masks the model scores below this are treated as a lost object (default 0.4).")
    var minScore: Double?

    @Option(help: "JSON file of tracker settings: any subset of summary.json's settings.tracker object, e.g. {\"margin\": 0.15, \"fill_penalty\": 0.6}; --margin and --min-score override it.")
    var trackerSettings: String?

    @Flag(help: "Also prompt with the previous frame's low-resolution mask logits.")
    var maskPrompt = false

    func validate() throws {
        if let margin { guard margin >= 0, margin.isFinite else { throw ValidationError("--margin must be 0 or more") } }
        if let minScore { guard minScore.isFinite else { throw ValidationError("--min-score must be a number") } }
    }

    /// Read before anything is loaded or created, so a bad file costs nothing and leaves no folder.
    func settings() throws -> TrackerSettings {
        var settings = try trackerSettings.map(TrackerSettings.read(json:)) ?? TrackerSettings()
        if let margin { settings.margin = margin }
        if let minScore { settings.minScore = minScore }
        if maskPrompt { settings.useMaskPrompt = true }
        return settings
    }
}
