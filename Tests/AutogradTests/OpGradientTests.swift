import Autograd
import Tensor
import Testing
import TestSupport

/// Every op's pullback against central finite differences of its own forward (GradientCheck).
@Suite("Autograd pullbacks match finite differences")
struct OpGradientTests {
    func expectPasses(_ check: GradientCheck, _ op: String) {
        #expect(check.passed, "\(op): \(check)")
    }

    @Test("linear: input, weight and bias")
    func linear() {
        let x = randomTensor([3, 5, 4], seed: 1), w = randomTensor([6, 4], seed: 2), b = randomTensor([6], seed: 3)
        expectPasses(GradientCheck([x, w, b]) { v in v[0].linear(v[1], v[2]) }, "linear")
    }

    @Test("matmul: batched, single and with a shared right-hand matrix")
    func matmul() {
        let a = randomTensor([2, 3, 4], seed: 4), b = randomTensor([2, 4, 5], seed: 5), shared = randomTensor([4, 5], seed: 6)
        expectPasses(GradientCheck([a, b]) { v in v[0].matmul(v[1]) }, "matmul batched")
        expectPasses(GradientCheck([a, shared]) { v in v[0].matmul(v[1]) }, "matmul shared")
        expectPasses(GradientCheck([randomTensor([3, 4], seed: 7), shared]) { v in v[0].matmul(v[1]) }, "matmul 2-D")
    }

    @Test("pointwise convolution: input, weight and bias")
    func pointwiseConv() {
        let x = randomTensor([2, 3, 4, 5], seed: 8), w = randomTensor([6, 3, 1, 1], seed: 9), b = randomTensor([6], seed: 10)
        expectPasses(GradientCheck([x, w, b]) { v in v[0].conv2d(v[1], v[2]) }, "conv2d 1x1")
        expectPasses(GradientCheck([x, randomTensor([2, 3, 1, 1], seed: 11)]) { v in v[0].conv2d(v[1], nil) }, "conv2d 1x1 no bias")
    }

    @Test("depthwise 5x5 convolution with padding 2: input, weight and bias")
    func depthwiseConv() {
        let x = randomTensor([2, 3, 6, 7], seed: 12), w = randomTensor([3, 1, 5, 5], seed: 13), b = randomTensor([3], seed: 14)
        expectPasses(GradientCheck([x, w, b]) { v in v[0].conv2d(v[1], v[2], padding: 2, groups: 3) }, "depthwise")
    }

    @Test("transposed 2x2 stride-2 convolution: input, weight and bias")
    func convTranspose() {
        let x = randomTensor([2, 4, 3, 3], seed: 15), w = randomTensor([4, 3, 2, 2], seed: 16), b = randomTensor([3], seed: 17)
        expectPasses(GradientCheck([x, w, b]) { v in v[0].convTranspose2d(v[1], v[2]) }, "convTranspose2d")
    }

    @Test("LayerNorm over the last axis and LayerNorm2d over channels: input, weight and bias")
    func layerNorms() {
        let x = randomTensor([3, 4, 8], seed: 18, scale: 2), w = randomTensor([8], seed: 19), b = randomTensor([8], seed: 20)
        expectPasses(GradientCheck([x, w, b]) { v in v[0].layerNorm(v[1], v[2], eps: 1e-5) }, "layerNorm")
        let x2 = randomTensor([2, 6, 3, 4], seed: 21, scale: 2), w2 = randomTensor([6], seed: 22), b2 = randomTensor([6], seed: 23)
        expectPasses(GradientCheck([x2, w2, b2]) { v in v[0].layerNorm2d(v[1], v[2], eps: 1e-6) }, "layerNorm2d")
    }

    @Test("GELU, ReLU, tanh, sigmoid and softmax")
    func activations() {
        let x = randomTensor([4, 9], seed: 24, scale: 3)
        expectPasses(GradientCheck([x]) { v in v[0].gelu() }, "gelu")
        expectPasses(GradientCheck([awayFromZero([4, 9], seed: 25)]) { v in v[0].relu() }, "relu")
        expectPasses(GradientCheck([x]) { v in v[0].tanh() }, "tanh")
        expectPasses(GradientCheck([x]) { v in v[0].sigmoid() }, "sigmoid")
        expectPasses(GradientCheck([x]) { v in v[0].softmax() }, "softmax")
    }

    @Test("multi-head attention: queries, keys and values")
    func attention() {
        let q = randomTensor([2, 3, 8], seed: 26, scale: 2), k = randomTensor([2, 5, 8], seed: 27, scale: 2)
        let v = randomTensor([2, 5, 8], seed: 28)
        expectPasses(GradientCheck([q, k, v]) { x in Variable.attention(q: x[0], k: x[1], v: x[2], heads: 2) }, "attention")
    }

