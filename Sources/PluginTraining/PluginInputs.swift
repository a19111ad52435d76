// What block 2's token->image attention receives, taken from the inference decoder itself.
import SegmentAnything
import Tensor

/// The inputs of the plugin's hook in block 2 (`transformer.layers.1`), none of which depends on a
/// plugin parameter: the queries after block 2's self-attention and norm1, the keys leaving block
/// 1, their positional encoding, and the grid. Everything before the plugin is frozen SAM, so it
/// runs on the inference engine, unchanged, and only what follows is rebuilt on autograd.
public struct PluginInputs {
    /// [1, Nt, C], after block 2's norm1.
    public var queries: Tensor
    /// [1, HW, C]: block 2's input image keys (block 1's output).
    public var keys: Tensor
    /// [1, HW, C]: the image positional encoding in token layout.
    public var keyPE: Tensor
    public var grid: (h: Int, w: Int)

    /// Runs the inference decoder as far as block 2's hook and no further (`MaskDecoder.hookInputs`).
    public static func capture(_ decoder: MaskDecoder, imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor,
                               dense: Tensor) -> PluginInputs {
        let r = decoder.hookInputs(block: 1, imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense)
        return PluginInputs(queries: r.queries, keys: r.keys, keyPE: r.keyPE, grid: r.grid)
    }
}
