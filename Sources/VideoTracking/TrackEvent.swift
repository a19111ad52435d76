import Tracking

/// What a run tells its caller while it goes, on the thread that called `TrackJob.run`, in order:
/// `log` lines (adaptation), `trackingStarted`, one `frame` per frame, `trackingEnded`.
/// The library prints nothing: the CLI draws its progress bar from these, a server would stream them.
public enum TrackEvent: Sendable {
    /// A line for the person waiting (what was adapted or reloaded, and how it went).
    case log(String)
    /// The model and plugin are ready and frames follow: rates measured from here are tracking's.
    case trackingStarted
    case frame(FrameEvent)
    /// The last frame of the tracking pass is done (a backward run's overlay pass may follow).
    case trackingEnded
}

/// One frame of the source passed through the run.
public struct FrameEvent: Sendable {
    /// The source frame's index (0-based).
    public var index: Int
    /// Frames of this pass done so far, this one included (a backward pass counts from the start frame).
    public var done: Int
    /// False for a frame before the start frame or one an earlier run tracked (`resume`): no model work.
    public var tracked: Bool
    /// Each object's answer on this frame; empty when not `tracked`.
    public var results: [ObjectFrame]
}
