import Foundation
internal import CFFmpeg
import Imaging

/// Encodes frames into a video file that keeps the source's timing: every frame is written
/// with the caller's pts and duration in the caller's time base, so a writer fed a
/// `VideoReader`'s frames has the same frame count, rate and (variable) timestamps.
///
/// The file is built under a hidden temporary name in the destination folder and renamed
/// into place by `finish()`; a writer dropped without `finish()` (error, Ctrl-C) deletes it,
/// so a reader never sees a truncated video under the final name.
public final class VideoWriter {
    public enum Codec: String, Sendable, Codable {
        /// H.264 (libx264) in MP4: 4:2:0 for even sizes, 4:4:4 where a side is odd.
        case h264
        /// ProRes 4444 with a 16-bit alpha plane, in QuickTime (.mov): mattes for compositing.
        case prores4444
    }

    public let url: URL
    public let width: Int
    public let height: Int
    public let codec: Codec
    private let call: FFmpegCall
    private let temporary: String
    private let output: OutputContext
    private let encoder: CodecContext
    private let stream: UnsafeMutablePointer<AVStream>
    private let scaler: Scaler
    private let source: Frame
    private let packet: Packet
    private let encoderTimeBase: AVRational
    /// ProRes with a 16-bit alpha (soft mattes): RGBA64 input and its scaler, made on first use.
    private var deepSource: (frame: Frame, scaler: Scaler)?
    /// Durations by pts: encoders do not all carry a frame's duration to its packet.
    private var durations: [Int64: Int64] = [:]
    private var finished = false
    public private(set) var framesWritten = 0

    public init(url: URL, width: Int, height: Int, codec: Codec, timeBase: Rational,
                frameRate: Rational) throws(VideoIOError) {
        _ = FFmpegLogging.quiet
        self.url = url
        self.width = width
        self.height = height
        self.codec = codec
        let path = url.path
        guard width > 0, height > 0, timeBase.num > 0, timeBase.den > 0 else {
            throw .invalidImage(path: path, reason: "size \(width)x\(height), time base \(timeBase)")
        }
        let directory = url.deletingLastPathComponent().path
        temporary = (directory as NSString).appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        call = FFmpegCall(path: path)

        let encoderName = codec == .h264 ? "libx264" : "prores_ks"
        guard let avCodec = avcodec_find_encoder_by_name(encoderName) else {
            throw .cannotWrite(path: path, reason: "this FFmpeg build has no \(encoderName) encoder")
        }
        output = try OutputContext(format: codec == .h264 ? "mp4" : "mov", path: temporary, call: call)
        encoder = try CodecContext(codec: avCodec, path: path)
        let format: AVPixelFormat
        switch codec {
        case .h264: format = width % 2 == 0 && height % 2 == 0 ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P
        case .prores4444: format = AV_PIX_FMT_YUVA444P10LE
        }
        let e = encoder.pointer
        e.pointee.width = Int32(width)
        e.pointee.height = Int32(height)
        e.pointee.pix_fmt = format
        e.pointee.time_base = AVRational(num: Int32(timeBase.num), den: Int32(timeBase.den))
        if frameRate.num > 0, frameRate.den > 0 {
            e.pointee.framerate = AVRational(num: Int32(frameRate.num), den: Int32(frameRate.den))
        }
        // No B-frames: decode order equals presentation order, so MP4 needs no composition
        // offsets or edit list and players report exactly the source's timestamps.
        e.pointee.max_b_frames = 0
        // Two threads: the model runs beside the encoder and wants the other cores.
        e.pointee.thread_count = 2
        if output.pointer.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        switch codec {
        case .h264:
            av_opt_set(e.pointee.priv_data, "preset", "veryfast", 0)
            av_opt_set(e.pointee.priv_data, "crf", "20", 0)
        case .prores4444:
            av_opt_set(e.pointee.priv_data, "profile", "4444", 0)
        }
        try call.check(avcodec_open2(e, avCodec, nil), "avcodec_open2 (\(encoderName))")
        encoderTimeBase = e.pointee.time_base

        guard let stream = avformat_new_stream(output.pointer, nil) else {
            throw .cannotWrite(path: path, reason: "avformat_new_stream failed")
        }
        self.stream = stream
        stream.pointee.time_base = encoderTimeBase
        try call.check(avcodec_parameters_from_context(stream.pointee.codecpar, e), "avcodec_parameters_from_context")
        try call.check(avformat_write_header(output.pointer, nil), "avformat_write_header")

        let input = codec == .h264 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_RGBA
        scaler = try Scaler(width: Int32(width), height: Int32(height), from: input, to: format, path: path,
                            flags: SWS_BITEXACT | SWS_ACCURATE_RND | SWS_BILINEAR)
        source = try Frame(path: path)
        source.pointer.pointee.width = Int32(width)
        source.pointer.pointee.height = Int32(height)
        source.pointer.pointee.format = input.rawValue
        try call.check(av_frame_get_buffer(source.pointer, 0), "av_frame_get_buffer")
        packet = try Packet(path: path)
    }

    deinit {
        if !finished { unlink(temporary) }
    }