    @Test("bilinear sampling at p + d: input and offsets, with taps inside, across and outside the border")
    func sampling() {
        // Offsets up to ±3.5 cells on a 5x6 map (many samples partly or wholly outside), with
        // fractional parts in [0.1, 0.9] so that ±h never crosses a cell boundary (the sampler is
        // piecewise bilinear: its derivative jumps there).
        let x = randomTensor([2, 3, 5, 6], seed: 29)
        var d = randomTensor([2, 2, 5, 6], seed: 30, scale: 3)
        let frac = randomTensor([2, 2, 5, 6], seed: 31, scale: 0.4)
        for i in 0..<d.count { d.storage[i] = d.storage[i].rounded() + 0.5 + frac.storage[i] }
        var outside = 0
        for b in 0..<2 { for i in 0..<5 { for j in 0..<6 {
            let dx = d.storage[(b * 2) * 30 + i * 6 + j], dy = d.storage[(b * 2 + 1) * 30 + i * 6 + j]
            let (px, py) = (Float(j) + dx, Float(i) + dy)
            if px < 0 || py < 0 || px > 5 || py > 4 { outside += 1 }
        } } }
        #expect(outside > 10 && outside < 50, "\(outside) of 60 samples reach outside the map")
        expectPasses(GradientCheck([x, d], h: 1e-3) { v in v[0].sampled(atOffsets: v[1]) }, "sampled")
    }

    @Test("positional encoding at p + d: offsets")
    func sampledPositionalEncoding() {
        let d = randomTensor([2, 2, 3, 4], seed: 32, scale: 2), g = randomTensor([2, 4], seed: 33)
        expectPasses(GradientCheck([d], h: 1e-3) { v in Variable.sampledPositionalEncoding(offsets: v[0], gaussian: g) },
                     "sampledPositionalEncoding")
    }

    @Test("route mix: deformed, regular (own and shared) and route")
    func mix() {
        let d = randomTensor([2, 3, 4], seed: 34), r = randomTensor([2, 3, 4], seed: 35), shared = randomTensor([1, 3, 4], seed: 36)
        let a = randomTensor([2, 2], seed: 37)
        expectPasses(GradientCheck([d, r, a]) { v in Variable.mix(v[0], v[1], route: v[2]) }, "mix")
        expectPasses(GradientCheck([d, shared, a]) { v in Variable.mix(v[0], v[1], route: v[2]) }, "mix shared")
    }

    @Test("add (also broadcast), scale, sum and the layout ops")
    func arithmeticAndLayout() {
        let x = randomTensor([2, 3, 4], seed: 38), y = randomTensor([2, 3, 4], seed: 39), row = randomTensor([4], seed: 40)
        expectPasses(GradientCheck([x, y]) { v in v[0] + v[1] }, "add")
        expectPasses(GradientCheck([x, row]) { v in v[0] + v[1] }, "add broadcast")
        expectPasses(GradientCheck([x]) { v in v[0].scaled(by: -2.5) }, "scale")
        expectPasses(GradientCheck([x, y]) { v in Variable.sum([v[0], v[1], v[0]]) }, "sum")
        expectPasses(GradientCheck([x]) { v in v[0].permuted([2, 0, 1]).reshaped([4, 6]) }, "permute + reshape")
        expectPasses(GradientCheck([x]) { v in v[0].slice(axis: 1, 1..<3) }, "slice")
        expectPasses(GradientCheck([x, y]) { v in Variable.concatenate([v[0], v[1].slice(axis: 2, 0..<2)], axis: 2) }, "concatenate")
    }

    @Test("BCE with logits and Dice loss: logits")
    func losses() {
        let logits = randomTensor([2, 1, 4, 4], seed: 41, scale: 3)
        let t = Tensor(shape: [2, 1, 4, 4], storage: randomTensor([32], seed: 42).storage.map { $0 > 0 ? 1 : 0 })
        expectPasses(GradientCheck([logits]) { v in Variable.binaryCrossEntropyWithLogits(v[0], target: t) }, "bce")
        expectPasses(GradientCheck([logits]) { v in Variable.diceLoss(v[0], target: t) }, "dice")
    }

    @Test("a constant input gets no gradient and an all-constant op records no pullback")
    func frozenInputs() {
        let w = Variable(randomTensor([3, 2], seed: 43))
        let x = Variable(randomTensor([4, 2], seed: 44), requiresGrad: true)
        let y = x.linear(w).relu()
        y.backward(seed: Tensor(repeating: 1, shape: y.shape))
        #expect(w.grad == nil && x.grad != nil)
        let constant = Variable(randomTensor([4, 2], seed: 45)).linear(w)
        #expect(!constant.requiresGrad && constant.isLeaf)
    }

    @Test("gradients of a value used twice add up, and accumulate across backward passes")
    func accumulation() {
        let x = Variable(Tensor(shape: [2], storage: [1, 2]), requiresGrad: true)
        (x + x).backward(seed: Tensor(shape: [2], storage: [1, 1]))
        #expect(x.grad?.storage == [2, 2])
        x.scaled(by: 3).backward(seed: Tensor(shape: [2], storage: [1, 1]))
        #expect(x.grad?.storage == [5, 5])
        x.zeroGrad()
        #expect(x.grad == nil)
    }
}
