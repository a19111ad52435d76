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
        let ty = Tensor.linearTaps(input: h, output: fullH, alignCorners: alignCorners)
        let tx = Tensor.linearTaps(input: w, output: fullW, alignCorners: alignCorners)
        let outH = min(keep?.h ?? fullH, fullH), outW = min(keep?.w ?? fullW, fullW)
        return Tensor(shape: [shape[0], shape[1], outH, outW]) { o in
            let op = SendablePointer(o.baseAddress!)
            withUnsafeBufferPointer { x in
                let xp = SendableConstPointer(x.baseAddress!)
                Parallel.forEach(nc * outH, grain: 16) { rows in
                    for r in rows {
                        let p = r / outH, oy = r % outH
                        let (y0, y1, wy) = ty[oy]
                        let src = xp.pointer + p * h * w, dst = op.pointer + (p * outH + oy) * outW
                        let r0 = src + y0 * w, r1 = src + y1 * w
                        for ox in 0..<outW {
                            let (x0, x1, wx) = tx[ox]
                            let top = (1 - wx) * r0[x0] + wx * r0[x1]
                            let bottom = (1 - wx) * r1[x0] + wx * r1[x1]
                            dst[ox] = (1 - wy) * top + wy * bottom
                        }
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
