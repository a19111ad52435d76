import Foundation
import Imaging
import Tracking

/// One sequence of a dataset: where its frames are, its ground truth, and (from a manifest) the
/// boxes it starts from. Without boxes, the prompts come from the ground truth's first annotated
/// frame (`InitialPrompts`).
public struct DatasetSequence: Sendable, Hashable, Codable {
    public var name: String
    /// A video file or a folder of images.
    public var video: String
    /// A folder of palette PNGs (index = object id, 255 = void) or per-object 0/255 PNG folders.
    public var groundTruth: String?
    /// Boxes given by a manifest line, on `startFrame`; nil: take them from the ground truth.
    public var objects: [ObjectSpec]?
    public var startFrame: Int
    /// What a shard's share is balanced on: the frame count where it is known without decoding
    /// (image folders, ground-truth folders), 1 otherwise.
    public var weight: Int

    public init(name: String, video: String, groundTruth: String?, objects: [ObjectSpec]? = nil, startFrame: Int = 0, weight: Int = 1) {
        self.name = name
        self.video = video
        self.groundTruth = groundTruth
        self.objects = objects
        self.startFrame = startFrame
        self.weight = weight
    }
}

/// A dataset that cannot be read as a whole (one bad sequence is recorded and skipped instead).
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
