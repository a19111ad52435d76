internal import CFFmpeg

// Owners of FFmpeg allocations: each C pointer lives in exactly one of these and is freed in
// its deinit, so an early `throw` anywhere in a reader or writer cannot leak.

/// An opened input file (AVFormatContext).
final class InputContext {
    let pointer: UnsafeMutablePointer<AVFormatContext>

    init(path: String, call: FFmpegCall) throws(VideoIOError) {
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        try call.check(avformat_open_input(&context, path, nil, nil), "avformat_open_input (open and probe the file)")
        guard let context else {
            throw .notAnImage(path: path, reason: "avformat_open_input returned no context")
        }
        pointer = context
    }

    deinit {
        var context: UnsafeMutablePointer<AVFormatContext>? = pointer
        avformat_close_input(&context)
    }
}

/// A decoder or encoder (AVCodecContext).
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>

    init(codec: UnsafePointer<AVCodec>, path: String) throws(VideoIOError) {
        guard let context = avcodec_alloc_context3(codec) else {
            throw .ffmpeg(path: path, operation: "avcodec_alloc_context3", code: cffmpeg_averror(ENOMEM),
                          message: FFmpegCall.text(for: cffmpeg_averror(ENOMEM)))
        }
        pointer = context
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }
}

/// A picture (AVFrame) and the buffers it references.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init(path: String) throws(VideoIOError) {
        guard let frame = av_frame_alloc() else {
            throw .ffmpeg(path: path, operation: "av_frame_alloc", code: cffmpeg_averror(ENOMEM),
                          message: FFmpegCall.text(for: cffmpeg_averror(ENOMEM)))
        }
        pointer = frame
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// A compressed packet (AVPacket).
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init(path: String) throws(VideoIOError) {
        guard let packet = av_packet_alloc() else {
            throw .ffmpeg(path: path, operation: "av_packet_alloc", code: cffmpeg_averror(ENOMEM),
                          message: FFmpegCall.text(for: cffmpeg_averror(ENOMEM)))
        }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// A pixel-format converter (SwsContext) for one source size and format.
final class Scaler {
    let pointer: OpaquePointer

    /// Same size in and out: this is a format conversion, never a resize. BITEXACT and
    /// ACCURATE_RND make the result independent of the CPU's SIMD paths; POINT (nearest)
    /// keeps chroma upsampling from blending neighbours, and makes RGB/RGBA/GRAY/PAL8 to RGB24
    /// a lossless copy.
    /// `flags` defaults to the exact conversion above; writers that subsample chroma pass a
    /// filtering flag instead, because point-sampled chroma makes coloured outlines jagged.
    /// `outWidth`/`outHeight` (default: the input's) resize as well; only a stream that changes
    /// size mid-way asks for that.
    init(width: Int32, height: Int32, from source: AVPixelFormat, to destination: AVPixelFormat,
         outWidth: Int32? = nil, outHeight: Int32? = nil,
         path: String, flags: Int32 = Scaler.exact) throws(VideoIOError) {
        guard let context = sws_getContext(width, height, source, outWidth ?? width, outHeight ?? height, destination,
                                           flags, nil, nil, nil)
        else {
            let name = av_get_pix_fmt_name(source).map { String(cString: $0) } ?? "format \(source.rawValue)"
            throw .notAnImage(path: path, reason: "libswscale cannot convert \(name) to RGB")
        }
        pointer = context
    }

    static let exact: Int32 = SWS_BITEXACT | SWS_ACCURATE_RND | SWS_POINT

    deinit {
        sws_freeContext(pointer)
    }
}

/// An output file being muxed (AVFormatContext with its AVIOContext).
final class OutputContext {
    let pointer: UnsafeMutablePointer<AVFormatContext>

    init(format: String, path: String, call: FFmpegCall) throws(VideoIOError) {
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        try call.check(avformat_alloc_output_context2(&context, nil, format, path),
                       "avformat_alloc_output_context2 (\(format))")
        guard let context else {
            throw .cannotWrite(path: path, reason: "FFmpeg has no \(format) muxer")
        }
        pointer = context
        try call.check(avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE), "avio_open (create the file)")
    }

    deinit {
        if pointer.pointee.pb != nil { avio_closep(&pointer.pointee.pb) }
        avformat_free_context(pointer)
    }
}
