import Foundation
import Testing
import Tensor
import TestSupport

@Suite("Kernels match their naive references")
struct KernelTests {
    @Test("linear equals x @ Wᵀ + b")
    func linear() {
        let x = randomTensor([5, 7], seed: 1), w = randomTensor([3, 7], seed: 2), b = randomTensor([3], seed: 3)
        let wt = w.permuted([1, 0])
        var expected = NaiveKernels.matmul(x.storage, wt.storage, m: 5, n: 3, k: 7)
        for i in 0..<15 { expected[i] += b.storage[i % 3] }
        let r = compare(x.linear(w, b).storage, expected, atol: 1e-5, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }

    @Test("batched matmul, with and without the transposed operand")
    func batchedMatmul() {
        let a = randomTensor([2, 4, 6], seed: 4), b = randomTensor([2, 6, 5], seed: 5)
        let out = a.matmul(b)
        let outT = a.matmul(b.permuted([0, 2, 1]), transposeOther: true)
        for i in 0..<2 {
            let e = NaiveKernels.matmul(Array(a.storage[(i * 24)..<((i + 1) * 24)]), Array(b.storage[(i * 30)..<((i + 1) * 30)]), m: 4, n: 5, k: 6)
            #expect(compare(Array(out.storage[(i * 20)..<((i + 1) * 20)]), e, atol: 1e-5, rtol: 1e-5).passed)
            #expect(compare(Array(outT.storage[(i * 20)..<((i + 1) * 20)]), e, atol: 1e-5, rtol: 1e-5).passed)
        }
    }

    @Test("conv2d: patch embedding, 3x3 padded, 1x1, depthwise 5x5 and grouped",
          arguments: [(3, 8, 4, 4, 0, 1), (4, 6, 3, 1, 1, 1), (6, 5, 1, 1, 0, 1), (6, 6, 5, 1, 2, 6), (4, 6, 3, 2, 1, 2)])
    func conv2d(cin: Int, cout: Int, k: Int, stride: Int, pad: Int, groups: Int) {
        let x = randomTensor([2, cin, 13, 11], seed: 6)
        let w = randomTensor([cout, cin / groups, k, k], seed: 7), b = randomTensor([cout], seed: 8)
        let r = compare(x.conv2d(w, b, stride: stride, padding: pad, groups: groups),
                        NaiveKernels.conv2d(x, w, b, stride: stride, padding: pad, groups: groups), atol: 1e-4, rtol: 1e-4)
        #expect(r.passed, "\(r)")
    }

    @Test("transposed conv 2x2 stride 2")
    func convTranspose() {
        let x = randomTensor([1, 5, 4, 3], seed: 9), w = randomTensor([5, 3, 2, 2], seed: 10), b = randomTensor([3], seed: 11)
        let r = compare(x.convTranspose2d(w, b, stride: 2), NaiveKernels.convTranspose2d(x, w, b, stride: 2), atol: 1e-5, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }

    @Test("layer norm over the last dimension and LayerNorm2d over channels")
    func layerNorms() {
        let x = randomTensor([3, 4, 10], seed: 12, scale: 3), w = randomTensor([10], seed: 13), b = randomTensor([10], seed: 14)
        #expect(compare(x.layerNorm(weight: w, bias: b, eps: 1e-6), NaiveKernels.layerNorm(x, weight: w, bias: b, eps: 1e-6), atol: 1e-5, rtol: 1e-4).passed)
        let x2 = randomTensor([2, 10, 3, 5], seed: 15, scale: 3)
        let viaLast = NaiveKernels.layerNorm(x2.permuted([0, 2, 3, 1]), weight: w, bias: b, eps: 1e-6).permuted([0, 3, 1, 2])
        #expect(compare(x2.layerNorm2d(weight: w, bias: b, eps: 1e-6), viaLast, atol: 1e-5, rtol: 1e-4).passed)
    }

    @Test("bilinear resize, up and down, align_corners true and false", arguments: [(7, 9, false), (20, 3, false), (7, 9, true), (16, 16, true)])
    func bilinear(oh: Int, ow: Int, align: Bool) {
        let x = randomTensor([1, 2, 5, 6], seed: 16)
        let r = compare(x.bilinearResized(height: oh, width: ow, alignCorners: align),
                        NaiveKernels.bilinear(x, height: oh, width: ow, alignCorners: align), atol: 1e-5, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }

    @Test("softmax rows sum to one and keep order; GELU is the erf form")
    func softmaxAndGelu() {
        let x = randomTensor([4, 9], seed: 17, scale: 20)
        let s = x.softmax()
        for r in 0..<4 {
            let row = Array(s.storage[(r * 9)..<((r + 1) * 9)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            let xr = Array(x.storage[(r * 9)..<((r + 1) * 9)])
            #expect(row.firstIndex(of: row.max()!) == xr.firstIndex(of: xr.max()!))
        }
        // Hand values of 0.5·x·(1 + erf(x/√2)).
        let g = Tensor(shape: [3], storage: [-1, 0, 2]).gelu()
        #expect(compare(g.storage, [-0.15865525, 0, 1.9544997], atol: 1e-6, rtol: 1e-6).passed)
    }

    @Test("permute matches index arithmetic")
    func permute() {
        let x = randomTensor([2, 3, 4, 5], seed: 18)
        let p = x.permuted([2, 0, 3, 1])
        #expect(p.shape == [4, 2, 5, 3])
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 {
            #expect(p.storage[((c * 2 + a) * 5 + d) * 3 + b] == x.storage[((a * 3 + b) * 4 + c) * 5 + d])
        } } } }
    }
}

@Suite("Vectorised exp and erf agree with libm")
struct VectorMathTests {
    @Test("exp: relative error below 1e-6 on [-80, 80], exact zero below underflow")
    func exp() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let v = VectorMath.exp(VectorMath.V((0..<16).map { x + Float($0) * 0.0123 }))
            for j in 0..<16 {
                let ref = Foundation.exp(Double(x + Float(j) * 0.0123))
                worst = max(worst, Float(abs(Double(v[j]) - ref) / ref))
            }
            x += 0.37
        }
        #expect(worst < 1e-6, "max relative error \(worst)")
        #expect(VectorMath.exp(VectorMath.V(repeating: -200))[0] == 0)
    }

    @Test("erf: absolute error below 5e-7 on [-6, 6], odd symmetry")
    func erf() {
        var worst: Double = 0
        var x: Float = -6
        while x < 6 {
            let v = VectorMath.erf(VectorMath.V((0..<16).map { x + Float($0) * 0.0071 }))
            for j in 0..<16 { worst = max(worst, abs(Double(v[j]) - Foundation.erf(Double(x + Float(j) * 0.0071)))) }
            x += 0.113
        }
        #expect(worst < 5e-7, "max absolute error \(worst)")
        #expect(VectorMath.erf(VectorMath.V(repeating: 0.7))[3] == -VectorMath.erf(VectorMath.V(repeating: -0.7))[3])
    }
}
