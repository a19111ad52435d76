internal import CKernels
/// Convolutions with PyTorch semantics on `[N, C, H, W]`, weights `[O, I/groups, kH, kW]`.
/// Dense convolutions are im2col + GEMM (1x1 stride-1 skips im2col); depthwise runs direct.
extension Tensor {
    /// `gelu` applies exact GELU to the result in the same pass.
    public func conv2d(_ weight: Tensor, _ bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                       gelu: Bool = false) -> Tensor {
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, cinG, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(cinG * groups == cin && cout % groups == 0, "conv2d: input \(shape) weight \(weight.shape) groups \(groups)")
        let oh = (h + 2 * padding - kh) / stride + 1, ow = (w + 2 * padding - kw) / stride + 1
        if groups == cin && cinG == 1 && cout == cin {
            return depthwiseConv2d(weight, bias, stride: stride, padding: padding, oh: oh, ow: ow, gelu: gelu)
        }
        precondition(bias == nil || bias!.count == cout, "conv2d: bias \(bias!.shape) for \(cout) channels")
        let coutG = cout / groups, kdim = cinG * kh * kw, plane = oh * ow
        return Tensor(shape: [n, cout, oh, ow]) { o in
            let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
            var cols = [Float](repeating: 0, count: direct ? 0 : kdim * plane)
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { wt in
                    for b in 0..<n {
                        for g in 0..<groups {
                            let src = x.baseAddress! + (b * cin + g * cinG) * h * w
                            let dst = o.baseAddress! + (b * cout + g * coutG) * plane
                            let wg = wt.baseAddress! + g * coutG * kdim
                            Tensor.withOptionalPointer(bias) { bp in
                                let epilogue = GemmEpilogue(rowBias: bp.map { $0 + g * coutG }, gelu: gelu)
                                if direct {
                                    BLAS.sgemm(m: coutG, n: plane, k: kdim, a: wg, lda: kdim, b: src, ldb: plane,
                                               c: dst, ldc: plane, epilogue: epilogue)
                                } else {
                                    cols.withUnsafeMutableBufferPointer { cb in
                                        Tensor.im2col(src, channels: cinG, h: h, w: w, kh: kh, kw: kw, stride: stride,
                                                      padding: padding, oh: oh, ow: ow, into: cb.baseAddress!)
                                        BLAS.sgemm(m: coutG, n: plane, k: kdim, a: wg, lda: kdim, b: cb.baseAddress!,
                                                   ldb: plane, c: dst, ldc: plane, epilogue: epilogue)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Lays out every receptive field as a column: `[C * kH * kW, oH * oW]`, zeros outside.
    static func im2col(_ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int,
                       padding: Int, oh: Int, ow: Int, into cols: UnsafeMutablePointer<Float>) {
        let s = SendableConstPointer(src), d = SendablePointer(cols)
        Parallel.forEach(channels * kh * kw, grain: 4) { rows in
            for row in rows {
                let c = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
                let out = d.pointer + row * oh * ow, plane = s.pointer + c * h * w
                // Output columns whose input column ox·stride − padding + kx is inside the row:
                // the loop over them has no bounds test; the rest are zero padding.
                let lo = min(ow, max(0, (padding - kx + stride - 1) / stride))
                let hi = max(lo, min(ow, w - 1 + padding - kx >= 0 ? (w - 1 + padding - kx) / stride + 1 : 0))
                for oy in 0..<oh {
                    let iy = oy * stride - padding + ky
                    let line = out + oy * ow
                    if iy < 0 || iy >= h { line.update(repeating: 0, count: ow); continue }
                    line.update(repeating: 0, count: lo)
                    let from = plane + iy * w - padding + kx
                    if stride == 1 {
                        (line + lo).update(from: from + lo, count: hi - lo)
                    } else {
                        for ox in lo..<hi { line[ox] = from[ox * stride] }
                    }
                    (line + hi).update(repeating: 0, count: ow - hi)
                }
            }
        }
    }

    /// One plane per job, in C (`ck_depthwise_plane`): each output sums bias, then taps in (ky, kx)
    /// order, as a direct loop would; GELU on the finished row.
    func depthwiseConv2d(_ weight: Tensor, _ bias: Tensor?, stride: Int, padding: Int, oh: Int, ow: Int,
                         gelu: Bool) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        return Tensor(shape: [n, c, oh, ow]) { o in
            let op = SendablePointer(o.baseAddress!)
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { wt in
                    let xp = SendableConstPointer(x.baseAddress!), wp = SendableConstPointer(wt.baseAddress!)
                    let bias = bias?.storage
                    Parallel.forEach(n * c, chunksPerWorker: 4) { planes in
                        for p in planes {
                            let ch = p % c
                            ck_depthwise_plane(xp.pointer + p * h * w, h, w, wp.pointer + ch * kh * kw, kh, kw, stride,
                                               padding, bias?[ch] ?? 0, op.pointer + p * oh * ow, oh, ow, gelu ? 1 : 0)
                        }
                    }
                }
            }
        }
    }

    /// The gradients of a stride-1 depthwise convolution (`conv2d` with groups == channels), self
    /// being its input `[N, C, H, W]`: `grad` `[N, C, OH, OW]` is the output's gradient, `weight`
    /// `[C, 1, kh, kw]`. Returns dInput (if `input`) and dWeight (if `weight`), summed over the batch
    /// in batch order. Channels run in parallel, in C (`ck_depthwise_backward_plane`), with the
    /// arithmetic order of the direct loop (NaiveKernels.depthwiseConv2dBackward is the reference).
    public func depthwiseConv2dBackward(grad: Tensor, weight: Tensor, padding: Int, input needInput: Bool,
                                        weight needWeight: Bool) -> (input: Tensor?, weight: Tensor?) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let (oh, ow) = (grad.shape[2], grad.shape[3])
        precondition(weight.shape[0] == c && weight.shape[1] == 1 && grad.shape[0] == n && grad.shape[1] == c
                     && oh == h + 2 * padding - kh + 1 && ow == w + 2 * padding - kw + 1,
                     "depthwiseConv2dBackward: input \(shape) weight \(weight.shape) grad \(grad.shape) padding \(padding)")
        var dx = needInput ? Tensor(zeros: shape) : nil
        var dw = needWeight ? Tensor(zeros: weight.shape) : nil
        withUnsafeBufferPointer { x in
            grad.withUnsafeBufferPointer { g in
                weight.withUnsafeBufferPointer { wt in
                    let xp = SendableConstPointer(x.baseAddress!), gp = SendableConstPointer(g.baseAddress!)
                    let wp = SendableConstPointer(wt.baseAddress!)
                    func run(_ dxp: SendablePointer<Float>?, _ dwp: SendablePointer<Float>?) {
                        Parallel.forEach(c, chunksPerWorker: 4) { channels in
                            for ch in channels {
                                for b in 0..<n {
                                    let p = b * c + ch
                                    ck_depthwise_backward_plane(xp.pointer + p * h * w, gp.pointer + p * oh * ow, h, w,
                                                                wp.pointer + ch * kh * kw, kh, kw, padding, oh, ow,
                                                                dxp.map { $0.pointer + p * h * w }, dwp.map { $0.pointer + ch * kh * kw })
                                }
                            }
                        }
                    }
                    switch (dx != nil, dw != nil) {
                    case (true, true):
                        dx!.withUnsafeMutableBufferPointer { a in
                            dw!.withUnsafeMutableBufferPointer { b in run(SendablePointer(a.baseAddress!), SendablePointer(b.baseAddress!)) }
                        }
                    case (true, false): dx!.withUnsafeMutableBufferPointer { a in run(SendablePointer(a.baseAddress!), nil) }
                    case (false, true): dw!.withUnsafeMutableBufferPointer { b in run(nil, SendablePointer(b.baseAddress!)) }
                    case (false, false): break
                    }
                }
            }
        }
        return (dx, dw)
    }

    /// `nn.ConvTranspose2d` with kernel == stride and no padding (SAM's 2x2/2 upscaling):
    /// the output patches do not overlap, so it is one GEMM `Wᵀ [O*k*k, I] @ x [I, H*W]` and a scatter.
    /// Weight `[I, O, k, k]` as PyTorch stores it.
    /// `gelu` applies exact GELU to the result in the GEMM's own pass (element-wise, so before the
    /// scatter is the same as after it).
    public func convTranspose2d(_ weight: Tensor, _ bias: Tensor?, stride: Int, gelu: Bool = false) -> Tensor {
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (wi, cout, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(wi == cin && kh == stride && kw == stride, "convTranspose2d: input \(shape) weight \(weight.shape) stride \(stride)")
        let plane = h * w, taps = kh * kw, rowsOut = cout * taps
        // GEMM row co*taps + tap belongs to output channel co.
        let rowBias = bias.map { b in Tensor(shape: [rowsOut], storage: (0..<rowsOut).map { b.storage[$0 / taps] }) }
        var tmp = [Float](unsafeUninitializedCapacity: rowsOut * plane) { _, count in count = rowsOut * plane }
        return Tensor(shape: [n, cout, h * kh, w * kw]) { o in
            withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { wt in
                    for b in 0..<n {
                        tmp.withUnsafeMutableBufferPointer { t in
                            Tensor.withOptionalPointer(rowBias) { rb in
                                BLAS.sgemm(transA: true, m: rowsOut, n: plane, k: cin, a: wt.baseAddress!, lda: rowsOut,
                                           b: x.baseAddress! + b * cin * plane, ldb: plane, c: t.baseAddress!, ldc: plane,
                                           epilogue: GemmEpilogue(rowBias: rb, gelu: gelu))
                            }
                            // Scatter: tap (ky, kx) of input pixel (y, x) lands on output pixel (y·kh + ky, x·kw + kx).
                            let (src, dst) = (SendableConstPointer(UnsafePointer(t.baseAddress!)),
                                              SendablePointer(o.baseAddress! + b * cout * plane * taps))
                            let ow = w * kw
                            Parallel.forEach(cout, grain: max(1, (1 << 15) / max(plane * taps, 1))) { channels in
                                for co in channels {
                                    let out = dst.pointer + co * plane * taps
                                    for ky in 0..<kh {
                                        for kx in 0..<kw {
                                            let tap = src.pointer + (co * taps + ky * kw + kx) * plane
                                            for y in 0..<h {
                                                let row = out + (y * kh + ky) * ow + kx, from = tap + y * w
                                                for xx in 0..<w { row[xx * kw] = from[xx] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
