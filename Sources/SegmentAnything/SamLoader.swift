import Foundation
import NN

/// Builds a `Sam` from any SAM checkpoint (.pth or safetensors) with the architecture inferred
/// from the weights, then loads them strictly (missing, extra or mis-shaped keys are errors).
public enum SamLoader {
    /// `decoderHeads` overrides the mask decoder's head count, which checkpoints do not record;
    /// a safetensors file may carry it as metadata `decoder_num_heads`. Likewise `imgSize` (metadata
    /// `img_size`), the input side of models whose weights do not fix it (TinyViT); 1024 otherwise.
    public static func load(_ url: URL, decoderHeads: Int? = nil, imgSize: Int? = nil) throws -> Sam {
        let stateDict = try Checkpoint.load(url: url)
        return try build(from: stateDict, decoderHeads: decoderHeads, imgSize: imgSize)
    }

    public static func build(from stateDict: StateDict, decoderHeads: Int? = nil, imgSize: Int? = nil) throws -> Sam {
        let heads = decoderHeads ?? stateDict.metadata["decoder_num_heads"].flatMap(Int.init) ?? 8
        let size = imgSize ?? stateDict.metadata["img_size"].flatMap(Int.init) ?? 1024
        let config = try SamConfig.infer(shapes: stateDict.tensors.mapValues(\.shape), decoderHeads: heads, imgSize: size)
        let sam = Sam(config)
        // BatchNorm's step counter (TinyViT) is training state, not a parameter.
        try stateDict.load(into: sam, ignoring: ["*.num_batches_tracked"])
        return sam
    }
}
