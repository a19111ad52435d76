internal import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// `F.grid_sample(mode="bilinear", padding_mode="zeros")` with PyTorch's CPU semantics.
extension Tensor {
    /// `self` `[N, C, H, W]` sampled at `grid` `[N, Ho, Wo, 2]`, whose last axis is (x, y) normalised
    /// to [-1, 1] -> `[N, C, Ho, Wo]`. Unnormalisation as PyTorch: align_corners=true maps -1/+1 to
    /// the centres of the first/last pixels, `(g + 1) / 2 * (size - 1)`; false maps them to the outer
    /// edges, `((g + 1) * size - 1) / 2`. Taps outside the map read zero.
    public func gridSampled(_ grid: Tensor, alignCorners: Bool) -> Tensor {
        let (h, w) = (Float(shape[2]), Float(shape[3]))
        var loc = grid
        for i in stride(from: 0, to: grid.count, by: 2) {
            let gx = grid.storage[i], gy = grid.storage[i + 1]
            loc.storage[i] = alignCorners ? (gx + 1) / 2 * (w - 1) : ((gx + 1) * w - 1) / 2
            loc.storage[i + 1] = alignCorners ? (gy + 1) / 2 * (h - 1) : ((gy + 1) * h - 1) / 2
        }
        return bilinearSampled(atPixels: loc)
    }

    /// The pixel locations `p + d` that sample a `[N, C, H, W]` map at per-pixel offsets `d`
    /// `[N, 2, H, W]` (dx, dy in pixels) -> `[N, H, W, 2]` as (x, y), for `bilinearSampled(atPixels:)`.
    /// An integer p plus an exact zero offset stays p exactly.
    public static func samplingLocations(offsets d: Tensor) -> Tensor {
        precondition(d.rank == 4 && d.shape[1] == 2, "samplingLocations: offsets \(d.shape), expected [N, 2, H, W]")
        let (n, h, w) = (d.shape[0], d.shape[2], d.shape[3])
        let plane = h * w
        var loc = Tensor(zeros: [n, h, w, 2])
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let o = b * plane + i * w + j
                    loc.storage[2 * o] = Float(j) + d.storage[b * 2 * plane + i * w + j]
                    loc.storage[2 * o + 1] = Float(i) + d.storage[(b * 2 + 1) * plane + i * w + j]
                }
            }
        }
        return loc
    }

    /// Bilinear samples of `self` `[N, C, H, W]` at `locations` `[N, Ho, Wo, 2]` given as (x, y) in
    /// pixel units (0 is the first pixel centre, W-1 the last) -> `[N, C, Ho, Wo]`; taps outside read 0.
    ///
    /// Integer locations return the pixel itself exactly (weight 1, the other taps weight 0), which
    /// is what makes Stable-SAM's DSP an exact identity at zero offset. Bilinear interpolation with
    /// zero padding is continuous, so tiny location differences give tiny output differences.
    public func bilinearSampled(atPixels locations: Tensor) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(locations.rank == 4 && locations.shape[0] == n && locations.shape[3] == 2,
                     "bilinearSampled: input \(shape) locations \(locations.shape)")
        let (oh, ow) = (locations.shape[1], locations.shape[2])
        let points = oh * ow
        // Four taps per output location: flat index into one plane (-1 outside) and weight.
        var index = [Int32](repeating: -1, count: n * points * 4)
        var weight = [Float](repeating: 0, count: n * points * 4)
        for p in 0..<(n * points) {
            let x = locations.storage[2 * p], y = locations.storage[2 * p + 1]
            let x0 = floorf(x), y0 = floorf(y)
            let (x1, y1) = (x0 + 1, y0 + 1)
            // PyTorch's corner weights: each is the area of the opposite sub-rectangle.
            for t in 0..<4 {
                let tx = t & 1 == 0 ? x0 : x1, ty = t < 2 ? y0 : y1
                guard tx >= 0, ty >= 0, tx < Float(w), ty < Float(h) else { continue }
                index[4 * p + t] = Int32(Int(ty) * w + Int(tx))
                weight[4 * p + t] = (t & 1 == 0 ? x1 - x : x - x0) * (t < 2 ? y1 - y : y - y0)
            }
        }
        return Tensor(shape: [n, c, oh, ow]) { out in
            let op = SendablePointer(out.baseAddress!)
            withUnsafeBufferPointer { src in
                let sp = SendableConstPointer(src.baseAddress!)
                index.withUnsafeBufferPointer { ib in
                    weight.withUnsafeBufferPointer { wb in
                        let ip = SendableConstPointer(ib.baseAddress!), wp = SendableConstPointer(wb.baseAddress!)
                        Parallel.forEach(n * c, grain: 4) { planes in
                            for plane in planes {
                                let b = plane / c, s = sp.pointer + plane * h * w, d = op.pointer + plane * points
                                let idx = ip.pointer + b * points * 4, wt = wp.pointer + b * points * 4
                                for q in 0..<points {
                                    var acc: Float = 0
                                    for t in 0..<4 {
                                        let i = idx[4 * q + t]
                                        if i >= 0 { acc += s[Int(i)] * wt[4 * q + t] }
                                    }
                                    d[q] = acc
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// The gradients of `bilinearSampled(atPixels:)` at one location per input pixel (Stable-SAM's
    /// p + d), self being its input `[N, C, H, W]`: `grad` `[N, C, H, W]`, `locations` `[N, H, W, 2]`.
    /// Returns dInput (if `input`) and the gradient with respect to the locations as `[N, 2, H, W]`
    /// ((dx, dy) planes, the offsets' layout; if `locations` is set). In C (`ck_bilinear_sample_backward`),
    /// in the order of NaiveKernels.bilinearSampledBackward, its reference.
    public func bilinearSampledBackward(grad: Tensor, locations: Tensor, input needInput: Bool,
                                        locations needLocations: Bool) -> (input: Tensor?, locations: Tensor?) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(grad.shape == shape && locations.shape == [n, h, w, 2],
                     "bilinearSampledBackward: input \(shape) grad \(grad.shape) locations \(locations.shape)")
        let plane = h * w
        var dx = needInput ? Tensor(zeros: shape) : nil
        var dd = needLocations ? Tensor(zeros: [n, 2, h, w]) : nil
        withUnsafeBufferPointer { x in
            grad.withUnsafeBufferPointer { g in
                locations.withUnsafeBufferPointer { loc in
                    func run(_ dxp: UnsafeMutablePointer<Float>?, _ ddp: UnsafeMutablePointer<Float>?) {
                        for b in 0..<n {
                            ck_bilinear_sample_backward(x.baseAddress! + b * c * plane, g.baseAddress! + b * c * plane,
                                                        loc.baseAddress! + b * 2 * plane, c, h, w, dxp.map { $0 + b * c * plane },
                                                        ddp.map { $0 + b * 2 * plane }, ddp.map { $0 + (b * 2 + 1) * plane })
                        }
                    }
                    switch (dx != nil, dd != nil) {
                    case (true, true):
                        dx!.withUnsafeMutableBufferPointer { a in dd!.withUnsafeMutableBufferPointer { b in run(a.baseAddress!, b.baseAddress!) } }
                    case (true, false): dx!.withUnsafeMutableBufferPointer { a in run(a.baseAddress!, nil) }
                    case (false, true): dd!.withUnsafeMutableBufferPointer { b in run(nil, b.baseAddress!) }
                    case (false, false): break
                    }
                }
            }
        }
        return (dx, dd)
    }
}
