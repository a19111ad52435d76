internal import CKernels

// bf16 products on AVX512_BF16 (CKernels/bgemm_avx512.c): opt-in (`--precision bf16`), for the
// large products whose weights are packed once (linear layers). Operands are rounded to bf16
// while packing; accumulation, biases, GELU and everything outside the product stay fp32.

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

    /// The precision that linear layers' weights are packed in when first used on this task:
    /// `BLAS.$precision.withValue(.bf16) { ... }`. A packed weight keeps the precision it was
    /// packed in (a layer keeps one per precision), so the setting decides per call, not per model.
    @TaskLocal public static var precision: Precision = .fp32

    /// Checks that `precision` can run here.
    public static func check(_ precision: Precision) throws {
        if precision == .bf16 && !bf16Available { throw PrecisionError() }
    }

    /// The product with a bf16-packed op(B), split across the workers as `runPacked` splits fp32.
    static func runPackedBF16(
        _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ packed: UnsafePointer<UInt32>, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
        workers: Int, epilogue: GemmEpilogue
    ) {
        let mr = Int(CK_SGEMM_MR), nr = Int(CK_SGEMM_NR)
        let panels = (n + nr - 1) / nr, rowBlocks = (m + mr - 1) / mr
        let split = worthSplitting(m, n, k, workers: workers)
        let (ap, cp, pp) = (SendableConstPointer(a), SendablePointer(c), SendableConstPointer(packed))
        if !split || rowBlocks >= 2 * workers {
            Parallel.forEach(rowBlocks, grain: split ? 1 : rowBlocks, workers: workers, chunksPerWorker: 4) { blocks in
                let r0 = blocks.lowerBound * mr, rows = min(blocks.upperBound * mr, m) - r0
                var e = epilogue.offset(row: r0, column: 0).c
                ck_bgemm_packed(0, rows, n, k, alpha, ap.pointer + r0 * lda, lda, pp.pointer, 0, panels, beta,
                                cp.pointer + r0 * ldc, ldc, &e)
            }
        } else {
            Parallel.forEach(panels, grain: 1, workers: workers, chunksPerWorker: 4) { r in
                var e = epilogue.c
                ck_bgemm_packed(0, m, n, k, alpha, ap.pointer, lda, pp.pointer, r.lowerBound, r.upperBound, beta,
                                cp.pointer, ldc, &e)
            }
        }
    }
}
