internal import CKernels
import Synchronization

/// op(B) packed once for the AVX-512 kernel and reused by several products (the keys and values of
/// one attention head, multiplied by one block of queries at a time). Without that kernel it only
/// remembers where op(B) is, and the products run on OpenBLAS.
public final class PackedOperand: @unchecked Sendable {
    public let k: Int, n: Int
    let transB: Bool, source: UnsafePointer<Float>, ldb: Int
    let packed: UnsafeMutablePointer<Float>?
    /// op(B) as bf16 pairs for the bf16 kernel (`precision` .bf16); then `packed` is nil.
    let packedBF16: UnsafeMutablePointer<UInt32>?
    public let precision: Precision

    /// `b` must stay valid while this object is used: it is read again where the kernel is absent.
    public init(transB: Bool = false, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, precision: Precision = .fp32) {
        (self.k, self.n, self.transB, self.source, self.ldb) = (k, n, transB, b, ldb)
        // bf16 where the CPU has it (the CLI refuses --precision bf16 elsewhere; a library caller
        // on such a CPU gets fp32).
        self.precision = precision == .bf16 && BLAS.bf16Available ? .bf16 : .fp32
        if self.precision == .bf16 {
            let p = UnsafeMutablePointer<UInt32>.allocate(capacity: ck_bgemm_packed_b_words(k, n))
            ck_bgemm_pack_b(transB ? 1 : 0, k, n, b, ldb, p, 0, (n + Int(CK_SGEMM_NR) - 1) / Int(CK_SGEMM_NR))
            packedBF16 = p
            packed = nil
            return
        }
        packedBF16 = nil
        if BLAS.ownKernel {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: ck_sgemm_packed_b_floats(k, n))
            ck_sgemm_pack_b(transB ? 1 : 0, k, n, b, ldb, p, 0, (n + Int(CK_SGEMM_NR) - 1) / Int(CK_SGEMM_NR))
            packed = p
        } else {
            packed = nil
        }
    }

    /// Floats charged to `weightBudget` by this operand (packed weights only).
    private var charged = 0

    deinit {
        packed?.deallocate()
        packedBF16?.deallocate()
        if charged > 0 { PackedOperand.weightFloats.subtract(charged, ordering: .relaxed) }
    }

    /// Packed weights kept between calls, in floats, at most `weightBudget`: they are a second copy
    /// of each weight, so ViT-B (~85M floats in its linear layers) and MobileSAM keep all of theirs
    /// (~5 % faster encoder), while ViT-L/H keep part and repack the rest per call rather than grow
    /// by gigabytes.
    public static let weightBudget = 96 << 20
    static let weightFloats = Atomic<Int>(0)

    /// A linear layer's weight `[out, in]` as op(B) = weightᵀ, packed once for every later call;
    /// nil where the AVX-512 kernel is absent (OpenBLAS then reads the weight as it is) or the
    /// budget of packed weights is spent.
    /// With `precision` .bf16 the weight is packed as bf16 (half the bytes, charged as such).
    public static func linearWeight(_ weight: Tensor, precision: Precision = BLAS.precision) -> PackedOperand? {
        guard BLAS.ownKernel, weight.rank == 2 else { return nil }
        let bf16 = precision == .bf16 && BLAS.bf16Available
        let floats = bf16 ? ck_bgemm_packed_b_words(weight.shape[1], weight.shape[0])
                          : ck_sgemm_packed_b_floats(weight.shape[1], weight.shape[0])
        let total = weightFloats.add(floats, ordering: .relaxed).newValue
        guard total <= weightBudget else {
            weightFloats.subtract(floats, ordering: .relaxed)
            return nil
        }
        let p = weight.withUnsafeBufferPointer { w in
            PackedOperand(transB: true, k: weight.shape[1], n: weight.shape[0], b: w.baseAddress!, ldb: weight.shape[1],
                          precision: bf16 ? .bf16 : .fp32)
        }
        p.charged = floats
        return p
    }
}

extension BLAS {
    /// Row-major `C = epilogue(alpha * A * op(B) + beta * C)` with op(B) packed, split across the
    /// workers like `sgemm` (row blocks, or column panels when C has few rows); `serial` keeps it
    /// on the calling thread.
    public static func sgemm(m: Int, packed b: PackedOperand, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, serial: Bool = false,
                             epilogue: GemmEpilogue = GemmEpilogue()) {
        guard m > 0, b.n > 0 else { return }
        if let words = b.packedBF16, b.k > 0 {
            flops.add(2 * m * b.n * b.k, ordering: .relaxed)
            runPackedBF16(false, m, b.n, b.k, alpha, a, lda, words, beta, c, ldc, workers: serial ? 1 : threads, epilogue: epilogue)
            return
        }
        guard let p = b.packed else {
            sgemm(transB: b.transB, m: m, n: b.n, k: b.k, alpha: alpha, a: a, lda: lda, b: b.source, ldb: b.ldb,
                  beta: beta, c: c, ldc: ldc, serial: serial, epilogue: epilogue)
            return
        }
        flops.add(2 * m * b.n * b.k, ordering: .relaxed)
        runPacked(false, m, b.n, b.k, alpha, a, lda, p, beta, c, ldc, workers: serial ? 1 : threads, epilogue: epilogue)
    }
}
