// The convolutions of SAM's decoder and Stable-SAM's DSP, forward on the inference kernels:
// pointwise (1x1) and depthwise 2-D convolutions, and the non-overlapping transposed convolution
// of the output upscaling.
import Tensor

extension Variable {
    /// `nn.Conv2d` on `[N, C, H, W]`, weight `[O, C/groups, k, k]`, stride 1: either pointwise
    /// (k = 1, groups 1, no padding) or depthwise (groups = C = O, zero padding `padding`).
    public func conv2d(_ weight: Variable, _ bias: Variable?, padding: Int = 0, groups: Int = 1) -> Variable {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let pointwise = groups == 1 && kh == 1 && kw == 1 && padding == 0
        let depthwise = groups == c && o == c && weight.shape[1] == 1
        precondition(pointwise || depthwise, "conv2d: only pointwise or depthwise, got input \(shape) weight \(weight.shape) groups \(groups)")
        let x = value, wt = weight.value
        let out = x.conv2d(wt, bias?.value, padding: padding, groups: groups)
        let parents = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.result(out, "conv2d", parents) { g in
            var dx = self.requiresGrad ? Tensor(zeros: x.shape) : nil
            var dw = weight.requiresGrad ? Tensor(zeros: wt.shape) : nil
            let plane = h * w
            if pointwise {
                // Per image: y [O, P] = W [O, C] x [C, P]; dx = Wᵀ g, dW = Σ g xᵀ.
                for b in 0..<n {
                    if dx != nil {
                        gemm(transA: true, m: c, n: plane, k: o, wt, lda: c, g, b * o * plane, ldb: plane,
                             into: &dx!, b * c * plane, ldc: plane)
                    }
                    if dw != nil {
                        gemm(transB: true, m: o, n: c, k: plane, g, b * o * plane, lda: plane, x, b * c * plane, ldb: plane,
                             beta: b > 0 ? 1 : 0, into: &dw!, ldc: c)
                    }
                }
            } else {
                // out[c, oy, ox] = bias + Σ w[c, ky, kx] x[c, oy - p + ky, ox - p + kx], backward in C.
                (dx, dw) = x.depthwiseConv2dBackward(grad: g, weight: wt, padding: padding, input: dx != nil, weight: dw != nil)
            }
            var db: Tensor?
            if let bias, bias.requiresGrad { db = Variable.channelSums(g, channels: o) }
            return [dx, dw] + (bias == nil ? [] : [db])
        }
    }

    /// `nn.ConvTranspose2d` with kernel == stride, no padding (SAM's 2x2/2 upscaling): weight
    /// `[I, O, k, k]`. Output pixel (y·k + ky, x·k + kx) of channel o is `bias[o] + Σ_i w[i, o, ky, kx] x[i, y, x]`,
    /// so with G `[O·k·k, H·W]` the gradient regathered per tap: dx = W G, dW = x Gᵀ.
    public func convTranspose2d(_ weight: Variable, _ bias: Variable?) -> Variable {
        let (n, ci, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (co, k) = (weight.shape[1], weight.shape[2])
        precondition(weight.shape[0] == ci && weight.shape[3] == k, "convTranspose2d: input \(shape) weight \(weight.shape)")
        let x = value, wt = weight.value
        let parents = [self, weight] + (bias.map { [$0] } ?? [])
        return Variable.result(x.convTranspose2d(wt, bias?.value, stride: k), "convTranspose2d", parents) { g in
            let plane = h * w, taps = k * k, rows = co * taps, ow = w * k
            var dx = self.requiresGrad ? Tensor(zeros: x.shape) : nil
            var dw = weight.requiresGrad ? Tensor(zeros: wt.shape) : nil
            var gathered = Tensor(zeros: [rows, plane])
            for b in 0..<n {
                let gb = b * co * plane * taps
                for o in 0..<co {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let row = (o * taps + ky * k + kx) * plane
                            for y in 0..<h {
                                for xx in 0..<w {
                                    gathered.storage[row + y * w + xx] = g.storage[gb + o * plane * taps + (y * k + ky) * ow + xx * k + kx]
                                }
                            }
                        }
                    }
                }
                if dx != nil {
                    gemm(m: ci, n: plane, k: rows, wt, lda: rows, gathered, ldb: plane, into: &dx!, b * ci * plane, ldc: plane)
                }
                if dw != nil {
                    gemm(transB: true, m: ci, n: rows, k: plane, x, b * ci * plane, lda: plane, gathered, ldb: plane,
                         beta: b > 0 ? 1 : 0, into: &dw!, ldc: rows)
                }
            }
            var db: Tensor?
            if let bias, bias.requiresGrad { db = Variable.channelSums(g, channels: co) }
            return [dx, dw] + (bias == nil ? [] : [db])
        }
    }

    /// Σ over batch and pixels of each channel of `[N, C, ...]` -> `[C]` (a channel bias's gradient).
    static func channelSums(_ g: Tensor, channels c: Int) -> Tensor {
        let n = g.shape[0], plane = g.count / (n * c)
        var out = Tensor(zeros: [c])
        for b in 0..<n {
            for ch in 0..<c {
                var s: Float = 0
                let base = (b * c + ch) * plane
                for i in 0..<plane { s += g.storage[base + i] }
                out.storage[ch] += s
            }
        }
        return out
    }
}
