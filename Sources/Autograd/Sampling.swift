// Stable-SAM's deformable sampling: bilinear samples of a feature map at p + d, and SAM's
// random-Fourier positional encoding evaluated there; both differentiable in the offsets d.
#if canImport(Glibc)
import Glibc
#endif
import Tensor

extension Variable {
    /// `self` `[N, C, H, W]` sampled bilinearly at p + d, p = (j, i) the grid, d = offsets
    /// `[N, 2, H, W]` as (dx, dy) in cells; taps outside the map read 0 (`F.grid_sample`, bilinear,
    /// zeros, align_corners = true, on the grid `linspace(-1, 1, n) + d·2/(n − 1)`). -> `[N, C, H, W]`.
    /// With (x, y) = p + d, x0 = ⌊x⌋, fx = x − x0 (same for y), the taps' weights are
    /// (1−fx)(1−fy), fx(1−fy), (1−fx)fy, fx·fy; dOut/dx = Σ_taps ∂w/∂x · value, zero-valued outside.
    public func sampled(atOffsets offsets: Variable) -> Variable {
        let (n, h, w) = (shape[0], shape[2], shape[3])
        precondition(offsets.shape == [n, 2, h, w], "sampled: input \(shape) offsets \(offsets.shape)")
        let x = value, loc = Tensor.samplingLocations(offsets: offsets.value)
        return Variable.result(x.bilinearSampled(atPixels: loc), "sampled", [self, offsets]) { g in
            // d(p + d)/dd is the identity, so the locations' gradient is the offsets'.
            let (dx, dd) = x.bilinearSampledBackward(grad: g, locations: loc, input: self.requiresGrad, locations: offsets.requiresGrad)
            return [dx, dd]
        }
    }

    /// SAM's `PositionEmbeddingRandom` at the sampled positions: with offsets `[N, 2, H, W]` (cells)
    /// and gaussian `[2, F]`, coordinates c = ((j + dx + 0.5)/W, (i + dy + 0.5)/H) (pixel centres,
    /// as `get_dense_pe` at p), z = 2π·(2c − 1)·G and the encoding [sin z, cos z] -> `[N, H·W, 2F]`.
    /// Pullback to the offsets: dz = cos z·dsin − sin z·dcos, dc = 4π·dz·Gᵀ, dd = dc / (W, H).
    public static func sampledPositionalEncoding(offsets: Variable, gaussian: Tensor) -> Variable {
        let (n, h, w) = (offsets.shape[0], offsets.shape[2], offsets.shape[3]), f = gaussian.shape[1]
        let plane = h * w, d = offsets.value
        var coords = Tensor(zeros: [n * plane, 2])
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let o = b * plane + i * w + j
                    let px: Float = Float(j) + d.storage[b * 2 * plane + i * w + j]
                    let py: Float = Float(i) + d.storage[(b * 2 + 1) * plane + i * w + j]
                    coords.storage[2 * o] = (px + 0.5) / Float(w)
                    coords.storage[2 * o + 1] = (py + 0.5) / Float(h)
                }
            }
        }
        // As PositionEmbeddingRandom.encode: shift, product, 2π, then sin and cos halves.
        let z = coords.map { 2 * $0 - 1 }.matmul(gaussian).map { 2 * Float.pi * $0 }
        let value = Tensor.concatenate([z.map { sinf($0) }, z.map { cosf($0) }], axis: -1).reshaped([n, plane, 2 * f])
        return result(value, "sampledPositionalEncoding", [offsets]) { g in
            var dz = Tensor(zeros: [n * plane, f])
            for r in 0..<(n * plane) {
                for k in 0..<f {
                    let zv = z.storage[r * f + k]
                    dz.storage[r * f + k] = cosf(zv) * g.storage[r * 2 * f + k] - sinf(zv) * g.storage[r * 2 * f + f + k]
                }
            }
            var dc = Tensor(zeros: [n * plane, 2])   // dL/d(2c − 1) / 2π, scaled below
            gemm(transB: true, m: n * plane, n: 2, k: f, dz, lda: f, gaussian, ldb: f, into: &dc, ldc: 2)
            var dd = Tensor(zeros: d.shape)
            let s = 4 * Float.pi
            for b in 0..<n {
                for p in 0..<plane {
                    dd.storage[b * 2 * plane + p] = s * dc.storage[2 * (b * plane + p)] / Float(w)
                    dd.storage[(b * 2 + 1) * plane + p] = s * dc.storage[2 * (b * plane + p) + 1] / Float(h)
                }
            }
            return [dd]
        }
    }
}
