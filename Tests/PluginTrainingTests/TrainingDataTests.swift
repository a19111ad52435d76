import Foundation
import Metrics
import PluginTraining
import Testing
import TestSupport
import VideoIO

/// The three layouts `train-plugin` reads, and every bad-data error naming its file.
@Suite("train-plugin data layouts and their errors")
struct TrainingDataTests {
    func scratch(_ tag: String) throws -> URL { try temporaryFolder("train-data-\(tag)") }

    @Test("images/ + masks/ is detected; every nonzero mask value of every image is one sample")
    func folders() throws {
        let dir = try scratch("folders")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.folders(at: dir, count: 3)
        let data = try TrainingDataset.open(dir.path)
        #expect(data.layout == .folders)
        #expect(data.images.map(\.lastPathComponent) == ["scene00.png", "scene01.png", "scene02.png"])
        #expect(data.stills.count == 6)
        #expect(data.stills.map(\.image) == [0, 0, 1, 1, 2, 2])
        let first = try data.stills[0].object.read()
        #expect(first.width == 96 && first.height == 72 && !first.isEmpty)
        #expect(data.clipSamples.isEmpty)
    }

    @Test("a DAVIS folder is detected as clips: frames are stills, visible objects are clip samples with boxes")
    func davis() throws {
        let dir = try scratch("davis")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.davis(at: dir, sequences: 2, frames: 3)
        let data = try TrainingDataset.open(dir.path)
        #expect(data.layout == .davis)
        #expect(data.clips.map(\.name) == ["seq0", "seq1"])
        #expect(data.images.count == 6 && data.stills.count == 12 && data.clipSamples.count == 12)
        #expect(data.clipSamples.first == ClipSample(clip: 0, frame: 0, object: 1))
        // The objects move 2 px per frame: so do their boxes.
        let boxes = try #require(data.clips[0].boxes[1])
        #expect(boxes[1]!.x0 - boxes[0]!.x0 == 2 && boxes[2]!.x0 - boxes[1]!.x0 == 2)
    }

    @Test("an image without a mask is refused, naming the image and the mask expected")
    func imageWithoutMask() throws {
        let dir = try scratch("nomask")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.folders(at: dir, count: 2)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("masks/scene01.png"))
        let error = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.path) }
        let text = "\(error!)"
        #expect(text.contains("images/scene01.png") && text.contains("masks/scene01.png") && text.contains("has no mask"), "\(text)")
    }

    @Test("an empty mask is refused, naming it")
    func emptyMask() throws {
        let dir = try scratch("empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.folders(at: dir, count: 2)
        let blank = IndexedImage(width: 96, height: 72, indices: [UInt8](repeating: 0, count: 96 * 72))
        try ImageWriter.writePNG(blank, to: dir.appendingPathComponent("masks/scene00.png"))
        let error = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.path) }
        #expect("\(error!)".contains("masks/scene00.png has no object"), "\(error!)")
    }

    @Test("a missing folder of a layout, an unknown layout and a missing path are refused, naming the path")
    func missingFolders() throws {
        let dir = try scratch("missing")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.folders(at: dir, count: 1)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("masks"))
        let noMasks = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.path) }
        #expect(noMasks == .missingFolder(path: dir.appendingPathComponent("masks").path, layout: "images/ + masks/"))
        let other = dir.appendingPathComponent("images")
        #expect(throws: TrainingDataError.unknownLayout(path: other.path)) { try TrainingDataset.open(other.path) }
        let nowhere = dir.appendingPathComponent("nowhere")
        #expect(throws: TrainingDataError.missingData(path: nowhere.path)) { try TrainingDataset.open(nowhere.path) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("d/JPEGImages"), withIntermediateDirectories: true)
        let noAnnotations = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.appendingPathComponent("d").path) }
        #expect("\(noAnnotations!)".contains("d/Annotations is missing"))
    }

    @Test("an unreadable mask file is an error naming it, not a crash")
    func unreadableMask() throws {
        let dir = try scratch("garbage")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.folders(at: dir, count: 2)
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("masks/scene01.png"))
        let error = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.path) }
        #expect("\(error!)".hasPrefix("cannot read \(dir.appendingPathComponent("masks/scene01.png").path)"), "\(error!)")
    }

    @Test("a DAVIS annotation without its frame is refused, naming both")
    func davisMissingFrame() throws {
        let dir = try scratch("davis-frame")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TinyTrainingData.davis(at: dir, sequences: 1, frames: 2)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("JPEGImages/seq0/00001.png"))
        let error = #expect(throws: TrainingDataError.self) { try TrainingDataset.open(dir.path) }
        #expect("\(error!)".contains("Annotations/seq0/00001.png has no frame"), "\(error!)")
    }
}
