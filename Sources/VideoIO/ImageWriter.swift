import Foundation
internal import CFFmpeg
import Imaging

/// Writes PNG files with FFmpeg's png encoder, atomically (see `AtomicFile`).
public enum ImageWriter {
    /// 8-bit RGB PNG.
    public static func writePNG(_ image: RGBImage, to url: URL) throws(VideoIOError) {
        let data = try encodePNG(width: image.width, height: image.height, format: AV_PIX_FMT_RGB24,
                                 path: url.path) { frame in
            fill(frame, plane: 0, from: image.pixels, rowBytes: image.width * 3)
        }
        try AtomicFile.write(data, to: url)
    }

    /// 8-bit grayscale PNG (mattes).
    public static func writePNG(_ image: GrayImage, to url: URL) throws(VideoIOError) {
        let data = try encodePNG(width: image.width, height: image.height, format: AV_PIX_FMT_GRAY8,
                                 path: url.path) { frame in
            fill(frame, plane: 0, from: image.pixels, rowBytes: image.width)
        }
        try AtomicFile.write(data, to: url)
    }

    /// 16-bit grayscale PNG (soft mattes, straight alpha).
    public static func writePNG(_ image: Gray16Image, to url: URL) throws(VideoIOError) {
        // PNG stores 16-bit samples big-endian; so does FFmpeg's GRAY16BE.
        var bytes = [UInt8](repeating: 0, count: image.pixels.count * 2)
        for (i, v) in image.pixels.enumerated() {
            bytes[2 * i] = UInt8(v >> 8)
            bytes[2 * i + 1] = UInt8(v & 0xff)
        }
        let data = try encodePNG(width: image.width, height: image.height, format: AV_PIX_FMT_GRAY16BE,
                                 path: url.path) { frame in
            fill(frame, plane: 0, from: bytes, rowBytes: image.width * 2)
        }
        try AtomicFile.write(data, to: url)
    }

    /// 8-bit palette PNG (DAVIS-style annotations). The palette is padded with black to 256
    /// entries, all opaque, so no transparency chunk is written.
    public static func writePNG(_ image: IndexedImage, to url: URL) throws(VideoIOError) {
        let data = try encodePNG(width: image.width, height: image.height, format: AV_PIX_FMT_PAL8,
                                 path: url.path) { frame in
            fill(frame, plane: 0, from: image.indices, rowBytes: image.width)
            // PAL8 plane 1: 256 native-endian 0xAARRGGBB words.
            frame.pointer.pointee.data.1!.withMemoryRebound(to: UInt32.self, capacity: 256) { entries in
                for i in 0..<256 {
                    let c = i < image.palette.count ? image.palette[i] : .black
                    entries[i] = 0xff00_0000 | UInt32(c.r) << 16 | UInt32(c.g) << 8 | UInt32(c.b)
                }
            }
        }
        try AtomicFile.write(data, to: url)
    }

    /// Encodes one picture; `fillFrame` copies the pixels into the allocated frame.
    private static func encodePNG(
        width: Int, height: Int, format: AVPixelFormat, path: String, fillFrame: (Frame) -> Void
    ) throws(VideoIOError) -> Data {
        _ = FFmpegLogging.quiet
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw .invalidImage(path: path, reason: "size \(width)x\(height) has no pixels")
        }
        let call = FFmpegCall(path: path)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw .invalidImage(path: path, reason: "this FFmpeg build has no PNG encoder")
        }
        let encoder = try CodecContext(codec: codec, path: path)
        encoder.pointer.pointee.width = Int32(width)
        encoder.pointer.pointee.height = Int32(height)
        encoder.pointer.pointee.pix_fmt = format
        encoder.pointer.pointee.time_base = AVRational(num: 1, den: 1)
        try call.check(avcodec_open2(encoder.pointer, codec, nil), "avcodec_open2 (png)")

        let frame = try Frame(path: path)
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        frame.pointer.pointee.format = format.rawValue
        frame.pointer.pointee.pts = 0
        try call.check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer")
        fillFrame(frame)

        try call.check(avcodec_send_frame(encoder.pointer, frame.pointer), "avcodec_send_frame")
        _ = try call.state(avcodec_send_frame(encoder.pointer, nil), "avcodec_send_frame (flush)")
        let packet = try Packet(path: path)
        var data = Data()
        while try call.state(avcodec_receive_packet(encoder.pointer, packet.pointer), "avcodec_receive_packet") == .done {
            data.append(packet.pointer.pointee.data, count: Int(packet.pointer.pointee.size))
            av_packet_unref(packet.pointer)
        }
        guard !data.isEmpty else { throw .invalidImage(path: path, reason: "the PNG encoder produced no data") }
        return data
    }

    /// Copies packed rows into a plane whose rows are `linesize` apart.
    private static func fill(_ frame: Frame, plane: Int, from pixels: [UInt8], rowBytes: Int) {
        let f = frame.pointer.pointee
        let base = withUnsafeBytes(of: f.data) {
            $0.load(fromByteOffset: plane * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride,
                    as: UnsafeMutablePointer<UInt8>?.self)!
        }
        let stride = withUnsafeBytes(of: f.linesize) { $0.load(fromByteOffset: plane * 4, as: Int32.self) }
        pixels.withUnsafeBufferPointer { src in
            for y in 0..<Int(f.height) {
                (base + y * Int(stride)).update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
            }
        }
    }
}
