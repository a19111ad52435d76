import Foundation

/// What a finished (or stopped) run did: summary.json's figures, for the caller's last line.
public struct TrackOutcome: Sendable {
    public var timings = RunTimings()
    /// Stopped by the stop flag before the end; `TrackRequest.resume` continues it.
    public var interrupted = false
    /// First and last frame tracked in this run (for a backward run, first is the lowest index).
    public var firstFrame: Int?
    public var lastFrame: Int?
    /// Frames the source delivered in this run.
    public var framesSeen = 0
}

/// Figures of one run, for summary.json.
public struct RunTimings: Codable, Sendable {
    public var wallSeconds = 0.0
    /// Image encoder + prompt encoder + mask decoder, all objects.
    public var modelSeconds = 0.0
    /// Time the model thread waited for a decoded frame / for room in the writer's queue.
    public var decodeWaitSeconds = 0.0
    public var writeWaitSeconds = 0.0
    public var framesProcessed = 0
    /// The process's peak resident memory when the summary was written (VmHWM), MB; 0 where
    /// /proc is absent.
    public var peakResidentMB = 0.0
    public var framesPerSecond: Double { wallSeconds > 0 ? Double(framesProcessed) / wallSeconds : 0 }
    public var outsideModelShare: Double { wallSeconds > 0 ? max(0, 1 - modelSeconds / wallSeconds) : 0 }

    enum CodingKeys: String, CodingKey {
        case wallSeconds, modelSeconds, decodeWaitSeconds, writeWaitSeconds, framesProcessed, framesPerSecond, outsideModelShare
        case peakResidentMB = "peakResidentMb"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(modelSeconds, forKey: .modelSeconds)
        try c.encode(decodeWaitSeconds, forKey: .decodeWaitSeconds)
        try c.encode(writeWaitSeconds, forKey: .writeWaitSeconds)
        try c.encode(framesProcessed, forKey: .framesProcessed)
        try c.encode(framesPerSecond, forKey: .framesPerSecond)
        try c.encode(outsideModelShare, forKey: .outsideModelShare)
        try c.encode(peakResidentMB, forKey: .peakResidentMB)
    }

    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        modelSeconds = try c.decode(Double.self, forKey: .modelSeconds)
        decodeWaitSeconds = try c.decode(Double.self, forKey: .decodeWaitSeconds)
        writeWaitSeconds = try c.decode(Double.self, forKey: .writeWaitSeconds)
        framesProcessed = try c.decode(Int.self, forKey: .framesProcessed)
        peakResidentMB = try c.decodeIfPresent(Double.self, forKey: .peakResidentMB) ?? 0
    }
}

/// This process's memory, from /proc.
public enum ProcessMemory {
    /// Peak resident set (VmHWM) in MB; 0 where /proc is absent. Per process image: a child
    /// measured from outside (`wait4`'s `ru_maxrss`) also counts its spawning parent's peak,
    /// since posix_spawn shares the parent's memory until exec.
    public static func peakResidentMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}
