import Foundation
import NN
import Tensor

/// Builds a `Sam` from any SAM checkpoint (.pth or safetensors) with the architecture inferred
/// from the weights, then loads them strictly (missing, extra or mis-shaped keys are errors).
public enum SamLoader {
    /// `decoderHeads` overrides the mask decoder's head count, which checkpoints do not record;
    /// a safetensors file may carry it as metadata `decoder_num_heads`. Likewise `imgSize` (metadata
    /// `img_size`), the input side of models whose weights do not fix it (TinyViT); 1024 otherwise.
    public static func load(_ url: URL, decoderHeads: Int? = nil, imgSize: Int? = nil) throws -> Sam {
        let stateDict = try Checkpoint.load(url: url)
        return try naming(url) { try build(from: stateDict, decoderHeads: decoderHeads, imgSize: imgSize) }
    }

    /// Runs `body`, giving an architecture or strict-loading error the file it came from.
    public static func naming<R>(_ file: URL, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let e as ArchitectureError {
            throw ModelFileError(file: file, reason: e)
        } catch let e as StateDictError {
            throw ModelFileError(file: file, reason: e)
        }
    }

    public static func build(from stateDict: StateDict, decoderHeads: Int? = nil, imgSize: Int? = nil) throws -> Sam {
        let config = try checkedConfig(for: stateDict, decoderHeads: decoderHeads, imgSize: imgSize)
        let sam = Sam(config)
        try stateDict.load(into: sam, ignoring: ignored)
        return sam
    }

    /// BatchNorm's step counter (TinyViT) is training state, not a parameter.
    static let ignored = ["*.num_batches_tracked"]

    /// The architecture of `stateDict`, checked key for key and shape for shape against the model
    /// it implies without allocating that model.
    public static func checkedConfig(for stateDict: StateDict, decoderHeads: Int? = nil, imgSize: Int? = nil) throws -> SamConfig {
        let heads = decoderHeads ?? stateDict.metadata["decoder_num_heads"].flatMap(Int.init) ?? 8
        let size = imgSize ?? stateDict.metadata["img_size"].flatMap(Int.init) ?? 1024
        let config = try SamConfig.infer(shapes: stateDict.tensors.mapValues(\.shape), decoderHeads: heads, imgSize: size)
        // The strict check runs on the model's layout before the model is allocated: numbers
        // inferred from a few tensors (a block count, a width) must not size a model the file
        // cannot fill, and a file that is not this SAM says so by key and shape, not by running out of memory.
        let layout = Tensor.$shapesOnly.withValue(true) { Sam(config).parameterShapes() }
        try stateDict.checkShapes(layout, ignoring: ignored)
        return config
    }
}

/// A checkpoint that loaded as tensors but is not a SAM the engine can build: the file, and why
/// (an `ArchitectureError` or `StateDictError`).
public struct ModelFileError: Error, CustomStringConvertible {
    public let file: URL
    public let reason: any Error

    public var description: String { "\(file.path): \(reason)" }
}
