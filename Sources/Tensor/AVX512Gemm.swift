internal import CKernels

// The products on StableSAM's AVX-512 SGEMM (CKernels/sgemm_avx512.c): how a product is packed
// and split across the workers. `BLAS.sgemm` chooses between this and OpenBLAS.

/// What a product does to C as it writes it: biases added once, then GELU. Fused into the AVX-512
/// kernel's tile stores; a separate pass after OpenBLAS.
public struct GemmEpilogue: @unchecked Sendable {
    /// One value per row of C (output channel of a convolution), `m` of them.
    public var rowBias: UnsafePointer<Float>?
    /// One value per column of C (output feature of a linear layer), `n` of them.
    public var columnBias: UnsafePointer<Float>?
    public var gelu: Bool

    public init(rowBias: UnsafePointer<Float>? = nil, columnBias: UnsafePointer<Float>? = nil, gelu: Bool = false) {
        self.rowBias = rowBias
        self.columnBias = columnBias
        self.gelu = gelu
    }

    var isEmpty: Bool { rowBias == nil && columnBias == nil && !gelu }

    /// The same epilogue for the block of C starting at (row, column).
    func offset(row: Int, column: Int) -> GemmEpilogue {
        GemmEpilogue(rowBias: rowBias.map { $0 + row }, columnBias: columnBias.map { $0 + column }, gelu: gelu)
    }

    var c: ck_epilogue { ck_epilogue(row_bias: rowBias, col_bias: columnBias, gelu: gelu ? 1 : 0) }
}

extension BLAS {
    /// The AVX-512 kernel in CKernels where the CPU has it (twice OpenBLAS's Haswell kernels here).
    public static let ownKernel = ck_sgemm_available() != 0

    /// Which GEMM runs the products, for `bench` reports.
    public static var kernelName: String { ownKernel ? "StableSAM AVX-512 (CKernels)" : "OpenBLAS" }