    /// Encodes one frame shown at `pts` for `duration` ticks of the time base. `alpha` (0 =
    /// transparent, 255 = opaque) is required for ProRes 4444 and ignored for H.264.
    public func append(_ image: RGBImage, alpha: GrayImage? = nil, pts: Int64, duration: Int64) throws(VideoIOError) {
        precondition(!finished, "append after finish")
        guard image.width == width, image.height == height else {
            throw .invalidImage(path: url.path, reason: "frame is \(image.width)x\(image.height), the video \(width)x\(height)")
        }
        try call.check(av_frame_make_writable(source.pointer), "av_frame_make_writable")
        let f = source.pointer.pointee
        let stride = Int(f.linesize.0)
        let base = f.data.0!
        image.pixels.withUnsafeBufferPointer { rgb in
            if codec == .h264 {
                for y in 0..<height {
                    (base + y * stride).update(from: rgb.baseAddress! + y * width * 3, count: width * 3)
                }
            } else {
                let a = alpha?.pixels ?? [UInt8](repeating: 255, count: width * height)
                for y in 0..<height {
                    let row = base + y * stride
                    for x in 0..<width {
                        let s = (y * width + x) * 3
                        row[x * 4] = rgb[s]; row[x * 4 + 1] = rgb[s + 1]; row[x * 4 + 2] = rgb[s + 2]
                        row[x * 4 + 3] = a[y * width + x]
                    }
                }
            }
        }
        try encode(source, scaler: scaler, pts: pts, duration: duration)
    }

    /// ProRes 4444 only: like `append(_:alpha:pts:duration:)` with a 16-bit alpha (0 = transparent,
    /// 65535 = opaque; soft mattes), which the codec keeps to its 10 bits instead of 8.
    public func append(_ image: RGBImage, alpha: Gray16Image, pts: Int64, duration: Int64) throws(VideoIOError) {
        precondition(!finished, "append after finish")
        precondition(codec == .prores4444, "a 16-bit alpha needs ProRes 4444")
        guard image.width == width, image.height == height, alpha.width == width, alpha.height == height else {
            throw .invalidImage(path: url.path, reason: "frame is \(image.width)x\(image.height), alpha \(alpha.width)x\(alpha.height), the video \(width)x\(height)")
        }
        if deepSource == nil {
            let frame = try Frame(path: url.path)
            frame.pointer.pointee.width = Int32(width)
            frame.pointer.pointee.height = Int32(height)
            frame.pointer.pointee.format = AV_PIX_FMT_RGBA64LE.rawValue
            try call.check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer")
            let scaler = try Scaler(width: Int32(width), height: Int32(height), from: AV_PIX_FMT_RGBA64LE,
                                    to: encoder.pointer.pointee.pix_fmt, path: url.path,
                                    flags: SWS_BITEXACT | SWS_ACCURATE_RND | SWS_BILINEAR)
            deepSource = (frame, scaler)
        }
        let (frame, scaler) = deepSource!
        try call.check(av_frame_make_writable(frame.pointer), "av_frame_make_writable")
        let stride = Int(frame.pointer.pointee.linesize.0)
        let base = UnsafeMutableRawPointer(frame.pointer.pointee.data.0!)
        image.pixels.withUnsafeBufferPointer { rgb in
            for y in 0..<height {
                let row = (base + y * stride).assumingMemoryBound(to: UInt16.self)
                for x in 0..<width {
                    let s = (y * width + x) * 3
                    // 8-bit colour widened exactly (v * 257); little-endian as RGBA64LE.
                    row[x * 4] = (UInt16(rgb[s]) * 257).littleEndian
                    row[x * 4 + 1] = (UInt16(rgb[s + 1]) * 257).littleEndian
                    row[x * 4 + 2] = (UInt16(rgb[s + 2]) * 257).littleEndian
                    row[x * 4 + 3] = alpha.pixels[y * width + x].littleEndian
                }
            }
        }
        try encode(frame, scaler: scaler, pts: pts, duration: duration)
    }

    /// Converts `input` to the encoder's format and sends it.
    private func encode(_ input: Frame, scaler: Scaler, pts: Int64, duration: Int64) throws(VideoIOError) {
        let converted = try Frame(path: url.path)
        converted.pointer.pointee.width = Int32(width)
        converted.pointer.pointee.height = Int32(height)
        converted.pointer.pointee.format = encoder.pointer.pointee.pix_fmt.rawValue
        try call.check(av_frame_get_buffer(converted.pointer, 0), "av_frame_get_buffer")
        try call.check(sws_scale_frame(scaler.pointer, converted.pointer, input.pointer), "sws_scale_frame")
        converted.pointer.pointee.pts = pts
        durations[pts] = duration
        try call.check(avcodec_send_frame(encoder.pointer, converted.pointer), "avcodec_send_frame")
        try drain()
        framesWritten += 1
    }

    /// Flushes the encoder, writes the trailer and renames the file into place.
    public func finish() throws(VideoIOError) {
        precondition(!finished, "finish called twice")
        _ = try call.state(avcodec_send_frame(encoder.pointer, nil), "avcodec_send_frame (flush)")
        try drain()
        try call.check(av_write_trailer(output.pointer), "av_write_trailer")
        avio_closep(&output.pointer.pointee.pb)
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary, url.path) == 0 else {
            throw .cannotWrite(path: url.path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    /// Moves every packet the encoder has ready into the file.
    private func drain() throws(VideoIOError) {
        while try call.state(avcodec_receive_packet(encoder.pointer, packet.pointer), "avcodec_receive_packet") == .done {
            let p = packet.pointer
            if let duration = durations.removeValue(forKey: p.pointee.pts) { p.pointee.duration = duration }
            av_packet_rescale_ts(p, encoderTimeBase, stream.pointee.time_base)
            p.pointee.stream_index = stream.pointee.index
            // av_interleaved_write_frame takes the packet's reference, leaving it blank.
            try call.check(av_interleaved_write_frame(output.pointer, p), "av_interleaved_write_frame")
        }
    }
}

/// Versions of the FFmpeg libraries linked at run time, for run manifests.
public enum FFmpegInfo {
    public static var version: String { String(cString: av_version_info()) }
}
