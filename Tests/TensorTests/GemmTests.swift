import Foundation
import Testing
@testable import Tensor

/// `BLAS.sgemm` (the AVX-512 kernel where the CPU has it, OpenBLAS elsewhere) against a Double
/// reference, on shapes that cut across the kernel's 12-row / 32-column / 256-deep blocking.
@Suite("SGEMM matches a Double reference at every blocking edge")
struct GemmTests {
    struct Case: CustomStringConvertible, Sendable {
        var m, n, k: Int
        var transA, transB: Bool
        var alpha: Float = 1, beta: Float = 0
        var serial = false
        var rowBias = false, columnBias = false, gelu = false
        var description: String {
            "\(m)x\(n)x\(k) tA=\(transA) tB=\(transB) a=\(alpha) b=\(beta)\(serial ? " serial" : "")"
                + (rowBias ? " +rowBias" : "") + (columnBias ? " +colBias" : "") + (gelu ? " gelu" : "")
        }
    }

    static let cases: [Case] = {
        var out: [Case] = []
        // Every transpose combination on ragged shapes: partial row panels, masked columns, 3 depth slices.
        for (tA, tB) in [(false, false), (false, true), (true, false), (true, true)] {
            out.append(Case(m: 13, n: 33, k: 600, transA: tA, transB: tB))
            out.append(Case(m: 50, n: 17, k: 257, transA: tA, transB: tB, alpha: 0.5, beta: 2))
        }
        out += [
            Case(m: 1, n: 1, k: 1, transA: false, transB: false),
            Case(m: 12, n: 32, k: 256, transA: false, transB: true),       // exactly one block of each
            Case(m: 7, n: 256, k: 64, transA: false, transB: true),        // few rows: split by column panels
            Case(m: 300, n: 70, k: 130, transA: false, transB: true),      // row split across workers
            Case(m: 300, n: 70, k: 130, transA: false, transB: true, serial: true),
            Case(m: 200, n: 500, k: 100, transA: true, transB: false, alpha: -1, beta: 1),
            Case(m: 64, n: 64, k: 0, transA: false, transB: false, beta: 3),   // k = 0: C = beta·C
            // Epilogues on the row-split, column-panel, wide-chunk and serial paths.
            Case(m: 300, n: 70, k: 600, transA: false, transB: true, columnBias: true, gelu: true),
            Case(m: 40, n: 1000, k: 300, transA: false, transB: false, rowBias: true, gelu: true),
            Case(m: 7, n: 256, k: 64, transA: false, transB: true, beta: 1, rowBias: true, columnBias: true),
            Case(m: 13, n: 33, k: 20, transA: true, transB: false, serial: true, columnBias: true, gelu: true),
            Case(m: 5, n: 9, k: 0, transA: false, transB: false, rowBias: true, gelu: true),
            Case(m: 600, n: 70, k: 100, transA: true, transB: false, rowBias: true),   // row blocks
            // Wide enough for several column chunks, serial and split.
            Case(m: 20, n: 3000, k: 300, transA: false, transB: true, rowBias: true, columnBias: true),
            Case(m: 20, n: 3000, k: 300, transA: false, transB: false, serial: true, columnBias: true, gelu: true),
        ]
        return out
    }()

    @Test("C = gelu?(alpha·op(A)·op(B) + beta·C + biases), AVX-512 kernel and OpenBLAS",
          arguments: cases, [true, false])
    func matchesReference(_ c: Case, ownKernel: Bool) {
        // Without AVX-512 (or with STABLESAM_GEMM=openblas) only the OpenBLAS half applies.
        if ownKernel && !BLAS.ownKernel { return }
        // Leading dimensions larger than the rows, so strides are exercised too.
        let lda = (c.transA ? c.m : c.k) + 3, ldb = (c.transB ? c.k : c.n) + 5, ldc = c.n + 2
        let a = values(count: (c.transA ? c.k : c.m) * lda, seed: 1)
        let b = values(count: (c.transB ? c.n : c.k) * ldb, seed: 2)
        let c0 = values(count: c.m * ldc, seed: 3)
        let rowBias = values(count: c.m, seed: 4), columnBias = values(count: c.n, seed: 5)
        var out = c0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                rowBias.withUnsafeBufferPointer { rb in
                    columnBias.withUnsafeBufferPointer { cb in
                        out.withUnsafeMutableBufferPointer { cp in
                            let e = GemmEpilogue(rowBias: c.rowBias ? rb.baseAddress : nil,
                                                 columnBias: c.columnBias ? cb.baseAddress : nil, gelu: c.gelu)
                            BLAS.sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, ap.baseAddress!, lda,
                                       bp.baseAddress!, ldb, c.beta, cp.baseAddress!, ldc, serial: c.serial,
                                       epilogue: e, ownKernel: ownKernel)
                        }
                    }
                }
            }
        }
        var worst = 0.0
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k {
                    let x = Double(c.transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(c.transB ? b[j * ldb + p] : b[p * ldb + j])
                    s += x * y
                }
                var expected = Double(c.alpha) * s + Double(c.beta) * Double(c0[i * ldc + j])
                if c.rowBias { expected += Double(rowBias[i]) }
                if c.columnBias { expected += Double(columnBias[j]) }
                if c.gelu { expected = 0.5 * expected * (1 + erf(expected / 2.0.squareRoot())) }
                worst = max(worst, abs(Double(out[i * ldc + j]) - expected) / (1e-5 + 1e-5 * abs(expected) + 1e-6 * Double(c.k)))
            }
            // Padding columns past n belong to the caller and must be untouched.
            for j in c.n..<ldc { #expect(out[i * ldc + j] == c0[i * ldc + j], "column \(j) of row \(i) overwritten") }
        }
        #expect(worst <= 1, "worst error \(worst) x tolerance for \(c)")
    }

    @Test("beta = 0 ignores what C held, NaNs included (PyTorch semantics)")
    func betaZeroIgnoresC() {
        let (m, n, k) = (20, 40, 30)
        let a = values(count: m * k, seed: 4), b = values(count: k * n, seed: 5)
        var out = [Float](repeating: .nan, count: m * n)
        BLAS.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &out, ldc: n)
        #expect(out.allSatisfy { $0.isFinite })
    }

    @Test("the AVX-512 kernel and OpenBLAS agree on a transformer-sized product", .enabled(if: BLAS.ownKernel))
    func ownKernelAgreesWithOpenBLAS() {
        let (m, n, k) = (256, 384, 768)
        let a = values(count: m * k, seed: 6), w = values(count: n * k, seed: 7)
        var ours = [Float](repeating: 0, count: m * n), theirs = ours
        BLAS.sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: w, ldb: k, c: &ours, ldc: n)
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                theirs.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemmCall(false, true, m, n, k, 1, ap.baseAddress!, k, wp.baseAddress!, k, 0, cp.baseAddress!, n)
                }
            }
        }
        let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 2e-4, "largest difference \(worst)")
    }

    /// Deterministic values in [-1, 1).
    func values(count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }
}
