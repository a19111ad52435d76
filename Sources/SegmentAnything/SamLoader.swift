import Foundation
import NN

/// Builds a `Sam` from any SAM checkpoint (.pth or safetensors) with the architecture inferred
/// from the weights, then loads them strictly (missing, extra or mis-shaped keys are errors).
public enum SamLoader {
    /// `decoderHeads` overrides the mask decoder's head count, which checkpoints do not record;
    /// a safetensors file may carry it as metadata `decoder_num_heads`.
    public static func load(_ url: URL, decoderHeads: Int? = nil) throws -> Sam {
        let stateDict = try Checkpoint.load(url: url)
        return try build(from: stateDict, decoderHeads: decoderHeads)
    }

    public static func build(from stateDict: StateDict, decoderHeads: Int? = nil) throws -> Sam {
        let heads = decoderHeads ?? stateDict.metadata["decoder_num_heads"].flatMap(Int.init) ?? 8
        let config = try SamConfig.infer(shapes: stateDict.tensors.mapValues(\.shape), decoderHeads: heads)
        let sam = Sam(config)
        try stateDict.load(into: sam)
        return sam
    }
}
