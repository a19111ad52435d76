internal import CKernels
/// Layout changes: permute, concatenate, slice, pad. They copy (tensors are always contiguous).
extension Tensor {
    /// `x.permute(order)` made contiguous.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute \(order) of \(shape)")
        if order == Array(0..<rank) { return self }
        let newShape = order.map { shape[$0] }
        // Dimensions that stay next to each other, in order, move as one: window partitions
        // ([B, nH, ws, nW, ws, C] -> [B, nH, nW, ws, ws, C]) then copy whole ws·C rows.
        let (mergedShape, mergedOrder) = coalesced(order)
        if mergedOrder.count < rank {
            return reshaped(mergedShape).permuted(mergedOrder).reshaped(newShape)
        }
        // Coalesced, a swap of two groups of dimensions ([B, C, H, W] -> [B, H, W, C]) is a
        // transpose, [1, 0], or one per leading batch, [0, 2, 1].
        if order == [1, 0] { return transposedBlocks(newShape, batch: 1, rows: shape[0], cols: shape[1]) }
        if order == [0, 2, 1] { return transposedBlocks(newShape, batch: shape[0], rows: shape[1], cols: shape[2]) }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = order.map { inStrides[$0] }
        // The innermost output dimension is copied in a tight loop; the rest are counted.
        let inner = newShape[rank - 1], innerStride = strides[rank - 1]
        let outer = count / max(inner, 1)
        return Tensor(shape: newShape) { o in
            withUnsafeBufferPointer { x in
                var idx = [Int](repeating: 0, count: rank - 1)
                var offset = 0
                for block in 0..<outer {
                    let dst = o.baseAddress! + block * inner
                    let src = x.baseAddress! + offset
                    if innerStride == 1 { dst.update(from: src, count: inner) }
                    else { for j in 0..<inner { dst[j] = src[j * innerStride] } }
                    var d = rank - 2
                    while d >= 0 {
                        idx[d] += 1
                        offset += strides[d]
                        if idx[d] < newShape[d] { break }
                        offset -= strides[d] * newShape[d]
                        idx[d] = 0
                        d -= 1
                    }
                }
            }
        }
    }

    /// The same permutation over merged dimensions: runs of input dimensions that `order` keeps
    /// adjacent and in order become one. Returns (merged input shape, merged order).
    func coalesced(_ order: [Int]) -> ([Int], [Int]) {
        var runs: [[Int]] = []   // in output order
        for d in order {
            if let last = runs.last?.last, d == last + 1 { runs[runs.count - 1].append(d) } else { runs.append([d]) }
        }
        let byInput = runs.sorted { $0[0] < $1[0] }
        let mergedShape = byInput.map { run in run.reduce(1) { $0 * shape[$1] } }
        let mergedOrder = runs.map { run in byInput.firstIndex { $0[0] == run[0] }! }
        return (mergedShape, mergedOrder)
    }

    /// `batch` independent [rows, cols] -> [cols, rows] transposes, split into row strips across workers.
    func transposedBlocks(_ newShape: [Int], batch: Int, rows: Int, cols: Int) -> Tensor {
        Tensor(shape: newShape) { o in
            withUnsafeBufferPointer { x in
                let (xp, op) = (SendableConstPointer(x.baseAddress!), SendablePointer(o.baseAddress!))
                let strips = (rows + 63) / 64
                Parallel.forEach(batch * strips, grain: max(1, (1 << 16) / max(64 * cols, 1))) { range in
                    for job in range {
                        let (b, r0) = (job / strips, (job % strips) * 64)
                        let n = min(64, rows - r0)
                        ck_transpose(xp.pointer + b * rows * cols + r0 * cols, cols, n, cols,
                                     op.pointer + b * rows * cols + r0, rows)
                    }
                }
            }
        }
    }

    /// `torch.cat(tensors, dim)`.
    public static func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
        let first = parts[0], ax = axis < 0 ? first.rank + axis : axis
        let outer = first.shape[..<ax].reduce(1, *)
        var outShape = first.shape
        outShape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        for p in parts {
            precondition(p.rank == first.rank && p.shape[..<ax] == first.shape[..<ax] && p.shape[(ax + 1)...] == first.shape[(ax + 1)...],
                         "concatenate: \(parts.map(\.shape)) on axis \(ax)")
        }
        var out = [Float]()
        out.reserveCapacity(outShape.reduce(1, *))
        for o in 0..<outer {
            for p in parts {
                let block = p.count / outer
                out.append(contentsOf: p.storage[(o * block)..<((o + 1) * block)])
            }
        }
        return Tensor(shape: outShape, storage: out)
    }

    /// `x.narrow(axis, start, length)` made contiguous.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = axis < 0 ? rank + axis : axis
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) of axis \(ax) in \(shape)")
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        var newShape = shape
        newShape[ax] = range.count
        var out = [Float]()
        out.reserveCapacity(newShape.reduce(1, *))
        for o in 0..<outer {
            let base = (o * shape[ax] + range.lowerBound) * inner
            out.append(contentsOf: storage[base..<(base + range.count * inner)])
        }
        return Tensor(shape: newShape, storage: out)
    }

    /// Zero-pads the two spatial axes `(h, w)` of a `[B, H, W, C]` tensor at the bottom/right.
    public func paddedBHWC(toHeight ph: Int, width pw: Int) -> Tensor {
        let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        if ph == h && pw == w { return self }
        var out = Tensor(zeros: [b, ph, pw, c])
        for bi in 0..<b {
            for y in 0..<h {
                let src = ((bi * h + y) * w) * c, dst = ((bi * ph + y) * pw) * c
                out.storage.replaceSubrange(dst..<(dst + w * c), with: storage[src..<(src + w * c)])
            }
        }
        return out
    }

    /// Crops a `[B, H, W, C]` tensor to its top-left `h x w`.
    public func croppedBHWC(height h: Int, width w: Int) -> Tensor {
        let (b, ph, pw, c) = (shape[0], shape[1], shape[2], shape[3])
        if ph == h && pw == w { return self }
        var out = [Float]()
        out.reserveCapacity(b * h * w * c)
        for bi in 0..<b {
            for y in 0..<h {
                let src = ((bi * ph + y) * pw) * c
                out.append(contentsOf: storage[src..<(src + w * c)])
            }
        }
        return Tensor(shape: [b, h, w, c], storage: out)
    }
}
