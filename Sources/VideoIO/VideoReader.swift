import Foundation
internal import CFFmpeg
import Imaging

/// Streams upright RGB24 frames from a video file (any container and codec this FFmpeg
/// decodes) or from a folder of images (DAVIS `JPEGImages/<seq>/00000.jpg` style).
///
/// Memory is constant in video length: one packet and one decoded picture are held at a time.
/// `next()` is the whole interface, so the reader can live on its own decode thread.
public final class VideoReader {
    public let info: VideoInfo
    private let source: any FrameSource

    /// Opens `url`; a directory is read as an image sequence at `folderFrameRate`.
    public init(url: URL, folderFrameRate: Rational = Rational(24, 1)) throws(VideoIOError) {
        _ = FFmpegLogging.quiet
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: url.path)
        }
        if isDirectory.boolValue {
            let folder = try ImageFolderSource(url: url, frameRate: folderFrameRate)
            info = folder.info
            source = folder
        } else {
            let file = try FileSource(path: url.path)
            info = file.info
            source = file
        }
    }

    /// The next frame in presentation order, or nil at the end of the stream.
    public func next() throws(VideoIOError) -> VideoFrame? {
        try source.next()
    }
}

/// One way of producing frames (file decoder or image folder).
private protocol FrameSource: AnyObject {
    func next() throws(VideoIOError) -> VideoFrame?
}

/// Decodes the best video stream of a file.
private final class FileSource: FrameSource {
    let info: VideoInfo
    private let call: FFmpegCall
    private let input: InputContext
    private let decoder: CodecContext
    private let streamIndex: Int32
    private let packet: Packet
    private let frame: Frame
    private var scaler: (key: [Int32], scaler: Scaler)?
    private var flushed = false
    private var finished = false
    private var index = 0
    private var nextPts: Int64 = 0
    private var lastPts: Int64?
    private let nominalDuration: Int64
    /// The stream's picture size before rotation: what every frame is delivered at.
    private let storedSize: (width: Int, height: Int)

