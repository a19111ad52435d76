import Foundation
import NN
import SegmentAnything
import Tensor
import Testing
import TestSupport

/// The official `get_rel_pos` resizes a rel-pos table when the attended grid differs from the size
/// it was built for. Full SAM never reaches that path (inputs are padded to img_size), so the fixture
/// is one official `image_encoder.Attention(dim=16, heads=2, input_size=(5, 7))` run on other grids.
@Suite("Decomposed relative positions match the reference, including table interpolation")
struct RelativePositionTests {
    /// `queryChunk` 128 runs each grid's queries in one block; 1, 5 and 7 split them into several
    /// (ragged) blocks of scores, as a 64x64 global block is in full SAM.
    @Test("resized tables and attention output on grids 8x4, 5x7 and 3x11, queries in blocks of 128, 7, 5 and 1",
          arguments: [128, 7, 5, 1])
    func interpolatedTables(queryChunk: Int) throws {
        let stages = try SafetensorsFile(url: Fixtures.url("sam_tiny_relinterp_stages.safetensors"))
        let attn = ViTAttention(dim: 16, numHeads: 2, qkvBias: true, useRelPos: true, inputSize: (5, 7))
        try Checkpoint.load(url: Fixtures.url("sam_tiny_relinterp.pth")).load(into: attn)
        attn.queryChunk = queryChunk
        for k in 0..<3 {
            let x = try stages.tensor(named: "case\(k).x")
            let (h, w) = (x.shape[1], x.shape[2])
            let relH = compare(getRelPos(q: h, k: h, attn.relPosH!), try stages.tensor(named: "case\(k).rel_h"), atol: 1e-6, rtol: 1e-5)
            #expect(relH.passed, "case \(k) rel_h: \(relH)")
            let relW = compare(getRelPos(q: w, k: w, attn.relPosW!), try stages.tensor(named: "case\(k).rel_w"), atol: 1e-6, rtol: 1e-5)
            #expect(relW.passed, "case \(k) rel_w: \(relW)")
            let y = compare(attn(x), try stages.tensor(named: "case\(k).y"), atol: 1e-5, rtol: 1e-4)
            #expect(y.passed, "case \(k) output: \(y)")
        }
    }
}
