import NN
import Tensor
import Testing
import TestSupport

@Suite("Linear keeps its packed weight in step with its weight")
struct LinearTests {
    /// x @ Wᵀ + b in Double.
    func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> [Float] {
        let (rows, inF, outF) = (x.count / w.shape[1], w.shape[1], w.shape[0])
        return (0..<(rows * outF)).map { i in
            let (r, o) = (i / outF, i % outF)
            var s = Double(b.storage[o])
            for k in 0..<inF { s += Double(x.storage[r * inF + k]) * Double(w.storage[o * inF + k]) }
            return Float(s)
        }
    }

    @Test("results follow a replaced weight, split across workers and on one thread")
    func replacedWeight() {
        let layer = Linear(70, 45)
        layer.weight = randomTensor([45, 70], seed: 1)
        layer.bias = randomTensor([45], seed: 2)
        // 300 rows: a product large enough to be split across workers; 5 rows: one thread.
        for rows in [300, 5] {
            let x = randomTensor([rows, 70], seed: UInt64(rows))
            let first = layer(x)   // packs the weight on first use
            #expect(compare(first.storage, reference(x, layer.weight, layer.bias!), atol: 1e-4, rtol: 1e-4).passed)
            layer.weight = randomTensor([45, 70], seed: 3 + UInt64(rows))
            let second = layer(x)
            #expect(compare(second.storage, reference(x, layer.weight, layer.bias!), atol: 1e-4, rtol: 1e-4).passed,
                    "the packed copy of the old weight was used")
        }
    }

    @Test("a weight loaded from a checkpoint replaces the packed one")
    func loadedWeight() throws {
        let layer = Linear(8, 4)
        let x = randomTensor([3, 8], seed: 9)
        _ = layer(x)
        let w = randomTensor([4, 8], seed: 10), b = randomTensor([4], seed: 11)
        try StateDict(tensors: ["weight": w, "bias": b]).load(into: layer)
        #expect(compare(layer(x).storage, reference(x, w, b), atol: 1e-5, rtol: 1e-5).passed)
    }
}