    init(path: String) throws(VideoIOError) {
        call = FFmpegCall(path: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw .emptyFile(path: path) }
        do {
            input = try InputContext(path: path, call: call)
        } catch {
            throw .notAVideo(path: path, reason: "FFmpeg does not recognise the format (\(error))")
        }
        try call.check(avformat_find_stream_info(input.pointer, nil), "avformat_find_stream_info")
        var codec: UnsafePointer<AVCodec>? = nil
        streamIndex = av_find_best_stream(input.pointer, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
        guard streamIndex >= 0 else {
            throw .notAVideo(path: path, reason: "no video stream (\(FFmpegCall.text(for: streamIndex)))")
        }
        let stream = input.pointer.pointee.streams[Int(streamIndex)]!
        let parameters = stream.pointee.codecpar!.pointee
        guard let codec else {
            let name = avcodec_get_name(parameters.codec_id).map { String(cString: $0) } ?? "unknown"
            throw .notAVideo(path: path, reason: "this FFmpeg build has no decoder for codec \(name)")
        }
        decoder = try CodecContext(codec: codec, path: path)
        try call.check(avcodec_parameters_to_context(decoder.pointer, stream.pointee.codecpar),
                       "avcodec_parameters_to_context")
        // Stamp frames with the stream's time base so pts/durations need no rescaling.
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        try call.check(avcodec_open2(decoder.pointer, codec, nil), "avcodec_open2 (\(String(cString: codec.pointee.name)))")
        packet = try Packet(path: path)
        frame = try Frame(path: path)

        let timeBase = Rational(Int(stream.pointee.time_base.num), Int(stream.pointee.time_base.den))
        var rate = stream.pointee.avg_frame_rate
        if rate.num <= 0 || rate.den <= 0 { rate = stream.pointee.r_frame_rate }
        let frameRate = rate.num > 0 && rate.den > 0 ? Rational(Int(rate.num), Int(rate.den)) : Rational(0, 1)
        // One frame in ticks: (1 / fps) / timeBase, used when the container gives no duration.
        let ticks = frameRate.num > 0 && timeBase.num > 0
            ? Double(frameRate.den * timeBase.den) / Double(frameRate.num * timeBase.num) : 1
        nominalDuration = max(1, Int64(ticks.rounded()))

        let rotation = FileSource.rotation(of: stream)
        let (w, h) = (Int(parameters.width), Int(parameters.height))
        guard w > 0, h > 0 else { throw .notAVideo(path: path, reason: "its video stream declares a \(w)x\(h) picture") }
        storedSize = (w, h)
        var duration: Double? = nil
        if stream.pointee.duration > 0 {
            duration = Double(stream.pointee.duration) * timeBase.value
        } else if input.pointer.pointee.duration > 0 {
            duration = Double(input.pointer.pointee.duration) / Double(AV_TIME_BASE)
        }
        var count: Int? = stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil
        if count == nil, let duration, frameRate.num > 0 { count = Int((duration * frameRate.value).rounded()) }
        let pixelFormat = av_get_pix_fmt_name(AVPixelFormat(parameters.format)).map { String(cString: $0) } ?? "unknown"
        info = VideoInfo(path: path, width: rotation % 180 == 0 ? w : h, height: rotation % 180 == 0 ? h : w,
                         codec: String(cString: codec.pointee.name), pixelFormat: pixelFormat,
                         timeBase: timeBase, frameRate: frameRate, duration: duration, frameCount: count,
                         rotation: rotation, isImageSequence: false)
        if stream.pointee.start_time != cffmpeg_nopts() { nextPts = stream.pointee.start_time }
    }

    /// Clockwise degrees that make the picture upright, as the ffmpeg CLI's autorotate reads
    /// the display matrix (av_display_rotation_get gives counter-clockwise degrees).
    /// Mirrored matrices are read for their rotation only.
    private static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nil) else { return 0 }
        let angle = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        guard angle.isFinite else { return 0 }
        let quarter = Int((-angle / 90).rounded())
        return ((quarter % 4) + 4) % 4 * 90
    }

    func next() throws(VideoIOError) -> VideoFrame? {
        while !finished {
            switch try call.state(avcodec_receive_frame(decoder.pointer, frame.pointer), "avcodec_receive_frame") {
            case .done:
                defer { av_frame_unref(frame.pointer) }
                return try emit()
            case .endOfStream:
                finished = true
                return nil
            case .again:
                try feed()
            }
        }
        return nil
    }

    /// Sends the next packet of our stream to the decoder, or the flush at the end of the file.
    private func feed() throws(VideoIOError) {
        if flushed { finished = true; return }
        while true {
            let read = av_read_frame(input.pointer, packet.pointer)
            if read == cffmpeg_averror_eof() {
                flushed = true
                _ = try call.state(avcodec_send_packet(decoder.pointer, nil), "avcodec_send_packet (flush)")
                return
            }
            try call.check(read, "av_read_frame")
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == streamIndex {
                _ = try call.state(avcodec_send_packet(decoder.pointer, packet.pointer), "avcodec_send_packet")
                return
            }
        }
    }

    private func emit() throws(VideoIOError) -> VideoFrame {
        let f = frame.pointer.pointee
        var pts = f.best_effort_timestamp
        if pts == cffmpeg_nopts() { pts = nextPts }
        // Output order is presentation order, so timestamps must increase: one that does not (two
        // encodes concatenated, a damaged container) follows the previous frame instead, or every
        // writer downstream refuses it as non-monotonic.
        if let lastPts, pts <= lastPts { pts = nextPts }
        lastPts = pts
        let duration = f.pkt_duration > 0 ? f.pkt_duration : nominalDuration
        nextPts = pts + duration
        // Every frame comes out at the stream's size: a stream that changes size mid-way (a valid
        // H.264 resolution switch, a damaged WebM) is rescaled to it, and the frame says so.
        let (outW, outH) = (Int32(storedSize.width), Int32(storedSize.height))
        guard f.width > 0, f.height > 0 else {
            throw .decodeFailed(path: call.path, frame: index, reason: "the decoder gave a \(f.width)x\(f.height) picture")
        }
        let rescaled = f.width != outW || f.height != outH
        let key = [f.width, f.height, f.format]
        if scaler?.key != key {
            scaler = (key, try Scaler(width: f.width, height: f.height, from: AVPixelFormat(f.format),
                                      to: AV_PIX_FMT_RGB24, outWidth: outW, outHeight: outH, path: call.path,
                                      flags: rescaled ? SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT : Scaler.exact))
        }
        let converted = try Frame(path: call.path)
        converted.pointer.pointee.width = outW
        converted.pointer.pointee.height = outH
        converted.pointer.pointee.format = AV_PIX_FMT_RGB24.rawValue
        try call.check(av_frame_get_buffer(converted.pointer, 0), "av_frame_get_buffer")
        try call.check(sws_scale_frame(scaler!.scaler.pointer, converted.pointer, frame.pointer), "sws_scale_frame")
        let pixels = ImageReader.copyRows(converted, plane: 0, rowBytes: Int(outW) * 3)
        let image = RGBImage(width: Int(outW), height: Int(outH), pixels: pixels).rotated(clockwise: info.rotation)
        defer { index += 1 }
        var out = VideoFrame(index: index, pts: pts, duration: duration, time: Double(pts) * info.timeBase.value, image: image)
        if rescaled { out.rescaledFrom = (Int(f.width), Int(f.height)) }
        return out
    }
}

