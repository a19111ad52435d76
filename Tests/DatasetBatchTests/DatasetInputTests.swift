import DatasetBatch
import Foundation
import Imaging
import Testing
import TestSupport
import VideoIO

/// Reading datasets: DAVIS folders (both layouts), manifests and their errors, sequence lists,
/// sparse (YouTube-VOS style) annotations.
@Suite("dataset input")
struct DatasetInputTests {
    func temporary(_ tag: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("dataset-\(tag)-\(UUID().uuidString)")
    }

    @Test("DAVIS: every JPEGImages folder a sequence, frames counted; DAVIS's 480p form found by itself")
    func davisLayouts() throws {
        let flat = try TinyTrainingData.davis(at: temporary("flat"), sequences: 3, frames: 4)
        let found = try DatasetSource.load(flat)
        #expect(found.map(\.name) == ["seq0", "seq1", "seq2"])
        #expect(found.allSatisfy { $0.weight == 4 && $0.groundTruth?.hasSuffix("Annotations/\($0.name)") == true })

        let nested = temporary("480p")
        for part in ["JPEGImages", "Annotations"] {
            try FileManager.default.createDirectory(at: nested.appendingPathComponent(part), withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: flat.appendingPathComponent(part), to: nested.appendingPathComponent(part).appendingPathComponent("480p"))
        }
        #expect(try DatasetSource.load(nested).map(\.video) == found.map { $0.video.replacingOccurrences(of: flat.path, with: nested.path)
            .replacingOccurrences(of: "JPEGImages/", with: "JPEGImages/480p/") })
        #expect(throws: DatasetError.self) { try DatasetSource.load(nested, resolution: "1080p") }
        #expect(throws: DatasetError.self) { try DatasetSource.load(nested.appendingPathComponent("Annotations")) }
    }

    @Test("--sequences keeps dataset order and names an unknown sequence; a list file skips blanks and comments")
    func selection() throws {
        let root = try TinyTrainingData.davis(at: temporary("select"), sequences: 3, frames: 2)
        let all = try DatasetSource.load(root)
        #expect(try DatasetSource.select(all, names: ["seq2", "seq0"]).map(\.name) == ["seq0", "seq2"])
        let error = #expect(throws: DatasetError.self) { try DatasetSource.select(all, names: ["seq9"]) }
        #expect(error?.description.contains("seq9") == true && error?.description.contains("seq0, seq1, seq2") == true)
        let list = root.appendingPathComponent("val.txt")
        try Data("seq1\n\n# a comment\n  seq2  \n".utf8).write(to: list)
        #expect(try DatasetSource.names(inListFile: list) == ["seq1", "seq2"])
    }

    @Test("manifest: paths relative to it, names from the video, boxes checked as --objects checks them, errors name the line")
    func manifest() throws {
        let folder = temporary("manifest")
        let lines = """
            # two sequences
            {"video": "clips/a.mp4", "gt": "gt/a"}

            {"name": "b", "video": "/abs/b", "objects": [{"id": 2, "box": [1, 2, 30, 40]}], "start_frame": 3}
            """
        let found = try DatasetManifest.parse(Data(lines.utf8), path: "m.jsonl", folder: folder)
        #expect(found.map(\.name) == ["a", "b"])
        #expect(found[0].video == folder.appendingPathComponent("clips/a.mp4").path)
        #expect(found[0].groundTruth == folder.appendingPathComponent("gt/a").path && found[0].objects == nil)
        #expect(found[1].objects?.first?.box == Box(x0: 1, y0: 2, x1: 30, y1: 40) && found[1].startFrame == 3)

        func failure(_ text: String) -> String {
            do {
                _ = try DatasetManifest.parse(Data(text.utf8), path: "m.jsonl", folder: folder)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(failure(#"{"video": "a.mp4"}"#).contains("m.jsonl:1") && failure(#"{"video": "a.mp4"}"#).contains("\"gt\""))
        #expect(failure("{\"video\": \"a.mp4\", \"gt\": \"g\"}\n{\"video\": \"x/a.mp4\", \"gt\": \"g\"}").contains("m.jsonl:2: sequence name \"a\" is used twice"))
        #expect(failure(#"{"video": "a.mp4", "gt": "g", "fps": 3}"#).contains("unknown key \"fps\""))
        #expect(failure(#"{"video": "a.mp4", "objects": [{"id": 1, "box": [1, 2, 3]}]}"#).contains("exactly 4 numbers"))
        #expect(failure(#"{"video": "a.mp4", "gt": "g", "start_frame": 1.5}"#).contains("start_frame"))
        #expect(failure(#"{"video": "a.mp4", "gt": "g", "name": "../up"}"#).contains("cannot be a folder name"))
        #expect(failure("[1, 2]").contains("not a JSON object"))
        #expect(failure("\n# nothing\n").contains("lists no sequences"))
    }

    @Test("sparse annotations pair with the frames of the same name; one without a frame is an error naming it")
    func sparseAnnotations() throws {
        let root = temporary("sparse")
        let (frames, gt) = (root.appendingPathComponent("JPEGImages/s"), root.appendingPathComponent("Annotations/s"))
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: gt, withIntermediateDirectories: true)
        let (image, mask) = TinyTrainingData.scene(seed: 3)
        for t in stride(from: 0, through: 20, by: 5) {     // YouTube-VOS: every 5th frame, named by it
            try ImageWriter.writePNG(image, to: frames.appendingPathComponent(String(format: "%05d.jpg", t)))
        }
        for t in [5, 15] { try ImageWriter.writePNG(mask, to: gt.appendingPathComponent(String(format: "%05d.png", t))) }
        let read = try GroundTruthFrames.read(gt, sequence: "s", video: frames, frameCount: 5)
        #expect(read.frameIndex == [1, 3])
        #expect(read.firstAppearances().map(\.frame) == [1, 1])

        try ImageWriter.writePNG(mask, to: gt.appendingPathComponent("00007.png"))
        let error = #expect(throws: BatchError.self) { try GroundTruthFrames.read(gt, sequence: "s", video: frames, frameCount: 5) }
        #expect(error?.description.contains("00007.png") == true)
        #expect(throws: BatchError.noAnnotations(sequence: "s", path: root.appendingPathComponent("none").path)) {
            try GroundTruthFrames.read(root.appendingPathComponent("none"), sequence: "s", video: frames, frameCount: 5)
        }
    }
}
