import PluginTraining
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// `PluginInputs.capture` stops the inference decoder at block 2's hook; it must see exactly what
/// the hook sees inside a whole `predictMasks` pass.
@Suite("the plugin's inputs, captured without the rest of the decoder")
struct PluginInputsTests {
    final class Recorder: TokenToImageFeatures {
        var seen: (queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int))?
        func features(queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int))
            -> (values: Tensor, keyPE: Tensor, route: Tensor?) {
            seen = (queries, keys, keyPE, grid)
            return (keys, keyPE, nil)
        }
    }

    @Test("capture equals, bit for bit, what block 2's hook receives in a full predictMasks pass")
    func captureEqualsHook() throws {
        let f = try GradFixture()
        let sam = try f.sam()
        let (embedding, sparse, dense, _) = try f.sample(0)
        let pe = sam.promptEncoder.densePositionalEncoding()
        let recorder = Recorder()
        sam.maskDecoder.transformer.layers[1].tokenToImageFeatures = recorder
        _ = sam.maskDecoder.predictMasks(imageEmbedding: embedding, imagePE: pe, sparse: sparse, dense: dense)
        sam.maskDecoder.transformer.layers[1].tokenToImageFeatures = nil
        let seen = try #require(recorder.seen)
        let got = PluginInputs.capture(sam.maskDecoder, imageEmbedding: embedding, imagePE: pe, sparse: sparse, dense: dense)
        #expect(got.queries.shape == seen.queries.shape && got.queries.storage == seen.queries.storage)
        #expect(got.keys.storage == seen.keys.storage && got.keyPE.storage == seen.keyPE.storage)
        #expect(got.grid == seen.grid)
    }
}
