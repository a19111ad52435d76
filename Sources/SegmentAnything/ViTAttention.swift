// Port of segment_anything/modeling/image_encoder.py: Attention, get_rel_pos, add_decomposed_rel_pos
import NN
import Tensor

/// Multi-head self-attention with SAM's decomposed relative positions (MViTv2).
/// Each (window, head) is one independent problem with its own score buffer, so a global block's
/// `[HW, HW]` scores exist once per worker, not once per head.
public final class ViTAttention: Layer {
    public let numHeads: Int
    public let qkv: Linear          // qkv.weight [3C, C]
    public let proj: Linear         // proj.weight [C, C]
    public var relPosH: Tensor?     // rel_pos_h [2S-1, C/heads]
    public var relPosW: Tensor?     // rel_pos_w [2S-1, C/heads]
    /// Query rows per block of scores (see callAsFunction); any value gives the same result.
    public var queryChunk = 128

    public init(dim: Int, numHeads: Int, qkvBias: Bool, useRelPos: Bool, inputSize: (Int, Int)) {
        self.numHeads = numHeads
        qkv = Linear(dim, 3 * dim, bias: qkvBias)
        proj = Linear(dim, dim)
        if useRelPos {
            relPosH = Tensor(zeros: [2 * inputSize.0 - 1, dim / numHeads])
            relPosW = Tensor(zeros: [2 * inputSize.1 - 1, dim / numHeads])
        }
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("qkv", qkv)
        try walk.module("proj", proj)
        if relPosH != nil {
            try walk.param("rel_pos_h", &relPosH!)
            try walk.param("rel_pos_w", &relPosW!)
        }
    }

    /// x: [B, H, W, C] -> [B, H, W, C]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let hd = c / numHeads, n = h * w
        // [B, N, 3, heads, hd] -> [3, B, heads, N, hd]
        let qkvT = qkv(x).reshaped([b, n, 3, numHeads, hd]).permuted([2, 0, 3, 1, 4])
        let rh = relPosH.map { getRelPos(q: h, k: h, $0) }   // [h, h, hd]
        let rw = relPosW.map { getRelPos(q: w, k: w, $0) }   // [w, w, hd]
        let scale = 1 / Float(hd).squareRoot()
        let heads = b * numHeads
        // Queries run in blocks of `queryChunk` rows: a global block's [HW, HW] scores never exist
        // whole, only [chunk, HW] of them, which stay in cache through the rel-pos add, the softmax and
        // the product with V (softmax is per row, so this is the same arithmetic). K and V are packed
        // once per head for all the blocks.
        let chunk = max(1, min(n, queryChunk))
        let relCount = rh == nil ? 0 : n * (h + w)
        var out = Tensor(zeros: [heads, n, hd])
        // Read here: the problems run on worker threads, which do not see the task's setting.
        let precision = BLAS.precision
        qkvT.withUnsafeBufferPointer { all in
            out.withUnsafeMutableBufferPointer { o in
                let src = SendableConstPointer(all.baseAddress!), dst = SendablePointer(o.baseAddress!)
                // One (window, head) per problem; scratch = scores [chunk, n] + relH [n, h] + relW [n, w].
                BLAS.independentProblems(heads, scratch: chunk * n + relCount) { i, scratch in
                    let q = src.pointer + i * n * hd
                    let k = q + heads * n * hd, v = k + heads * n * hd
                    let relH = scratch + chunk * n, relW = relH + n * h
                    if let rh, let rw {
                        decomposedRelPos(q: q, h: h, w: w, hd: hd, rh: rh, rw: rw, relH: relH, relW: relW)
                    }
                    let keys = PackedOperand(transB: true, k: hd, n: n, b: k, ldb: hd, precision: precision)
                    let values = PackedOperand(k: n, n: hd, b: v, ldb: hd, precision: precision)
                    for r0 in stride(from: 0, to: n, by: chunk) {
                        let rows = min(chunk, n - r0)
                        BLAS.sgemm(m: rows, packed: keys, alpha: scale, a: q + r0 * hd, lda: hd, c: scratch, ldc: n,
                                   serial: true)
                        if rh != nil {
                            addRelPos(scratch, rows: r0..<(r0 + rows), h: h, w: w, relH: relH, relW: relW)
                        }
                        Tensor.softmaxRowsSerial(scratch, rows: rows, columns: n)
                        BLAS.sgemm(m: rows, packed: values, a: scratch, lda: n, c: dst.pointer + (i * n + r0) * hd, ldc: hd,
                                   serial: true)
                    }
                }
            }
        }
        // [B, heads, H, W, hd] -> [B, H, W, heads, hd]
        let merged = out.reshaped([b, numHeads, h, w, hd]).permuted([0, 2, 3, 1, 4]).reshaped([b, h, w, c])
        return proj(merged)
    }
}

