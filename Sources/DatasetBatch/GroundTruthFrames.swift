import Evaluation
import Foundation
import Metrics
import VideoIO

/// A sequence's ground truth and the video frame each of its files annotates. DAVIS annotates
/// every frame; YouTube-VOS only some, named as the frames they annotate, so an annotation is
/// matched to the image of the same name (image folders) or to the number in its name (video
/// files whose frame count differs from the annotations').
public struct GroundTruthFrames: Sendable {
    public let masks: MaskSequence
    /// `frameIndex[k]`: the video frame `masks`' k-th file annotates, increasing.
    public let frameIndex: [Int]

    public static func read(_ folder: URL, sequence: String, video: URL, frameCount: Int?) throws -> GroundTruthFrames {
        guard DatasetSource.isFolder(folder) else {
            throw BatchError.noAnnotations(sequence: sequence, path: folder.path)
        }
        guard let masks = try MaskSequenceReader.readSequence(folder, name: sequence, voidIndex: true), masks.frameCount > 0 else {
            throw BatchError.noAnnotations(sequence: sequence, path: folder.path)
        }
        let stems = masks.frameFiles.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        var index: [Int]
        if DatasetSource.isFolder(video) {
            let frames = try ImageFolder.frameFiles(video).map { $0.deletingPathExtension().lastPathComponent }
            if frames.count == stems.count && Set(frames) != Set(stems) {
                index = Array(0..<frames.count)   // one mask per frame, named otherwise: pair in order
            } else {
                let position = Dictionary(frames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
                index = []
                for (k, stem) in stems.enumerated() {
                    guard let p = position[stem] else {
                        throw BatchError.annotationWithoutFrame(sequence: sequence, annotation: masks.frameFiles[k], video: video.path)
                    }
                    index.append(p)
                }
            }
        } else if frameCount == nil || frameCount == stems.count {
            index = Array(0..<stems.count)
        } else {
            index = []
            for (k, stem) in stems.enumerated() {
                guard let n = Int(stem.filter(\.isNumber).prefix(18)) else {
                    throw BatchError.annotationWithoutFrame(sequence: sequence, annotation: masks.frameFiles[k], video: video.path)
                }
                index.append(n)
            }
        }
        guard zip(index, index.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw BatchError.annotationOrder(sequence: sequence, path: folder.path)
        }
        if let frameCount, let last = index.last, last >= frameCount {
            throw BatchError.annotationPastEnd(sequence: sequence, annotation: masks.frameFiles[index.count - 1], frame: last, frames: frameCount)
        }
        return GroundTruthFrames(masks: masks, frameIndex: index)
    }

    /// Per object id (numeric order): its first annotated video frame and mask there (void excluded).
    public func firstAppearances() -> [(id: String, frame: Int, mask: BinaryMask)] {
        masks.objectIDs.compactMap { id in
            guard let k = masks.objects[id]!.firstIndex(where: { !$0.isEmpty }) else { return nil }
            return (id, frameIndex[k], masks.objects[id]![k])
        }
    }
}
