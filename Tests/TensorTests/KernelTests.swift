import Foundation
import CKernels
import Testing
import NN
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

    @Test("depthwise conv in every build: vector interior, checked border, stride 2, fused GELU",
          arguments: VectorisedKernelTests.builds, [(3, 1, 1), (5, 1, 2), (3, 2, 1), (7, 1, 3)])
    func depthwise(isa: Int32, shape: (k: Int, stride: Int, pad: Int)) {
        // 45 columns: two 16-lane vectors, a remainder and the borders.
        let (c, h, w) = (3, 9, 45)
        let x = randomTensor([1, c, h, w], seed: 21), wt = randomTensor([c, 1, shape.k, shape.k], seed: 22)
        let b = randomTensor([c], seed: 23)
        let reference = NaiveKernels.conv2d(x, wt, b, stride: shape.stride, padding: shape.pad, groups: c)
        let (oh, ow) = (reference.shape[2], reference.shape[3])
        for gelu in [false, true] {
            var out = [Float](repeating: .nan, count: c * oh * ow)
            out.withUnsafeMutableBufferPointer { o in
                for ch in 0..<c {
                    ck_depthwise_plane_at(isa, Array(x.storage[(ch * h * w)...]), h, w,
                                          Array(wt.storage[(ch * shape.k * shape.k)...]), shape.k, shape.k, shape.stride,
                                          shape.pad, b.storage[ch], o.baseAddress! + ch * oh * ow, oh, ow, gelu ? 1 : 0)
                }
            }
            let expected = gelu ? reference.storage.map { v -> Float in
                let d = Double(v)
                return Float(0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())))
            } : reference.storage
            let r = compare(out, expected, atol: 1e-5, rtol: 1e-5)
            #expect(r.passed, "gelu \(gelu): \(r)")
        }
        // Tensor.conv2d takes the same path (groups == channels).
        let viaTensor = x.conv2d(wt, b, stride: shape.stride, padding: shape.pad, groups: c)
        #expect(compare(viaTensor, reference, atol: 1e-5, rtol: 1e-5).passed)
    }

    /// Sizes past the 64k-element split, so the parallel chunks and their broadcast offsets run.
    @Test("+, - and * element-wise and broadcast, on both sides of the parallel split",
          arguments: [([3, 5], [5]), ([300, 700], [300, 700]), ([3, 256, 100], [256, 100]), ([70000], [1])])
    func arithmetic(shape: [Int], otherShape: [Int]) {
        let a = randomTensor(shape, seed: 31), b = randomTensor(otherShape, seed: 32)
        let m = b.count
        for (name, result, f) in [("+", a + b, { (x: Float, y: Float) in x + y }),
                                  ("-", a - b, { (x: Float, y: Float) in x - y }),
                                  ("*", a * b, { (x: Float, y: Float) in x * y })] {
            let expected = (0..<a.count).map { f(a.storage[$0], b.storage[$0 % m]) }
            #expect(result.shape == shape)
            #expect(result.storage == expected, "\(name) on \(shape) with \(otherShape)")
        }
    }

    @Test("transposed conv 2x2 stride 2, with and without bias and fused GELU, batch of 2",
          arguments: [(false, false), (true, false), (true, true), (false, true)])
    func convTranspose(bias hasBias: Bool, gelu: Bool) {
        let x = randomTensor([2, 5, 9, 7], seed: 9), w = randomTensor([5, 3, 2, 2], seed: 10), b = randomTensor([3], seed: 11)
        var expected = NaiveKernels.convTranspose2d(x, w, hasBias ? b : nil, stride: 2)
        if gelu {
            expected = Tensor(shape: expected.shape, storage: expected.storage.map {
                Float(0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot())))
            })
        }
        let r = compare(x.convTranspose2d(w, hasBias ? b : nil, stride: 2, gelu: gelu), expected, atol: 1e-5, rtol: 1e-5)
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

    @Test("bilinear resize, up and down and to the same size, align_corners true and false", arguments: [(7, 9, false), (20, 3, false), (7, 9, true), (16, 16, true), (5, 6, false), (5, 6, true), (64, 300, false)])
    func bilinear(oh: Int, ow: Int, align: Bool) {
        let x = randomTensor([1, 2, 5, 6], seed: 16)
        let r = compare(x.bilinearResized(height: oh, width: ow, alignCorners: align),
                        NaiveKernels.bilinear(x, height: oh, width: ow, alignCorners: align), atol: 1e-5, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }

    @Test("a resize that keeps the top-left part equals the full resize cropped")
    func bilinearKeep() {
        let x = randomTensor([1, 2, 5, 6], seed: 19)
        let full = x.bilinearResized(height: 20, width: 24, alignCorners: false)
        let cropped = full.slice(axis: 2, 0..<13).slice(axis: 3, 0..<17)
        #expect(x.bilinearResized(height: 20, width: 24, alignCorners: false, keep: (13, 17)) == cropped)
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

    /// Group swaps take the blocked-transpose path: sizes off the 16x16 blocks and the 64-row strips.
    @Test("permutes with merged dimension runs and group swaps match index arithmetic",
          arguments: [([2, 37, 5, 7], [0, 2, 3, 1]), ([2, 5, 7, 37], [0, 3, 1, 2]), ([70, 33], [1, 0]),
                      ([1, 256, 64, 64], [0, 2, 3, 1]), ([3, 16, 32], [0, 2, 1]),
                      // Window partition / unpartition and a head split: runs of dimensions merge first.
                      ([2, 3, 4, 5, 6, 7], [0, 1, 3, 2, 4, 5]), ([2, 5, 3, 2, 7], [2, 0, 3, 1, 4]),
                      ([4, 6, 3, 5], [1, 0, 2, 3])])
    func permuteGroups(shape: [Int], order: [Int]) {
        let x = randomTensor(shape, seed: 19)
        let p = x.permuted(order)
        #expect(p.shape == order.map { shape[$0] })
        var inStrides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        var mismatches = 0
        for flat in 0..<p.count {
            var rest = flat, source = 0
            for d in stride(from: shape.count - 1, through: 0, by: -1) {
                let i = rest % p.shape[d]
                rest /= p.shape[d]
                source += i * inStrides[order[d]]
            }
            if p.storage[flat] != x.storage[source] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}

@Suite("Vectorised softmax, GELU and LayerNorm agree with libm, in every build (portable, AVX2, AVX-512)")
struct VectorisedKernelTests {
    /// Every build this CPU can run; `ck_*_at` clamps to it, so higher levels would repeat a lower one.
    static let builds: [Int32] = Array(0...ck_isa())

    @Test("softmax matches a Double reference over a wide range of logits, any row length",
          arguments: builds, [1, 7, 8, 23, 196, 4096])
    func softmax(isa: Int32, columns: Int) {
        let x = randomTensor([3, columns], seed: UInt64(columns), scale: 40)
        var s = x.storage
        ck_softmax_rows_at(isa, &s, 3, columns)
        var worst = 0.0
        for r in 0..<3 {
            let row = (0..<columns).map { Double(x.storage[r * columns + $0]) }
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            for j in 0..<columns { worst = max(worst, abs(Double(s[r * columns + j]) - e[j] / total)) }
        }
        #expect(worst < 1e-6, "max absolute error \(worst)")
    }

    @Test("Tensor.softmax runs the same kernel")
    func tensorSoftmax() {
        let x = randomTensor([5, 37], seed: 9, scale: 10)
        var s = x.storage
        ck_softmax_rows_at(ck_isa(), &s, 5, 37)
        #expect(x.softmax().storage == s)
    }

    @Test("GELU is 0.5·x·(1 + erf(x/√2)) to within 1e-6 on [-10, 10], tails included", arguments: builds)
    func gelu(isa: Int32) {
        // 2003 values: not a multiple of any vector width, so the tail path runs too.
        let xs = (0..<2003).map { -10 + Float($0) * 0.01 }
        var g = xs
        ck_gelu_at(isa, &g, g.count)
        var worst = 0.0
        for (i, x) in xs.enumerated() {
            let ref = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(g[i]) - ref))
        }
        #expect(worst < 1e-6, "max absolute error \(worst)")
    }

    @Test("LayerNorm rows match a Double reference", arguments: builds, [5, 64, 100])
    func layerNorm(isa: Int32, columns: Int) {
        let x = randomTensor([4, columns], seed: UInt64(columns) + 11, scale: 3)
        let w = randomTensor([columns], seed: 12), b = randomTensor([columns], seed: 13)
        var y = [Float](repeating: 0, count: x.count)
        ck_layernorm_rows_at(isa, x.storage, &y, w.storage, b.storage, 4, columns, 1e-6)
        var worst = 0.0
        for r in 0..<4 {
            let row = (0..<columns).map { Double(x.storage[r * columns + $0]) }
            let mean = row.reduce(0, +) / Double(columns)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns)
            for j in 0..<columns {
                let ref = (row[j] - mean) / (variance + 1e-6).squareRoot() * Double(w.storage[j]) + Double(b.storage[j])
                worst = max(worst, abs(Double(y[r * columns + j]) - ref))
            }
        }
        #expect(worst < 1e-5, "max absolute error \(worst)")
    }
}

