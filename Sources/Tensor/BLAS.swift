internal import CBLAS
internal import CKernels
import Synchronization

/// Every call into CBLAS lives in this file (ggml-blas style: one place to audit and to test
/// against the naive reference in `NaiveKernels.swift`).
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

public enum BLAS {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C`, op(X) = X or Xᵀ.
    /// `A` is `[m, k]` (or `[k, m]` when `transA`), `B` is `[k, n]` (or `[n, k]` when `transB`).
    ///
    /// OpenBLAS always runs single-threaded here; large products are split into row (or column)
    /// blocks, one per worker. OpenBLAS's own pool spins (sched_yield) between calls and took a core
    /// from the element-wise kernels; a split is as fast for large GEMMs and costs nothing between them.
    /// `serial` keeps the call on the calling thread (for code already running on a worker).
    /// `epilogue` adds biases and applies GELU to the result (`C = gelu(alpha·AB + beta·C + bias)`).
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, serial: Bool = false,
        epilogue: GemmEpilogue = GemmEpilogue()
    ) {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, serial: serial, epilogue: epilogue,
              ownKernel: ownKernel)
    }

    /// `ownKernel: false` runs OpenBLAS even where the AVX-512 kernel is available (tests compare both).
    static func sgemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, serial: Bool, epilogue: GemmEpilogue,
        ownKernel: Bool
    ) {
        _ = singleThreadedOpenBLAS
        let workers = serial ? 1 : threads
        if ownKernel, m > 0, n > 0 {
            packedGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers: workers,
                       epilogue: epilogue)
            return
        }
        openBLASGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers: workers)
        if !epilogue.isEmpty { applyEpilogue(epilogue, m: m, n: n, c: c, ldc: ldc, workers: workers) }
    }

    /// The OpenBLAS path's epilogue, one pass over C split by rows.
    static func applyEpilogue(_ e: GemmEpilogue, m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, workers: Int) {
        let cp = SendablePointer(c)
        Parallel.forEach(m, grain: max(1, (1 << 15) / max(n, 1)), workers: workers) { rows in
            for i in rows {
                let row = cp.pointer + i * ldc
                if let rb = e.rowBias { for j in 0..<n { row[j] += rb[i] } }
                if let cb = e.columnBias { for j in 0..<n { row[j] += cb[j] } }
                if e.gelu { ck_gelu(row, n) }
            }
        }
    }

    static func openBLASGemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, workers: Int
    ) {
        // Below ~4 MFLOP a split costs more in hand-off than it saves.
        guard workers > 1, 2 * m * n * k >= 1 << 22, max(m, n) >= 2 * workers else {
            gemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let (ap, bp, cp) = (SendableConstPointer(a), SendableConstPointer(b), SendablePointer(c))
        // Four blocks per worker, handed out dynamically; each block repacks B, which costs a few
        // percent against a static half-and-half split but keeps a busy core from stalling the product.
        let blocks = 4
        if m >= n {
            Parallel.forEach(m, grain: 64, workers: workers, chunksPerWorker: blocks) { rows in
                // Rows of op(A): rows of A, or columns of A when transposed.
                let aBlock = ap.pointer + (transA ? rows.lowerBound : rows.lowerBound * lda)
                gemmCall(transA, transB, rows.count, n, k, alpha, aBlock, lda, bp.pointer, ldb, beta,
                         cp.pointer + rows.lowerBound * ldc, ldc)
            }
        } else {
            Parallel.forEach(n, grain: 64, workers: workers, chunksPerWorker: blocks) { cols in
                // Columns of op(B): columns of B, or rows of B when transposed.
                let bBlock = bp.pointer + (transB ? cols.lowerBound * ldb : cols.lowerBound)
                gemmCall(transA, transB, m, cols.count, k, alpha, ap.pointer, lda, bBlock, ldb, beta,
                         cp.pointer + cols.lowerBound, ldc)
            }
        }
    }

    static func gemmCall(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        flops.add(2 * m * n * k, ordering: .relaxed)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

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
        // Below ~4 MFLOP a split costs more in hand-off than it saves.
        let split = workers > 1 && 2 * m * n * k >= 1 << 22
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
        let mr = Int(CK_SGEMM_MR), nr = Int(CK_SGEMM_NR)
        let panels = (n + nr - 1) / nr, rowBlocks = (m + mr - 1) / mr
        let split = workers > 1 && 2 * m * n * k >= 1 << 22
        let (ap, cp, pp) = (SendableConstPointer(a), SendablePointer(c), SendableConstPointer(packed))
        if !split || rowBlocks >= 2 * workers {
            Parallel.forEach(rowBlocks, grain: split ? 1 : rowBlocks, workers: workers, chunksPerWorker: 4) { blocks in
                let r0 = blocks.lowerBound * mr, rows = min(blocks.upperBound * mr, m) - r0
                let aBlock = ap.pointer + (transA ? r0 : r0 * lda)
                var e = epilogue.offset(row: r0, column: 0).c
                ck_sgemm_packed(transA ? 1 : 0, rows, n, k, alpha, aBlock, lda, pp.pointer, 0, panels, beta,
                                cp.pointer + r0 * ldc, ldc, &e)
            }
        } else {
            Parallel.forEach(panels, grain: 1, workers: workers, chunksPerWorker: 4) { r in
                var e = epilogue.c
                ck_sgemm_packed(transA ? 1 : 0, m, n, k, alpha, ap.pointer, lda, pp.pointer, r.lowerBound,
                                r.upperBound, beta, cp.pointer, ldc, &e)
            }
        }
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
        let panels = (n + nr - 1) / nr
        var chunkPanels = max(1, (1 << 18) / max(k, 1) / nr)
        // At least four chunks per worker, so a busy core delays one chunk rather than half the product.
        if workers > 1 { chunkPanels = max(1, min(chunkPanels, panels / (4 * workers))) }
        let chunkColumns = chunkPanels * nr, chunks = (panels + chunkPanels - 1) / chunkPanels
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

    /// Set once, before the first product.
    static let singleThreadedOpenBLAS: Void = openblas_set_num_threads(1)

    /// Floating-point operations issued through GEMM since start (2·m·n·k each): `bench` reads it to
    /// report GFLOP/s without a hand-maintained FLOP formula per model.
    public static let flops = Atomic<Int>(0)

    private static let workerCount = Atomic<Int>(Parallel.workers)

    /// Runs `count` independent GEMM-sized problems (attention of one window and head) spread over
    /// the workers; `body` must call `sgemm(..., serial: true)`. Splitting whole problems keeps both
    /// cores busy where a 196x196x64 product is too small to split. Each worker gets its own
    /// `scratch`-float buffer.
    public static func independentProblems(_ count: Int, scratch: Int,
                                           _ body: @Sendable (Int, UnsafeMutablePointer<Float>) -> Void) {
        Parallel.forEach(count, workers: threads, chunksPerWorker: 4) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))
            defer { buffer.deallocate() }
            for i in range { body(i, buffer) }
        }
    }

    /// Worker count for products (the CLI's `--threads`); OpenBLAS itself stays single-threaded.
    public static func setThreads(_ n: Int) { workerCount.store(max(1, n), ordering: .relaxed) }
    public static var threads: Int { workerCount.load(ordering: .relaxed) }
}
