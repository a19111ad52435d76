import Foundation
import NN
@testable import SegmentAnything
import Tensor
import TestSupport
import Testing

/// Checkpoints whose shapes are not a SAM's (issue 17, root causes 4-6): each must be refused
/// with an error naming the key, before any number read from it sizes a layer or divides.
@Suite("Hostile checkpoint shapes")
struct HostileShapeTests {
    static func fixture(_ name: String) throws -> StateDict {
        try Checkpoint.load(url: Fixtures.url("sam_tiny_\(name).pth"))
    }

    /// The fixture with one tensor replaced by zeros of `shape`, built into a model.
    func build(_ name: String, _ key: String, _ shape: [Int], metadata: [String: String] = [:]) throws -> any Error {
        var dict = try Self.fixture(name)
        #expect(dict[key] != nil, "the fixture has no \(key)")
        dict[key] = Tensor(zeros: shape)
        dict.metadata.merge(metadata) { $1 }
        do {
            _ = try SamLoader.build(from: dict)
        } catch {
            return error
        }
        Issue.record("\(key) as \(shape) was accepted")
        return CancellationError()
    }

    @Test("empty dimensions and wrong ranks are refused by key, for every key inference reads", arguments: [
        // Root cause 4: empty tensors sizing the model.
        ("mask_decoder.iou_prediction_head.layers.0.weight", [1 << 30, 0]),
        ("mask_decoder.iou_prediction_head.layers.0.weight", [0, 1 << 62]),
        // Root cause 5: tensors of unexpected rank.
        ("prompt_encoder.no_mask_embed.weight", [32]),
        ("mask_decoder.iou_token.weight", [32]),
        ("image_encoder.pos_embed", [16]),
        ("image_encoder.blocks.0.attn.rel_pos_h", [9]),
        ("mask_decoder.mask_tokens.weight", []),
        ("image_encoder.neck.0.weight", []),
        ("image_encoder.patch_embed.proj.weight", [32, 3, 8]),
        ("prompt_encoder.mask_downscaling.3.weight", [8]),
        ("mask_decoder.transformer.layers.0.mlp.lin1.weight", []),
        ("image_encoder.blocks.0.mlp.lin1.weight", [128]),
        // Root cause 6: numbers that divide.
        ("image_encoder.blocks.0.attn.rel_pos_h", [7, 0]),
        ("image_encoder.patch_embed.proj.weight", [32, 3, 0, 0]),
        ("image_encoder.patch_embed.proj.weight", [0, 3, 8, 8]),
    ])
    func refusedByKey(key: String, shape: [Int]) throws {
        let error = try build("win", key, shape)
        #expect(error is ArchitectureError, "\(error)")
        #expect("\(error)".contains(key), "\(error)")
    }

    @Test("a rel-pos table wider than the embedding, or one that does not divide it, is refused")
    func headWidth() throws {
        for shape in [[9, 64], [9, 12]] {
            let error = try build("win", "image_encoder.blocks.0.attn.rel_pos_h", shape)
            #expect("\(error)".contains("head_dim dividing the width 32"), "\(shape): \(error)")
        }
    }

    @Test("a window table wider than the grid is refused instead of padding the image to it")
    func windowPastGrid() throws {
        let error = try build("win", "image_encoder.blocks.0.attn.rel_pos_h", [2 * 40 - 1, 16])
        #expect("\(error)".contains("smaller than the 16-token grid"), "\(error)")
    }

    @Test("TinyViT: attention biases that are no window, or heads that do not divide the width, are refused", arguments: [
        [0, 25], [3, 26], [40, 25], [5, 25], [3, 33 * 33],
    ])
    func tinyViTBiases(shape: [Int]) throws {
        let key = "image_encoder.layers.1.blocks.0.attn.attention_biases"
        let error = try build("tinyvit", key, shape)
        #expect("\(error)".contains(key), "\(shape): \(error)")
    }

    @Test("an input size from metadata outside what any SAM uses is refused")
    func imageSizeMetadata() throws {
        var dict = try Self.fixture("tinyvit")
        for size in ["100000", "0", "-64"] {
            dict.metadata["img_size"] = size
            let error = try #require(throws: ArchitectureError.self) { try SamLoader.build(from: dict) }
            #expect("\(error)".contains("input size"), "\(size): \(error)")
        }
    }

    @Test("a head width that would size a 64 GB layer is refused before the model is allocated")
    func inflatedWidth() throws {
        // iou_prediction_head.layers.1 would be [2^17, 2^17] floats (64 GB) if the model were built
        // from the inferred config before the strict check; this process would die, not throw.
        let error = try build("win", "mask_decoder.iou_prediction_head.layers.0.weight", [1 << 17, 32])
        #expect(error is StateDictError, "\(error)")
        #expect("\(error)".contains("mask_decoder.iou_prediction_head.layers.1.weight"), "\(error)")
    }

    @Test("a shapes-only build lays out the same parameters as a real one, with no storage")
    func shapesOnlyLayout() throws {
        for name in ["win", "glob", "tinyvit"] {
            let sam = try ParityFixture(name).loadModel()
            let layout = Tensor.$shapesOnly.withValue(true) { Sam(sam.config).namedParameters() }
            #expect(layout.map(\.key) == sam.parameterShapes().map(\.key), "\(name)")
            #expect(layout.map(\.tensor.shape) == sam.parameterShapes().map(\.shape), "\(name)")
            #expect(layout.allSatisfy { $0.tensor.storage.isEmpty })
        }
        // ViT-H's 2.5 GB of weights are laid out without allocating them.
        let huge = Tensor.$shapesOnly.withValue(true) { Sam(SamPreset.vitH.config) }
        #expect(huge.parameterCount > 600_000_000)
        #expect(huge.namedParameters().allSatisfy { $0.tensor.storage.isEmpty })
    }
}