/// `get_rel_pos`: the relative-position rows for every (query, key) pair along one axis, `[q, k, hd]`.
/// A table stored at another length is first resized with 1-D linear interpolation, as the reference does.
public func getRelPos(q qSize: Int, k kSize: Int, _ relPos: Tensor) -> Tensor {
    let maxRelDist = 2 * max(qSize, kSize) - 1
    let hd = relPos.shape[1]
    var table = relPos
    if relPos.shape[0] != maxRelDist {
        table = relPos.reshaped([1, relPos.shape[0], hd]).permuted([0, 2, 1])
            .linearResized(length: maxRelDist).reshaped([hd, maxRelDist]).permuted([1, 0])
    }
    let qScale = max(Float(kSize) / Float(qSize), 1), kScale = max(Float(qSize) / Float(kSize), 1)
    var out = [Float]()
    out.reserveCapacity(qSize * kSize * hd)
    for i in 0..<qSize {
        for j in 0..<kSize {
            let idx = Int(Float(i) * qScale - Float(j) * kScale + Float(kSize - 1) * kScale)
            out.append(contentsOf: table.storage[(idx * hd)..<((idx + 1) * hd)])
        }
    }
    return Tensor(shape: [qSize, kSize, hd], storage: out)
}

/// `add_decomposed_rel_pos` for one head, first half: `relH[(qy,qx), ky] = q·Rh[qy,ky]` and
/// `relW[(qy,qx), kx] = q·Rw[qx,kx]`, with `q` the unscaled query. Small GEMMs, one per row /
/// column of the grid.
func decomposedRelPos(q: UnsafePointer<Float>, h: Int, w: Int, hd: Int, rh: Tensor, rw: Tensor,
                      relH: UnsafeMutablePointer<Float>, relW: UnsafeMutablePointer<Float>) {
    rh.withUnsafeBufferPointer { tabH in
        for qy in 0..<h {
            BLAS.sgemm(transB: true, m: w, n: h, k: hd, a: q + qy * w * hd, lda: hd,
                       b: tabH.baseAddress! + qy * h * hd, ldb: hd, c: relH + qy * w * h, ldc: h, serial: true)
        }
    }
    rw.withUnsafeBufferPointer { tabW in
        // Rows of one qx are w*hd apart.
        for qx in 0..<w {
            BLAS.sgemm(transB: true, m: h, n: w, k: hd, a: q + qx * hd, lda: w * hd,
                       b: tabW.baseAddress! + qx * w * hd, ldb: hd, c: relW + qx * w, ldc: w * w, serial: true)
        }
    }
}

/// Second half, for query rows `rows` of the scores (`scores` holds those rows only):
/// `scores[(qy,qx),(ky,kx)] += relH[(qy,qx), ky] + relW[(qy,qx), kx]`.
func addRelPos(_ scores: UnsafeMutablePointer<Float>, rows: Range<Int>, h: Int, w: Int,
               relH: UnsafePointer<Float>, relW: UnsafePointer<Float>) {
    let n = h * w
    for qi in rows {
        let row = scores + (qi - rows.lowerBound) * n
        let hRow = relH + qi * h, wRow = relW + qi * w
        for ky in 0..<h {
            let base = row + ky * w, hv = hRow[ky]
            for kx in 0..<w { base[kx] += hv + wRow[kx] }
        }
    }
}
