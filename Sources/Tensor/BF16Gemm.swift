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

    /// The product with a bf16-packed op(B), split across the workers as fp32's is.
    static func runPackedBF16(
        _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ packed: UnsafePointer<UInt32>, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
        workers: Int, epilogue: GemmEpilogue
    ) {
        let pp = SendableConstPointer(packed)
        splitPacked(false, m, n, k, a, lda, c, ldc, workers: workers, epilogue: epilogue) { rows, a, panels, c, e in
            ck_bgemm_packed(0, rows, n, k, alpha, a, lda, pp.pointer, panels.lowerBound, panels.upperBound, beta, c, ldc, &e)
        }
    }
}
