// Value types shared by VideoReader and VideoWriter. No C types: callers see timing as plain
// rationals and integers, so a writer can be fed the reader's timestamps unchanged.

import Imaging

/// A rational number of seconds per tick (FFmpeg's time base) or frames per second.
public struct Rational: Hashable, Sendable, Codable, CustomStringConvertible {
    public var num: Int
    public var den: Int

    public init(_ num: Int, _ den: Int) {
        self.num = num
        self.den = den
    }

    public var value: Double { den == 0 ? 0 : Double(num) / Double(den) }
    public var description: String { "\(num)/\(den)" }
}

/// One decoded picture and where it sits on the source's timeline.
public struct VideoFrame: Sendable {
    /// 0-based position in decode-output (presentation) order.
    public let index: Int
    /// Presentation timestamp in `VideoInfo.timeBase` ticks, exactly as the source has it
    /// (variable frame rate is kept: nothing is resampled), except that it always increases: a
    /// frame whose timestamp does not (concatenated encodes, a damaged file) follows the previous one.
    public let pts: Int64
    /// Display duration in ticks (from the container, else one nominal frame).
    public let duration: Int64
    /// `pts` in seconds.
    public let time: Double
    /// The picture after the source's rotation metadata has been applied (upright).
    public var image: RGBImage
    /// The decoded size (before rotation) when it differed from the stream's and the picture was
    /// rescaled to the stream's size (a stream may change size mid-way); nil otherwise.
    public var rescaledFrom: (width: Int, height: Int)? = nil

    public init(index: Int, pts: Int64, duration: Int64, time: Double, image: RGBImage) {
        self.index = index
        self.pts = pts
        self.duration = duration
        self.time = time
        self.image = image
    }
}

/// What a probe of the source says before decoding.
public struct VideoInfo: Sendable, Codable, Hashable {
    public var path: String
    /// Upright size: rotated by `rotation` where the source has display-matrix metadata.
    public var width: Int
    public var height: Int
    /// e.g. "h264", "prores", "png" (image folders: the first file's codec).
    public var codec: String
    public var pixelFormat: String
    public var timeBase: Rational
    /// The average frame rate the container declares; 0/1 when unknown.
    public var frameRate: Rational
    /// Seconds, when the container states it.
    public var duration: Double?
    /// Frame count from the container header (or the file count of a folder); nil when the
    /// container does not say. Exact for folders, a header claim for files.
    public var frameCount: Int?
    /// Clockwise degrees applied to every frame to make it upright: 0, 90, 180 or 270.
    public var rotation: Int
    public var isImageSequence: Bool
}
