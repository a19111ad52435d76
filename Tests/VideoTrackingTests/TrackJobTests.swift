import DefaultModel
import Foundation
import Imaging
import SegmentAnything
import Testing
import Tracking
import VideoIO
import VideoTracking

/// The library through its public API only: what the CLI does, without the CLI.
@Suite("track job")
struct TrackJobTests {
    /// A temporary folder with `frames` PNGs of a 20-px white square moving 4 px right per frame
    /// on grey, and an (absent) output folder beside them.
    func scene(frames: Int = 4) throws -> (folder: URL, video: URL, output: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trackjob-\(UUID().uuidString)")
        let video = folder.appendingPathComponent("frames", isDirectory: true)
        try FileManager.default.createDirectory(at: video, withIntermediateDirectories: true)
        let (w, h) = (96, 72)
        for t in 0..<frames {
            var pixels = [UInt8](repeating: 90, count: w * h * 3)
            for y in 26..<46 { for x in (10 + 4 * t)..<(30 + 4 * t) { for c in 0..<3 { pixels[(y * w + x) * 3 + c] = 240 } } }
            try ImageWriter.writePNG(RGBImage(width: w, height: h, pixels: pixels),
                                     to: video.appendingPathComponent(String(format: "%05d.png", t)))
        }
        return (folder, video, folder.appendingPathComponent("out", isDirectory: true))
    }

    func request(_ s: (folder: URL, video: URL, output: URL), box: Box = Box(x0: 10, y0: 26, x1: 30, y1: 46)) -> TrackRequest {
        TrackRequest(video: s.video, folderFrameRate: Rational(24, 1), objects: [ObjectSpec(id: 1, box: box)], output: s.output)
    }

    @Test("a box outside the frame is refused before anything is created")
    func badBoxCreatesNothing() throws {
        let s = try scene()
        defer { try? FileManager.default.removeItem(at: s.folder) }
        #expect(throws: TrackError.self) { try TrackJob(request(s, box: Box(x0: 200, y0: 200, x1: 220, y1: 220))) }
        #expect(!FileManager.default.fileExists(atPath: s.output.path))
    }

    @Test("an earlier run in the output folder is refused unless resuming")
    func earlierRunRefused() throws {
        let s = try scene()
        defer { try? FileManager.default.removeItem(at: s.folder) }
        try FileManager.default.createDirectory(at: s.output, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: s.output.appendingPathComponent("summary.json"))
        let error = #expect(throws: TrackError.self) { try TrackJob(request(s)) }
        #expect(error.map { "\($0)".contains("already holds a track run") } == true)
    }

    @Test("a run reports its frames in order, writes every output and the manifest")
    func runReportsFrames() throws {
        let s = try scene()
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let job = try TrackJob(request(s))
        #expect(FileManager.default.fileExists(atPath: job.layout.framesFolder.path))
        let model = try TrackModel(sam: SamLoader.load(#require(DefaultModel.modelURL)), name: "default", pluginFile: nil, route: .auto)
        var events: [String] = []
        let outcome = try job.run(model: model, stop: StopFlag()) { event in
            switch event {
            case .log: break
            case .trackingStarted: events.append("start")
            case .frame(let f): events.append("\(f.index):\(f.done):\(f.tracked):\(f.results.map(\.id))")
            case .trackingEnded: events.append("end")
            }
        }
        #expect(events == ["start", "0:1:true:[1]", "1:2:true:[1]", "2:3:true:[1]", "3:4:true:[1]", "end"])
        #expect(!outcome.interrupted && outcome.timings.framesProcessed == 4 && outcome.framesSeen == 4)
        for path in [job.layout.summary, job.layout.overlay, job.layout.frameFile(3), job.layout.maskFile(id: 1, number: 3)] {
            #expect(FileManager.default.fileExists(atPath: path.path), "\(path.path)")
        }
    }

    @Test("a stop requested before the first frame ends an interrupted, resumable run")
    func stopBeforeFirstFrame() throws {
        let s = try scene()
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let job = try TrackJob(request(s))
        let model = try TrackModel(sam: SamLoader.load(#require(DefaultModel.modelURL)), name: "default", pluginFile: nil, route: .auto)
        let stop = StopFlag()
        stop.request()
        let outcome = try job.run(model: model, stop: stop) { _ in }
        #expect(outcome.interrupted && outcome.timings.framesProcessed == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: job.layout.summary)) as? [String: Any]
        #expect(summary?["interrupted"] as? Bool == true && summary?["complete"] as? Bool == false)
        var resumed = request(s)
        resumed.resume = true
        _ = try TrackJob(resumed)
    }
}
