import SegmentAnything
import Tensor
import Testing
import TestSupport

/// The tracker's candidates: all four mask tokens from one decoder pass, and features pooled under a mask.
@Suite("all mask tokens from one pass")
struct AllMaskTokensTests {
    @Test("token 0 is the single-mask answer and tokens 1-3 the multimask answers, exactly")
    func tokensMatchPredict() throws {
        let f = try ParityFixture("win")
        let predictor = Predictor(model: try f.loadModel())
        predictor.setImage(try f.image())
        for c in f.cases.prefix(4) {
            let prompt = try f.prompt(c)
            let all = try predictor.predictAllMasks(prompt)
            let single = try predictor.predict(prompt, multimask: false)
            let multi = try predictor.predict(prompt, multimask: true)
            #expect(all.iou.count == 4 && all.logits.shape[0] == 4 && all.lowResLogits.shape[0] == 4)
            #expect(all.iou == [single.iou[0]] + multi.iou, "case \(c.k)")
            #expect(all.lowResLogits.storage == single.lowResLogits.storage + multi.lowResLogits.storage, "case \(c.k)")
            #expect(all.logits.storage == single.logits.storage + multi.logits.storage, "case \(c.k)")
        }
    }

    @Test("pooling under a mask that covers everything is the embedding's mean; an empty mask gives nothing")
    func pooling() throws {
        let f = try ParityFixture("win")
        let predictor = Predictor(model: try f.loadModel())
        predictor.setImage(try f.image())
        let embedding = try #require(predictor.imageEmbedding)
        let (c, h, w) = (embedding.shape[1], embedding.shape[2], embedding.shape[3])
        let side = 4 * h
        let masks = Tensor(shape: [2, side, 4 * w], storage: [Float](repeating: 30, count: side * 4 * w)
                           + [Float](repeating: -30, count: side * 4 * w))
        let pooled = try predictor.maskPooledEmbedding(masks)
        #expect(pooled.count == 2 && pooled[0].count == c && pooled[1].isEmpty)
        for k in 0..<c {
            let mean = embedding.storage[(k * h * w)..<((k + 1) * h * w)].reduce(0, +) / Float(h * w)
            #expect(abs(pooled[0][k] - mean) <= 1e-4 + 1e-3 * abs(mean), "channel \(k)")
        }
    }

    @Test("the frame's mean embedding averages the cells over the image and leaves out the padding")
    func meanEmbeddingSkipsPadding() throws {
        let f = try ParityFixture("win")
        let predictor = Predictor(model: try f.loadModel())
        predictor.setImage(try f.image())
        let embedding = try #require(predictor.imageEmbedding)
        let (c, h, w) = (embedding.shape[1], embedding.shape[2], embedding.shape[3])
        let stride = predictor.model.config.imgSize / h
        let (vh, vw) = ((predictor.inputSize.h + stride - 1) / stride, (predictor.inputSize.w + stride - 1) / stride)
        try #require(vh * vw < h * w, "the fixture image must be non-square, so the grid has padding cells")
        let mean = try predictor.meanEmbedding()
        #expect(mean.count == c)
        var differsFromWholeGrid = false
        for k in 0..<c {
            var valid: Float = 0, all: Float = 0
            for y in 0..<h {
                for x in 0..<w {
                    let v = embedding.storage[(k * h + y) * w + x]
                    all += v
                    if y < vh && x < vw { valid += v }
                }
            }
            let expected = valid / Float(vh * vw)
            #expect(abs(mean[k] - expected) <= 1e-4 + 1e-4 * abs(expected), "channel \(k)")
            if abs(all / Float(h * w) - expected) > 1e-3 { differsFromWholeGrid = true }
        }
        #expect(differsFromWholeGrid, "padding cells hold other values, so leaving them out must show")
        // The tracker's descriptor: pooled minus that mean.
        let side = 4 * h
        let blob = Tensor(shape: [1, side, 4 * w], storage: (0..<(side * 4 * w)).map { i in (i / (4 * w)) < side / 3 ? 20 : -20 })
        let plain = try predictor.maskPooledEmbedding(blob)[0], centred = try predictor.maskPooledEmbedding(blob, centered: true)[0]
        for k in 0..<c { #expect(abs(centred[k] - (plain[k] - mean[k])) <= 1e-5, "channel \(k)") }
    }
}
