// Port of mobile_sam/modeling/tiny_vit_sam.py: Attention, Mlp, TinyViTBlock
import NN
import Tensor

extension TinyViT {
    /// `Attention` over the tokens of one window, with a learned bias per head and (|dy|, |dx|) offset.
    /// The LayerNorm is inside, so the zero tokens that pad a partial window are normalised too
    /// (to the norm's bias) and take part as keys, as in the reference.
    public final class Attention: Layer {
        public let numHeads: Int, keyDim: Int, d: Int
        public let norm: LayerNorm
        public let qkv: Linear                  // qkv.weight [heads * (2 keyDim + d), dim], per head [q | k | v]
        public let proj: Linear                 // proj.weight [dim, heads * d]
        public var attentionBiases: Tensor      // attention_biases [heads, window²]
        /// `attention_bias_idxs` [N, N] (N = window²): a non-persistent buffer, absent from checkpoints,
        /// so it is rebuilt here. The reference numbers offsets in order of first appearance while both
        /// points run over the window row by row; from point (0, 0) every offset appears, in row-major
        /// order, so the index of (|dy|, |dx|) is |dy|·window + |dx|.
        public let attentionBiasIdxs: [Int32]
        public let resolution: Int

        init(dim: Int, keyDim: Int, numHeads: Int, attnRatio: Int = 1, resolution: Int) {
            self.numHeads = numHeads
            self.keyDim = keyDim
            d = attnRatio * keyDim
            self.resolution = resolution
            norm = LayerNorm(dim)
            qkv = Linear(dim, numHeads * (2 * keyDim + d))
            proj = Linear(numHeads * d, dim)
            attentionBiases = Tensor(zeros: [numHeads, resolution * resolution])
            let points = (0..<resolution).flatMap { y in (0..<resolution).map { x in (y, x) } }
            attentionBiasIdxs = points.flatMap { p in points.map { q in Int32(abs(p.0 - q.0) * resolution + abs(p.1 - q.1)) } }
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.param("attention_biases", &attentionBiases)
            try walk.module("norm", norm)
            try walk.module("qkv", qkv)
            try walk.module("proj", proj)
        }

        /// x: [B, N, C] (B windows of N = window² tokens) -> [B, N, C]
        public func callAsFunction(_ x: Tensor) -> Tensor {
            let (b, n) = (x.shape[0], x.shape[1])
            precondition(n == resolution * resolution, "attention over \(n) tokens, built for \(resolution)x\(resolution)")
            let qkvOut = qkv(norm(x))                     // [B, N, heads * (2 kd + d)]
            let headWidth = 2 * keyDim + d, row = numHeads * headWidth, outRow = numHeads * d
            let scale = 1 / Float(keyDim).squareRoot()
            // ab[h, i, j] = attention_biases[h, idxs[i, j]]: the same for every window, so built once per call.
            var ab = [Float](repeating: 0, count: numHeads * n * n)
            for h in 0..<numHeads {
                for i in 0..<(n * n) { ab[h * n * n + i] = attentionBiases.storage[h * n + Int(attentionBiasIdxs[i])] }
            }
            var out = Tensor(zeros: [b, n, outRow])
            qkvOut.withUnsafeBufferPointer { all in
                out.withUnsafeMutableBufferPointer { o in
                    ab.withUnsafeBufferPointer { biases in
                        let src = SendableConstPointer(all.baseAddress!), dst = SendablePointer(o.baseAddress!)
                        let bias = SendableConstPointer(biases.baseAddress!)
                        let heads = numHeads, kd = keyDim, dv = d
                        BLAS.independentProblems(b * heads, scratch: n * n) { i, scores in
                            let (w, h) = (i / heads, i % heads)
                            // q, k, v of this head are column blocks of the qkv rows: no permute needed.
                            let q = src.pointer + w * n * row + h * headWidth
                            let k = q + kd, v = q + 2 * kd
                            scores.update(from: bias.pointer + h * n * n, count: n * n)
                            BLAS.sgemm(transB: true, m: n, n: n, k: kd, alpha: scale, a: q, lda: row, b: k, ldb: row,
                                       beta: 1, c: scores, ldc: n, serial: true)
                            Tensor.softmaxRowsSerial(scores, rows: n, columns: n)
                            BLAS.sgemm(m: n, n: dv, k: n, a: scores, lda: n, b: v, ldb: row,
                                       c: dst.pointer + w * n * outRow + h * dv, ldc: outRow, serial: true)
                        }
                    }
                }
            }
            return proj(out)
        }
    }

    /// `Mlp`: LayerNorm, fc1, GELU, fc2.
    public final class Mlp: Layer {
        public let norm: LayerNorm, fc1: Linear, fc2: Linear

        init(inFeatures: Int, hiddenFeatures: Int) {
            norm = LayerNorm(inFeatures)
            fc1 = Linear(inFeatures, hiddenFeatures)
            fc2 = Linear(hiddenFeatures, inFeatures)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.module("norm", norm)
            try walk.module("fc1", fc1)
            try walk.module("fc2", fc2)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(norm(x), gelu: true)) }
    }

    /// `TinyViTBlock`: windowed attention (zero-padded to whole windows), a depthwise `local_conv`, an MLP.
    public final class TinyViTBlock: Layer {
        public let attn: Attention
        public let mlp: Mlp
        public let localConv: Conv2d_BN
        let resolution: Int, windowSize: Int

        init(dim: Int, resolution: Int, numHeads: Int, windowSize: Int, mlpRatio: Float, localConvSize: Int) {
            precondition(windowSize > 0 && dim % numHeads == 0, "TinyViTBlock: dim \(dim), heads \(numHeads), window \(windowSize)")
            self.resolution = resolution
            self.windowSize = windowSize
            attn = Attention(dim: dim, keyDim: dim / numHeads, numHeads: numHeads, resolution: windowSize)
            mlp = Mlp(inFeatures: dim, hiddenFeatures: Int(Float(dim) * mlpRatio))
            localConv = Conv2d_BN(dim, dim, ks: localConvSize, stride: 1, pad: localConvSize / 2, groups: dim)
        }

        public func visit(_ walk: ParameterWalk) throws {
            try walk.module("attn", attn)
            try walk.module("mlp", mlp)
            try walk.module("local_conv", localConv)
        }

        /// x: tokens [B, r*r, C] -> [B, r*r, C]
        public func callAsFunction(_ x: Tensor) -> Tensor {
            let (b, l, c) = (x.shape[0], x.shape[1], x.shape[2]), r = resolution, ws = windowSize
            precondition(l == r * r, "TinyViTBlock built for \(r)x\(r) tokens, got \(x.shape)")
            let a: Tensor
            if r == ws {
                a = attn(x)
            } else {
                let (windows, padded) = windowPartition(x.reshaped([b, r, r, c]), ws)
                let y = attn(windows.reshaped([-1, ws * ws, c])).reshaped([-1, ws, ws, c])
                a = windowUnpartition(y, ws, padded: padded, original: (r, r)).reshaped([b, l, c])
            }
            let h = x + a
            let local = localConv(tokensToImage(h, r))
            let y = local.reshaped([b, c, l]).permuted([0, 2, 1])
            return y + mlp(y)
        }
    }
}
