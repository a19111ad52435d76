internal import CFFmpeg

/// Everything VideoIO can fail with. Every case names the file involved, so a message read
/// in a log of a thousand-frame run says which frame's file was wrong.
public enum VideoIOError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    /// The file exists but holds no bytes.
    case emptyFile(path: String)
    /// FFmpeg opened the file but found no picture in it.
    case notAnImage(path: String, reason: String)
    /// A decoded picture with no pixels.
    case zeroSizeImage(path: String)
    /// An FFmpeg call returned an error code; `message` is its av_strerror text.
    case ffmpeg(path: String, operation: String, code: Int32, message: String)
    /// The destination directory is missing or not writable, or the write itself failed.
    case cannotWrite(path: String, reason: String)
    /// The caller passed an image FFmpeg cannot encode (e.g. zero width).
    case invalidImage(path: String, reason: String)
    /// FFmpeg opened the file but it holds no video stream it can decode.
    case notAVideo(path: String, reason: String)
    /// A video stream or image folder with no frames in it.
    case noFrames(path: String)
    /// The decoder gave a picture that cannot be used (no pixels).
    case decodeFailed(path: String, frame: Int, reason: String)
    /// An image folder whose pictures do not all have the first one's size.
    case inconsistentFrameSize(path: String, expected: String, actual: String)
    /// An OpenEXR (OpenEXRCore) call returned an error code; `message` is the library's own text.
    case openEXR(path: String, operation: String, code: Int32, message: String)
    /// OpenEXR's C++ library (Imf, the DWAA / DWAB writer) threw; `message` is its exception's text.
    case openEXRException(path: String, compression: String, message: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            "\(path): no such file; check the path and the working directory"
        case .emptyFile(let path):
            "\(path): the file is empty (0 bytes); it may be a partial download or an interrupted write"
        case .notAnImage(let path, let reason):
            "\(path) is not an image FFmpeg can decode: \(reason)"
        case .zeroSizeImage(let path):
            "\(path): the image has zero width or height"
        case .ffmpeg(let path, let operation, let code, let message):
            "\(path): \(operation) failed: \(message) (FFmpeg error \(code))"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason)"
        case .invalidImage(let path, let reason):
            "cannot encode \(path): \(reason)"
        case .notAVideo(let path, let reason):
            "\(path) is not a video FFmpeg can decode: \(reason); convert it with ffmpeg or give an image folder"
        case .noFrames(let path):
            "\(path) holds no video frames: check that the file is complete (not a partial download)"
        case .decodeFailed(let path, let frame, let reason):
            "\(path), frame \(frame): \(reason); the stream is damaged there: re-encode it with ffmpeg"
        case .inconsistentFrameSize(let path, let expected, let actual):
            "\(path) is \(actual) but the sequence's first frame is \(expected): every frame of a folder must have one size"
        case .openEXR(let path, let operation, let code, let message):
            "cannot write \(path): OpenEXR's \(operation) failed: \(message) (OpenEXR error \(code))"
        case .openEXRException(let path, let compression, let message):
            "cannot write \(path): OpenEXR's C++ library failed writing \(compression): \(message)"
        }
    }
}

/// What a send/receive call on a codec said, when it did not fail.
enum CodecState {
    case done
    /// EAGAIN: the codec wants the other side of the exchange (more input or output drained).
    case again
    /// AVERROR_EOF: the codec was flushed and has nothing more.
    case endOfStream
}

/// The single place FFmpeg return codes become Swift errors.
struct FFmpegCall {
    let path: String

    /// Throws for a negative return code; returns non-negative codes (counts, indices) as-is.
    @discardableResult
    func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(VideoIOError) -> Int32 {
        guard code < 0 else { return code }
        throw .ffmpeg(path: path, operation: operation(), code: code, message: FFmpegCall.text(for: code))
    }

    /// Like `check`, but EAGAIN and EOF are states of the codec's exchange, not failures.
    func state(_ code: Int32, _ operation: @autoclosure () -> String) throws(VideoIOError) -> CodecState {
        if code == cffmpeg_eagain() { return .again }
        if code == cffmpeg_averror_eof() { return .endOfStream }
        try check(code, operation())
        return .done
    }

    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 {
            return "unknown FFmpeg error"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Keeps FFmpeg's own logging to errors: the library reports through thrown errors, and
/// per-frame warnings (e.g. swscale's "deprecated pixel format") would flood a video run.
enum FFmpegLogging {
    static let quiet: Void = {
        av_log_set_level(AV_LOG_ERROR)
    }()
}
