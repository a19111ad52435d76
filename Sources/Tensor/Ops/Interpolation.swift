/// `F.interpolate(mode="bilinear" / "linear")` with PyTorch's source-index rules.
extension Tensor {
    /// Source coordinate and blend weights for one axis, as PyTorch's `area_pixel_compute_source_index`.
    /// align_corners=false: `src = max((dst + 0.5) * in/out - 0.5, 0)`; true: `src = dst * (in-1)/(out-1)`.
    static func linearTaps(input: Int, output: Int, alignCorners: Bool) -> [(i0: Int, i1: Int, w1: Float)] {
        let scale: Float = alignCorners ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0)
                                        : Float(input) / Float(output)
        return (0..<output).map { d in
            let src = alignCorners ? scale * Float(d) : max(scale * (Float(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), input - 1)
            let i1 = i0 < input - 1 ? i0 + 1 : i0
            return (i0, i1, src - Float(i0))
        }
    }

    /// Bilinear resize of `[N, C, H, W]` to `[N, C, outH, outW]`. With `keep`, only the top-left
    /// `keep.h x keep.w` of that output is computed and returned (a resize followed by a crop, as
    /// SAM's postprocessing does, without producing the part it throws away).
    public func bilinearResized(height fullH: Int, width fullW: Int, alignCorners: Bool,
                                keep: (h: Int, w: Int)? = nil) -> Tensor {
        let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let outH = min(keep?.h ?? fullH, fullH), outW = min(keep?.w ?? fullW, fullW)
        // Same size: every tap is (i, weight 0), so the result is the input (SAM's final resize when
        // the image was already 1024 on its long side and the crop equals it).
        if fullH == h && fullW == w && outH == h && outW == w { return self }
        let ty = Tensor.linearTaps(input: h, output: fullH, alignCorners: alignCorners)
        let tx = Tensor.linearTaps(input: w, output: fullW, alignCorners: alignCorners)
        // Separable, in PyTorch's order (the blend along x first, then along y): each input row is
        // resampled along x once, into `rowsX`, and every output row blends two of those rows.
        let inRows = (ty.prefix(outH).map(\.i1).max() ?? 0) + 1
        let x0 = tx.map(\.i0), x1 = tx.map(\.i1), wx = tx.map(\.w1)
        var rowsX = [Float](unsafeUninitializedCapacity: nc * inRows * outW) { _, n in n = nc * inRows * outW }
        withUnsafeBufferPointer { x in
            rowsX.withUnsafeMutableBufferPointer { rx in
                x0.withUnsafeBufferPointer { a in
                    x1.withUnsafeBufferPointer { b in
                        wx.withUnsafeBufferPointer { wt in
                            let (xp, rp) = (SendableConstPointer(x.baseAddress!), SendablePointer(rx.baseAddress!))
                            let (ap, bp, wp) = (SendableConstPointer(a.baseAddress!), SendableConstPointer(b.baseAddress!),
                                                SendableConstPointer(wt.baseAddress!))
                            Parallel.forEach(nc * inRows, grain: 16) { rows in
                                for r in rows {
                                    let src = xp.pointer + (r / inRows) * h * w + (r % inRows) * w
                                    let dst = rp.pointer + r * outW
                                    for ox in 0..<outW {
                                        let t = wp.pointer[ox]
                                        dst[ox] = (1 - t) * src[ap.pointer[ox]] + t * src[bp.pointer[ox]]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [shape[0], shape[1], outH, outW]) { o in
            rowsX.withUnsafeBufferPointer { rx in
                let (op, rp) = (SendablePointer(o.baseAddress!), SendableConstPointer(rx.baseAddress!))
                Parallel.forEach(nc * outH, grain: 16) { rows in
                    for r in rows {
                        let (p, oy) = (r / outH, r % outH)
                        let (y0, y1, wy) = ty[oy]
                        let top = rp.pointer + (p * inRows + y0) * outW, bottom = rp.pointer + (p * inRows + y1) * outW
                        let dst = op.pointer + r * outW
                        for ox in 0..<outW { dst[ox] = (1 - wy) * top[ox] + wy * bottom[ox] }
                    }
                }
            }
        }
    }

    /// `F.interpolate(x [N, C, L], size: out, mode: "linear")` (align_corners=false).
    public func linearResized(length out: Int) -> Tensor {
        let (nc, l) = (shape[0] * shape[1], shape[2])
        let taps = Tensor.linearTaps(input: l, output: out, alignCorners: false)
        return Tensor(shape: [shape[0], shape[1], out]) { o in
            for p in 0..<nc {
                for (d, t) in taps.enumerated() {
                    o[p * out + d] = (1 - t.w1) * storage[p * l + t.i0] + t.w1 * storage[p * l + t.i1]
                }
            }
        }
    }
}