@Suite("grid sampling matches PyTorch")
struct GridSampleTests {
    /// Fixture: Scripts/make_plugin_fixtures.py (`F.grid_sample`, bilinear, zeros, grid in [-1.3, 1.3]).
    @Test("bilinear grid_sample with zero padding, align_corners true and false", arguments: [true, false])
    func gridSample(alignCorners: Bool) throws {
        let file = try SafetensorsFile(url: Fixtures.url("grid_sample_cases.safetensors"))
        let out = try file.tensor(named: "input").gridSampled(try file.tensor(named: "grid"), alignCorners: alignCorners)
        let r = compare(out, try file.tensor(named: "output.align_corners_\(alignCorners)"), atol: 1e-5, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }

    @Test("sampling at integer pixel locations returns the pixels exactly")
    func integerLocationsAreExact() {
        let x = randomTensor([1, 3, 4, 5], seed: 11)
        var loc = Tensor(zeros: [1, 4, 5, 2])
        for i in 0..<4 { for j in 0..<5 { loc.storage[2 * (i * 5 + j)] = Float(j); loc.storage[2 * (i * 5 + j) + 1] = Float(i) } }
        #expect(x.bilinearSampled(atPixels: loc) == x)
    }
}

@Suite("The autograd backward kernels match their naive references")
struct BackwardKernelTests {
    @Test("depthwise conv backward: dInput and dWeight, 5x5 pad 2 (DSP), 3x3 pad 1, 3x3 unpadded, two images",
          arguments: [(5, 2), (3, 1), (3, 0)])
    func depthwiseBackward(k: Int, pad: Int) {
        let (n, c, h, w) = (2, 3, 7, 11)
        let x = randomTensor([n, c, h, w], seed: 31), wt = randomTensor([c, 1, k, k], seed: 32)
        let (oh, ow) = (h + 2 * pad - k + 1, w + 2 * pad - k + 1)
        let g = randomTensor([n, c, oh, ow], seed: 33)
        let expected = NaiveKernels.depthwiseConv2dBackward(x, grad: g, weight: wt, padding: pad)
        let both = x.depthwiseConv2dBackward(grad: g, weight: wt, padding: pad, input: true, weight: true)
        let rx = compare(both.input!, expected.input, atol: 1e-5, rtol: 1e-5)
        let rw = compare(both.weight!, expected.weight, atol: 1e-5, rtol: 1e-5)
        #expect(rx.passed, "dInput: \(rx)")
        #expect(rw.passed, "dWeight: \(rw)")
        let weightOnly = x.depthwiseConv2dBackward(grad: g, weight: wt, padding: pad, input: false, weight: true)
        #expect(weightOnly.input == nil && weightOnly.weight!.storage == both.weight!.storage)
    }
}

extension BackwardKernelTests {
    @Test("LayerNorm backward over the last axis and over channels (LayerNorm2d) equals the direct loop bit for bit",
          arguments: [(12, 1), (5, 6)])
    func layerNormBackward(channels: Int, plane: Int) {
        let shape = plane == 1 ? [7, channels] : [2, channels, 2, 3]
        let x = randomTensor(shape, seed: 41), g = randomTensor(shape, seed: 42), w = randomTensor([channels], seed: 43)
        let expected = NaiveKernels.layerNormBackward(x, grad: g, weight: w, eps: 1e-6, channels: channels, plane: plane)
        let got = x.layerNormBackward(grad: g, weight: w, eps: 1e-6, channels: channels, plane: plane, input: true)
        #expect(got.input!.storage == expected.input.storage)
        #expect(got.weight.storage == expected.weight.storage && got.bias.storage == expected.bias.storage)
    }

