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

    /// Runs `decoder.predictMasks` once with a recording hook in block 2's place (no plugin: the
    /// hook passes the keys through), then puts the previous hook back.
    public static func capture(_ decoder: MaskDecoder, imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor,
                               dense: Tensor) -> PluginInputs {
        let block = decoder.transformer.layers[1]
        let previous = block.tokenToImageFeatures
        let recorder = Recorder()
        block.tokenToImageFeatures = recorder
        defer { block.tokenToImageFeatures = previous }
        _ = decoder.predictMasks(imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense)
        guard let inputs = recorder.inputs else { preconditionFailure("block 2 never called its token->image hook") }
        return inputs
    }

    private final class Recorder: TokenToImageFeatures {
        var inputs: PluginInputs?
        func features(queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int)) -> (values: Tensor, keyPE: Tensor) {
            inputs = PluginInputs(queries: queries, keys: keys, keyPE: keyPE, grid: grid)
            return (keys, keyPE)
        }
    }
}