    /// Packs op(B) once, then splits C into row blocks (or column panels when C is wide and short)
    /// handed dynamically to the workers, which share the packed B.
    static func packedGemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, workers: Int, epilogue: GemmEpilogue
    ) {
        flops.add(2 * m * n * k, ordering: .relaxed)
        let panels = (n + Int(CK_SGEMM_NR) - 1) / Int(CK_SGEMM_NR)
        let split = worthSplitting(m, n, k, workers: workers)
        if !split, k * n <= 1 << 19 {
            var e = epilogue.c
            ck_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &e)
            return
        }
        if m <= 512, n > m {
            wideGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers: split ? workers : 1,
                     epilogue: epilogue)
            return
        }
        let packedCount = ck_sgemm_packed_b_floats(k, n)
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: packedCount)
        defer { packed.deallocate() }
        let bp = SendableConstPointer(b), pp = SendablePointer(packed)
        Parallel.forEach(panels, grain: split && packedCount >= 1 << 16 ? 8 : panels, workers: workers) { r in
            ck_sgemm_pack_b(transB ? 1 : 0, k, n, bp.pointer, ldb, pp.pointer, r.lowerBound, r.upperBound)
        }
        runPacked(transA, m, n, k, alpha, a, lda, packed, beta, c, ldc, workers: split ? workers : 1, epilogue: epilogue)
    }

    /// The product with op(B) already packed: C in row blocks, or in column panels when it has too
    /// few rows for every worker, handed out dynamically (four per worker, so a core shared with
    /// another process slows one block, not half the product). `workers` 1 runs it inline.
    static func runPacked(
        _ transA: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ packed: UnsafePointer<Float>, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
        workers: Int, epilogue: GemmEpilogue
    ) {
        let pp = SendableConstPointer(packed)
        splitPacked(transA, m, n, k, a, lda, c, ldc, workers: workers, epilogue: epilogue) { rows, a, panels, c, e in
            ck_sgemm_packed(transA ? 1 : 0, rows, n, k, alpha, a, lda, pp.pointer, panels.lowerBound, panels.upperBound,
                            beta, c, ldc, &e)
        }
    }

    /// One product of C (rows, op(A) and C at its first row, column panels, epilogue at its block).
    typealias PackedBlock = @Sendable (Int, UnsafePointer<Float>, Range<Int>, UnsafeMutablePointer<Float>,
                                       inout ck_epilogue) -> Void

    /// How a product with op(B) packed is split: row blocks, or column panels when C has too few
    /// rows for every worker, handed out dynamically; the fp32 and bf16 kernels share it.
    static func splitPacked(
        _ transA: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, workers: Int, epilogue: GemmEpilogue, block: PackedBlock
    ) {
        let mr = Int(CK_SGEMM_MR), nr = Int(CK_SGEMM_NR)
        let panels = (n + nr - 1) / nr, rowBlocks = (m + mr - 1) / mr
        let split = worthSplitting(m, n, k, workers: workers)
        let (ap, cp) = (SendableConstPointer(a), SendablePointer(c))
        if !split || rowBlocks >= 2 * workers {
            Parallel.forEach(rowBlocks, grain: split ? 1 : rowBlocks, workers: workers, chunksPerWorker: 4) { blocks in
                let r0 = blocks.lowerBound * mr, rows = min(blocks.upperBound * mr, m) - r0
                var e = epilogue.offset(row: r0, column: 0).c
                block(rows, ap.pointer + (transA ? r0 : r0 * lda), 0..<panels, cp.pointer + r0 * ldc, &e)
            }
        } else {
            Parallel.forEach(panels, grain: 1, workers: workers, chunksPerWorker: 4) { r in
                var e = epilogue.c
                block(m, ap.pointer, r, cp.pointer, &e)
            }
        }
    }

    /// The column chunks of a few-rows product: about 1 MB of packed op(B) each (k x columns
    /// floats), so a chunk stays in a worker's L2, and at least four chunks per worker, so a busy
    /// core delays one chunk rather than half the product. Columns are whole NR panels.
    static func wideChunks(n: Int, k: Int, workers: Int) -> (columns: Int, count: Int) {
        let nr = Int(CK_SGEMM_NR)
        let panels = (n + nr - 1) / nr
        var chunkPanels = max(1, (1 << 18) / max(k, 1) / nr)
        if workers > 1 { chunkPanels = max(1, min(chunkPanels, panels / (4 * workers))) }
        return (chunkPanels * nr, (panels + chunkPanels - 1) / chunkPanels)
    }

    /// Few rows, many columns (1x1 convolutions over a large plane, a few tokens against an image):
    /// packing all of op(B) first would stream it through memory twice more. Instead each worker
    /// packs a column chunk of about 1 MB, which stays in its L2, and runs every row against it.
    static func wideGemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, workers: Int, epilogue: GemmEpilogue
    ) {
        let nr = Int(CK_SGEMM_NR)
        let (chunkColumns, chunks) = wideChunks(n: n, k: k, workers: workers)
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: ck_sgemm_packed_a_floats(m, k))
        defer { packedA.deallocate() }
        ck_sgemm_pack_a(transA ? 1 : 0, m, k, a, lda, packedA)
        let (pa, bp, cp) = (SendableConstPointer(UnsafePointer(packedA)), SendableConstPointer(b), SendablePointer(c))
        Parallel.forEach(chunks, grain: workers > 1 ? 1 : chunks, workers: workers, chunksPerWorker: 4) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: ck_sgemm_packed_b_floats(k, chunkColumns))
            defer { buffer.deallocate() }
            for chunk in range {
                let c0 = chunk * chunkColumns, cols = min(chunkColumns, n - c0)
                ck_sgemm_pack_b(transB ? 1 : 0, k, cols, bp.pointer + (transB ? c0 * ldb : c0), ldb, buffer,
                                0, (cols + nr - 1) / nr)
                var e = epilogue.offset(row: 0, column: c0).c
                ck_sgemm_prepacked(m, cols, k, alpha, pa.pointer, buffer, beta, cp.pointer + c0, ldc, &e)
            }
        }
    }
}