    @Test("GELU backward (Φ from the forward's output) equals g·(Φ(x) + x·φ(x)) in double, x = 0 included, over several workers")
    func geluBackward() {
        let n = 20_000
        let x = Tensor(shape: [n], storage: (0..<n).map { Float($0 - n / 2) / 1500 })
        let g = randomTensor([n], seed: 44)
        let r = compare(x.geluBackward(grad: g, output: x.gelu()), NaiveKernels.geluBackward(x, grad: g), atol: 1e-6, rtol: 1e-5)
        #expect(r.passed, "\(r)")
    }
}

extension BackwardKernelTests {
    @Test("bilinear sampling backward at p + d, taps inside, on the border and outside the map, equals the direct loop bit for bit")
    func bilinearSampledBackward() {
        let (n, c, h, w) = (2, 3, 5, 6)
        let x = randomTensor([n, c, h, w], seed: 51), g = randomTensor([n, c, h, w], seed: 52)
        let offsets = randomTensor([n, 2, h, w], seed: 53) * 4   // up to 4 cells: many taps fall off the map
        let loc = Tensor.samplingLocations(offsets: offsets)
        let expected = NaiveKernels.bilinearSampledBackward(x, grad: g, locations: loc)
        let got = x.bilinearSampledBackward(grad: g, locations: loc, input: true, locations: true)
        #expect(got.input!.storage == expected.input.storage)
        #expect(got.locations!.storage == expected.locations.storage)
        let onlyOffsets = x.bilinearSampledBackward(grad: g, locations: loc, input: false, locations: true)
        #expect(onlyOffsets.input == nil && onlyOffsets.locations!.storage == expected.locations.storage)
    }
}
