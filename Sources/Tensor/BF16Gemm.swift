internal import CKernels

// bf16 products on AVX512_BF16 (CKernels/bgemm_avx512.c): opt-in (`--precision bf16`), for linear
// layers (weights packed once per precision), the attention's keys and values, and general
// products of at least 2^20 multiply-adds. Operands are rounded to bf16 while packing;
// accumulation, biases, GELU and everything outside the product stay fp32.

/// The arithmetic of the products that may run in bf16.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16
}

public struct PrecisionError: Error, CustomStringConvertible {
    public var description: String {
        "--precision bf16 needs a CPU with AVX512_BF16 (vdpbf16ps), which this one lacks: use --precision fp32"
    }
}

extension BLAS {
    /// Whether this CPU has AVX512_BF16 (and the AVX-512 kernel the bf16 one shares its blocking with).
    public static let bf16Available = ck_bgemm_available() != 0

    /// The precision of the products started on this task (`BLAS.$precision.withValue(.bf16) { ... }`):
    /// linear layers pack their weight in it on first use (one packed copy per precision), and
    /// large general products run in it. Worker threads do not see it: code that hands products
    /// to workers reads it first (ViTAttention). The setting decides per call, not per model.
    @TaskLocal public static var precision: Precision = .fp32

    /// Checks that `precision` can run here.
    public static func check(_ precision: Precision) throws {
        if precision == .bf16 && !bf16Available { throw PrecisionError() }
    }

    /// A whole product in bf16: op(B) packed (in parallel by panels), then split as fp32's is.
    static func bf16Gemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, workers: Int, epilogue: GemmEpilogue
    ) {
        flops.add(2 * m * n * k, ordering: .relaxed)
        let nr = Int(CK_SGEMM_NR)
        let panels = (n + nr - 1) / nr
        if m <= 512, n > m {
            // Few rows, many columns (a 1x1 convolution over a large plane): as fp32's wideGemm,
            // each worker packs a column chunk of about 1 MB, which stays in its L2, and runs every
            // row against it, instead of streaming all of op(B) through memory once more.
            let (chunkColumns, chunks) = wideChunks(n: n, k: k, workers: workers)
            let (ap, bp, cp) = (SendableConstPointer(a), SendableConstPointer(b), SendablePointer(c))
            Parallel.forEach(chunks, grain: workers > 1 ? 1 : chunks, workers: workers, chunksPerWorker: 4) { range in
                let buffer = UnsafeMutablePointer<UInt32>.allocate(capacity: ck_bgemm_packed_b_words(k, chunkColumns))
                defer { buffer.deallocate() }
                for chunk in range {
                    let c0 = chunk * chunkColumns, cols = min(chunkColumns, n - c0), chunkPanelCount = (cols + nr - 1) / nr
                    ck_bgemm_pack_b(transB ? 1 : 0, k, cols, bp.pointer + (transB ? c0 * ldb : c0), ldb, buffer, 0, chunkPanelCount)
                    var e = epilogue.offset(row: 0, column: c0).c
                    ck_bgemm_packed(transA ? 1 : 0, m, cols, k, alpha, ap.pointer, lda, buffer, 0, chunkPanelCount, beta,
                                    cp.pointer + c0, ldc, &e)
                }
            }
            return
        }
        let words = ck_bgemm_packed_b_words(k, n)
        let packed = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        defer { packed.deallocate() }
        let (bp, pp) = (SendableConstPointer(b), SendablePointer(packed))
        Parallel.forEach(panels, grain: words >= 1 << 16 ? 8 : panels, workers: workers) { r in
            ck_bgemm_pack_b(transB ? 1 : 0, k, n, bp.pointer, ldb, pp.pointer, r.lowerBound, r.upperBound)
        }
        runPackedBF16(transA, m, n, k, alpha, a, lda, packed, beta, c, ldc, workers: workers, epilogue: epilogue)
    }

    /// The product with a bf16-packed op(B), split across the workers as fp32's is.
    static func runPackedBF16(
        _ transA: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ packed: UnsafePointer<UInt32>, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
        workers: Int, epilogue: GemmEpilogue
    ) {
        let pp = SendableConstPointer(packed)
        splitPacked(transA, m, n, k, a, lda, c, ldc, workers: workers, epilogue: epilogue) { rows, a, panels, c, e in
            ck_bgemm_packed(transA ? 1 : 0, rows, n, k, alpha, a, lda, pp.pointer, panels.lowerBound, panels.upperBound,
                            beta, c, ldc, &e)
        }
    }
}
