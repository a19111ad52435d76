import Foundation
internal import CFFmpeg
import Imaging

/// Reads still images (PNG, JPEG, BMP, TIFF, WebP, ... anything libavformat/libavcodec
/// decode) at their own size.
public enum ImageReader {
    /// The first picture in the file as RGB24. For RGB, RGBA (alpha dropped), gray and palette
    /// PNGs the pixels are exactly the file's; YUV sources (JPEG) go through libswscale with
    /// nearest-neighbour chroma and bit-exact rounding. EXIF orientation is not applied.
    public static func read(_ url: URL) throws(VideoIOError) -> RGBImage {
        try decodeFirstFrame(url) { frame, call throws(VideoIOError) in
            try convert(frame, to: AV_PIX_FMT_RGB24, bytesPerPixel: 3, call: call) { width, height, pixels in
                RGBImage(width: width, height: height, pixels: pixels)
            }
        }
    }

    /// The first picture as 8-bit gray. Exact for 8-bit gray files (mattes); colour files
    /// are converted with libswscale's luma weights.
    public static func readGray(_ url: URL) throws(VideoIOError) -> GrayImage {
        try decodeFirstFrame(url) { frame, call throws(VideoIOError) in
            try convert(frame, to: AV_PIX_FMT_GRAY8, bytesPerPixel: 1, call: call) { width, height, pixels in
                GrayImage(width: width, height: height, pixels: pixels)
            }
        }
    }

