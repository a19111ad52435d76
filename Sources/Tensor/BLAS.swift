internal import CBLAS
internal import CKernels
import Synchronization

// Every product goes through `BLAS.sgemm` (ggml-blas style: one place to audit and to test against
// a reference). On CPUs with AVX-512 it runs StableSAM's kernel (AVX512Gemm.swift, CKernels);
// elsewhere, or with STABLESAM_GEMM=openblas, OpenBLAS, and every CBLAS call lives in this file.

public enum BLAS {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C`, op(X) = X or Xᵀ.
    /// `A` is `[m, k]` (or `[k, m]` when `transA`), `B` is `[k, n]` (or `[n, k]` when `transB`).
    ///
    /// Threads are ours for either kernel: OpenBLAS always runs single-threaded here, and large
    /// products are split into row (or column) blocks across the workers. OpenBLAS's own pool spins (sched_yield) between calls and took a core
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
            // bf16 for products large enough to pay for converting op(B) (a convolution's columns);
            // small ones (the decoder's tokens) stay fp32, and so do products under 32 deep: TinyViT's
            // first convolution (27 deep, 32 rows) spends more packing its columns into bf16 pairs
            // than the pairs save (its encoder ran 3 % faster with it in fp32: medians of 6
            // alternated `bench` runs, 243 against 251 ms).
            if k >= 32, m * n * k >= 1 << 20, precision == .bf16, bf16Available {
                bf16Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers: workers, epilogue: epilogue)
                return
            }
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
        guard worthSplitting(m, n, k, workers: workers), max(m, n) >= 2 * workers else {
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

    /// Whether a product is worth handing to several workers: below ~4 MFLOP the hand-off costs
    /// more than it saves.
    static func worthSplitting(_ m: Int, _ n: Int, _ k: Int, workers: Int) -> Bool {
        workers > 1 && 2 * m * n * k >= 1 << 22
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