/// A folder of images as a video: its frames are its image files in natural name order.
public enum ImageFolder {
    static let extensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp"]

    /// The folder's frames in order (`2.png` before `10.png`); frame k is the k-th file.
    public static func frameFiles(_ url: URL) throws(VideoIOError) -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw .notAVideo(path: url.path, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        let images = names.filter { !$0.hasPrefix(".") && extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        return images.sorted { $0.compare($1, options: [.numeric]) == .orderedAscending }.map { url.appendingPathComponent($0) }
    }
}

/// Image files in a folder, in natural name order (`2.png` before `10.png`), one frame each.
private final class ImageFolderSource: FrameSource {
    let info: VideoInfo
    private let files: [URL]
    private var index = 0

    init(url: URL, frameRate: Rational) throws(VideoIOError) {
        files = try ImageFolder.frameFiles(url)
        guard let first = files.first else { throw .noFrames(path: url.path) }
        let image = try ImageReader.read(first)
        let ext = first.pathExtension.lowercased()
        info = VideoInfo(path: url.path, width: image.width, height: image.height,
                         codec: ext == "jpg" ? "mjpeg" : ext, pixelFormat: "rgb24",
                         timeBase: Rational(frameRate.den, frameRate.num), frameRate: frameRate,
                         duration: Double(files.count) / frameRate.value, frameCount: files.count,
                         rotation: 0, isImageSequence: true)
    }

    func next() throws(VideoIOError) -> VideoFrame? {
        guard index < files.count else { return nil }
        let image = try ImageReader.read(files[index])
        guard image.width == info.width, image.height == info.height else {
            throw .inconsistentFrameSize(path: files[index].path, expected: "\(info.width)x\(info.height)",
                                         actual: "\(image.width)x\(image.height)")
        }
        // Time base 1/fps: pts is the frame number.
        defer { index += 1 }
        return VideoFrame(index: index, pts: Int64(index), duration: 1,
                          time: Double(index) / info.frameRate.value, image: image)
    }
}

extension RGBImage {
    /// The image turned clockwise by 0, 90, 180 or 270 degrees.
    public func rotated(clockwise degrees: Int) -> RGBImage {
        let turns = ((degrees / 90) % 4 + 4) % 4
        guard turns != 0 else { return self }
        let (w, h) = (width, height)
        let (outW, outH) = turns == 2 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    for x in 0..<outW {
                        // Source pixel that lands at (x, y).
                        let (sx, sy): (Int, Int)
                        switch turns {
                        case 1: (sx, sy) = (y, h - 1 - x)
                        case 2: (sx, sy) = (w - 1 - x, h - 1 - y)
                        default: (sx, sy) = (w - 1 - y, x)
                        }
                        let s = (sy * w + sx) * 3, d = (y * outW + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}
