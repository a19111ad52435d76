internal import CBLAS
import Synchronization

/// Every call into CBLAS lives in this file (ggml-blas style: one place to audit and to test
/// against the naive reference in `NaiveKernels.swift`).
public enum BLAS {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C`, op(X) = X or Xᵀ.
    /// `A` is `[m, k]` (or `[k, m]` when `transA`), `B` is `[k, n]` (or `[n, k]` when `transB`).
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        gemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    @usableFromInline
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

    /// Floating-point operations issued through GEMM since start (2·m·n·k each): `bench` reads it to
    /// report GFLOP/s without a hand-maintained FLOP formula per model.
    public static let flops = Atomic<Int>(0)

    /// Runs `count` independent GEMM-sized problems (attention of one window and head) spread over
    /// the workers, each calling single-threaded BLAS: OpenBLAS's own thread hand-off costs more
    /// than a 196x196x64 GEMM, and splitting whole problems keeps both cores busy without it.
    /// Each worker gets its own `scratch`-float buffer. The BLAS thread count is restored after.
    public static func independentProblems(_ count: Int, scratch: Int,
                                           _ body: @Sendable (Int, UnsafeMutablePointer<Float>) -> Void) {
        let saved = threads
        setThreads(1)
        defer { setThreads(saved) }
        Parallel.forEach(count, workers: min(saved, Parallel.workers)) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))
            defer { buffer.deallocate() }
            for i in range { body(i, buffer) }
        }
    }

    /// Sets OpenBLAS's worker count once for the process (the CLI's `--threads`).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
