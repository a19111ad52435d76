internal import CKernels

/// op(B) packed once for the AVX-512 kernel and reused by several products (the keys and values of
/// one attention head, multiplied by one block of queries at a time). Without that kernel it only
/// remembers where op(B) is, and the products run on OpenBLAS.
public final class PackedOperand: @unchecked Sendable {
    public let k: Int, n: Int
    let transB: Bool, source: UnsafePointer<Float>, ldb: Int
    let packed: UnsafeMutablePointer<Float>?

    /// `b` must stay valid while this object is used: it is read again where the kernel is absent.
    public init(transB: Bool = false, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int) {
        (self.k, self.n, self.transB, self.source, self.ldb) = (k, n, transB, b, ldb)
        if BLAS.ownKernel {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: ck_sgemm_packed_b_floats(k, n))
            ck_sgemm_pack_b(transB ? 1 : 0, k, n, b, ldb, p, 0, (n + Int(CK_SGEMM_NR) - 1) / Int(CK_SGEMM_NR))
            packed = p
        } else {
            packed = nil
        }
    }

    deinit { packed?.deallocate() }
}

extension BLAS {
    /// Row-major `C = alpha * A * op(B) + beta * C` on the calling thread, op(B) already packed.
    public static func sgemm(m: Int, packed b: PackedOperand, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, b.n > 0 else { return }
        guard let p = b.packed else {
            sgemm(transB: b.transB, m: m, n: b.n, k: b.k, alpha: alpha, a: a, lda: lda, b: b.source, ldb: b.ldb,
                  beta: beta, c: c, ldc: ldc, serial: true)
            return
        }
        flops.add(2 * m * b.n * b.k, ordering: .relaxed)
        var none = GemmEpilogue().c
        ck_sgemm_packed(0, m, b.n, b.k, alpha, a, lda, p, 0, (b.n + Int(CK_SGEMM_NR) - 1) / Int(CK_SGEMM_NR), beta,
                        c, ldc, &none)
    }
}