    /// The first picture as 16-bit gray. Exact for 16-bit gray PNGs (soft mattes); 8-bit gray
    /// files come back as value * 257, colour files through libswscale's luma weights.
    public static func readGray16(_ url: URL) throws(VideoIOError) -> Gray16Image {
        try decodeFirstFrame(url) { frame, call throws(VideoIOError) in
            try convert(frame, to: AV_PIX_FMT_GRAY16BE, bytesPerPixel: 2, call: call) { width, height, bytes in
                Gray16Image(width: width, height: height,
                            pixels: (0..<(width * height)).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) })
            }
        }
    }

    /// The palette indices and palette of an 8-bit palette image (DAVIS annotations, where
    /// the index is the object id). Other pixel formats are an error: their "indices" would
    /// have to be guessed from colours.
    public static func readIndexed(_ url: URL) throws(VideoIOError) -> IndexedImage {
        try decodeFirstFrame(url) { frame, call throws(VideoIOError) in
            let f = frame.pointer.pointee
            guard f.format == AV_PIX_FMT_PAL8.rawValue else {
                let name = av_get_pix_fmt_name(AVPixelFormat(f.format)).map { String(cString: $0) } ?? "?"
                throw .notAnImage(path: call.path, reason: "expected an 8-bit palette image, found pixel format \(name)")
            }
            let indices = copyRows(frame, plane: 0, rowBytes: Int(f.width))
            // Plane 1 holds 256 native-endian 0xAARRGGBB entries.
            var palette: [RGBColor] = []
            f.data.1!.withMemoryRebound(to: UInt32.self, capacity: 256) { entries in
                for i in 0..<256 {
                    let v = entries[i]
                    palette.append(RGBColor(r: UInt8(v >> 16 & 0xff), g: UInt8(v >> 8 & 0xff), b: UInt8(v & 0xff)))
                }
            }
            return IndexedImage(width: Int(f.width), height: Int(f.height), indices: indices, palette: palette)
        }
    }

    /// Opens the file, decodes its first video frame and hands it to `body`; the FFmpeg
    /// objects are freed when this returns.
    private static func decodeFirstFrame<T>(
        _ url: URL, _ body: (Frame, FFmpegCall) throws(VideoIOError) -> T
    ) throws(VideoIOError) -> T {
        _ = FFmpegLogging.quiet
        let path = url.path
        let call = FFmpegCall(path: path)
        try checkReadable(path)

        let input = try InputContext(path: path, call: call)
        try call.check(avformat_find_stream_info(input.pointer, nil), "avformat_find_stream_info")
        var codec: UnsafePointer<AVCodec>? = nil
        let streamIndex = av_find_best_stream(input.pointer, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
        guard streamIndex >= 0, let codec else {
            throw .notAnImage(path: path, reason: "no picture stream found (\(FFmpegCall.text(for: streamIndex)))")
        }
        let decoder = try CodecContext(codec: codec, path: path)
        let stream = input.pointer.pointee.streams[Int(streamIndex)]!
        try call.check(avcodec_parameters_to_context(decoder.pointer, stream.pointee.codecpar),
                       "avcodec_parameters_to_context")
        try call.check(avcodec_open2(decoder.pointer, codec, nil), "avcodec_open2 (\(String(cString: codec.pointee.name)))")

        let packet = try Packet(path: path)
        let frame = try Frame(path: path)
        var flushed = false
        while true {
            switch try call.state(avcodec_receive_frame(decoder.pointer, frame.pointer), "avcodec_receive_frame") {
            case .done:
                let f = frame.pointer.pointee
                guard f.width > 0, f.height > 0 else { throw .zeroSizeImage(path: path) }
                return try body(frame, call)
            case .endOfStream:
                throw .notAnImage(path: path, reason: "the decoder produced no picture")
            case .again:
                break
            }
            // The decoder wants input: the next packet of our stream, or a flush at the end.
            if flushed { throw .notAnImage(path: path, reason: "the decoder produced no picture") }
            let read = av_read_frame(input.pointer, packet.pointer)
            if read == cffmpeg_averror_eof() {
                flushed = true
                _ = try call.state(avcodec_send_packet(decoder.pointer, nil), "avcodec_send_packet (flush)")
                continue
            }
            try call.check(read, "av_read_frame")
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == streamIndex {
                _ = try call.state(avcodec_send_packet(decoder.pointer, packet.pointer), "avcodec_send_packet")
            }
        }
    }

    /// Distinguishes "missing" and "empty" before FFmpeg turns both into a vaguer message.
    private static func checkReadable(_ path: String) throws(VideoIOError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw .notAnImage(path: path, reason: "it is a directory") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw .emptyFile(path: path) }
    }

    /// Converts `frame` at the same size to `format` and copies it out without row padding.
    private static func convert<T>(
        _ frame: Frame, to format: AVPixelFormat, bytesPerPixel: Int, call: FFmpegCall,
        _ make: (Int, Int, [UInt8]) -> T
    ) throws(VideoIOError) -> T {
        let source = frame.pointer.pointee
        let scaler = try Scaler(width: source.width, height: source.height,
                                from: AVPixelFormat(source.format), to: format, path: call.path)
        let converted = try Frame(path: call.path)
        converted.pointer.pointee.width = source.width
        converted.pointer.pointee.height = source.height
        converted.pointer.pointee.format = format.rawValue
        try call.check(av_frame_get_buffer(converted.pointer, 0), "av_frame_get_buffer")
        try call.check(sws_scale_frame(scaler.pointer, converted.pointer, frame.pointer), "sws_scale_frame")
        let pixels = copyRows(converted, plane: 0, rowBytes: Int(source.width) * bytesPerPixel)
        return make(Int(source.width), Int(source.height), pixels)
    }

    /// Copies `rowBytes` from each row of a plane; rows in FFmpeg frames are `linesize`
    /// apart (padded for SIMD), ours are packed.
    static func copyRows(_ frame: Frame, plane: Int, rowBytes: Int) -> [UInt8] {
        let f = frame.pointer.pointee
        let height = Int(f.height)
        let (base, stride) = withUnsafeBytes(of: f.data) { data in
            (data.load(fromByteOffset: plane * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride,
                       as: UnsafeMutablePointer<UInt8>?.self)!,
             withUnsafeBytes(of: f.linesize) { $0.load(fromByteOffset: plane * 4, as: Int32.self) })
        }
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<height {
                (dst.baseAddress! + y * rowBytes).update(from: base + y * Int(stride), count: rowBytes)
            }
        }
        return out
    }
}
