import Foundation
import Testing
@testable import Tensor

/// The bf16 product (`--precision bf16`: op(A) and op(B) rounded to bf16, fp32 accumulation) against
/// a Double reference of the unrounded operands, within a bound derived from bf16 rounding, on
/// shapes that cut across the kernel's 12-row / 32-column / 256-deep blocking and its depth pairs.
@Suite("bf16 GEMM stays within bf16 rounding of a Double reference", .enabled(if: BLAS.bf16Available, "needs AVX512_BF16"))
struct BF16GemmTests {
    struct Case: CustomStringConvertible, Sendable {
        var m, n, k: Int
        var transB = true
        var alpha: Float = 1, beta: Float = 0
        var serial = false
        var columnBias = false, gelu = false
        var description: String {
            "\(m)x\(n)x\(k) tB=\(transB) a=\(alpha) b=\(beta)\(serial ? " serial" : "")" + (columnBias ? " +colBias" : "") + (gelu ? " gelu" : "")
        }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1),                                   // one odd depth: a zero-padded pair
        Case(m: 12, n: 32, k: 256),                               // one block of each
        Case(m: 13, n: 33, k: 257),                               // ragged everywhere, odd last slice
        Case(m: 5, n: 70, k: 31, transB: false),                  // op(B) not transposed, under 32 deep
        Case(m: 300, n: 70, k: 600, columnBias: true, gelu: true), // row split, three slices, epilogue
        Case(m: 7, n: 256, k: 64, beta: 1),                       // few rows: column panels; C accumulated
        Case(m: 300, n: 70, k: 130, alpha: -0.5, serial: true),
        Case(m: 200, n: 40, k: 1000, transB: false, columnBias: true),
    ]

    /// bf16 keeps 8 significant bits: each operand is off by at most u = 2^-8 relative, so a product
    /// by (1 + u)² - 1; fp32 accumulation over k terms adds at most about k·2^-24 (taken as k·2^-23).
    /// The bound is relative to Σ|a||b| (plus beta·|C| and the bias in fp32); GELU's slope is < 1.13.
    static func bound(k: Int) -> Double {
        let u = 0x1p-8
        return (1 + u) * (1 + u) - 1 + Double(k) * 0x1p-23
    }

    @Test("alpha·A·op(B) + beta·C + bias, gelu", arguments: cases)
    func withinRounding(_ c: Case) throws {
        let lda = c.k + 3, ldb = (c.transB ? c.k : c.n) + 5, ldc = c.n + 2
        let a = values(count: c.m * lda, seed: 11)
        let b = values(count: (c.transB ? c.n : c.k) * ldb, seed: 12)
        let c0 = values(count: c.m * ldc, seed: 13)
        let bias = values(count: c.n, seed: 14)
        var out = c0
        let operand = b.withUnsafeBufferPointer {
            PackedOperand(transB: c.transB, k: c.k, n: c.n, b: $0.baseAddress!, ldb: ldb, precision: .bf16)
        }
        #expect(operand.packedBF16 != nil && operand.packed == nil)
        a.withUnsafeBufferPointer { ap in
            bias.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    BLAS.sgemm(m: c.m, packed: operand, alpha: c.alpha, a: ap.baseAddress!, lda: lda, beta: c.beta,
                               c: cp.baseAddress!, ldc: ldc, serial: c.serial,
                               epilogue: GemmEpilogue(columnBias: c.columnBias ? bp.baseAddress! : nil, gelu: c.gelu))
                }
            }
        }
        var worst = 0.0, worstShare = 0.0
        for i in 0 ..< c.m {
            for j in 0 ..< c.n {
                var exact = 0.0, magnitude = 0.0
                for p in 0 ..< c.k {
                    let x = Double(a[i * lda + p]), y = Double(c.transB ? b[j * ldb + p] : b[p * ldb + j])
                    exact += x * y
                    magnitude += abs(x * y)
                }
                var want = Double(c.alpha) * exact + (c.beta == 0 ? 0 : Double(c.beta) * Double(c0[i * ldc + j]))
                if c.columnBias { want += Double(bias[j]) }
                if c.gelu { want = 0.5 * want * (1 + erf(want / 2.0.squareRoot())) }
                let fp32Part = 1e-6 * (abs(want) + 1)   // the fp32 epilogue's own rounding
                let allowed = (c.gelu ? 1.13 : 1) * Self.bound(k: c.k) * abs(Double(c.alpha)) * magnitude + fp32Part
                let error = abs(Double(out[i * ldc + j]) - want)
                worst = max(worst, error / allowed)
                if magnitude > 0 { worstShare = max(worstShare, error / (abs(Double(c.alpha)) * magnitude)) }
            }
        }
        #expect(worst <= 1, "\(c): error reaches \(worst)x the bf16 bound")
        // The products really ran in bf16: an fp32 product would stay near 1e-7 of Σ|a||b|.
        #expect(c.k < 2 || worstShare > 0x1p-14, "\(c): largest error \(worstShare) of Σ|a||b| looks like fp32")
    }

    @Test("general products run in bf16 under BLAS.precision bf16 (convolution columns, transposed operands)",
          arguments: [(false, false, 70), (false, true, 70), (true, false, 70), (true, true, 70), (false, false, 600), (true, true, 600)])
    func generalProducts(transA: Bool, transB: Bool, m: Int) throws {
        // m x 113 x 261: full and partial 32-column panels and an odd depth slice, above the bf16 size
        // threshold; 70 rows take the few-rows path (column chunks), 600 the row-block one.
        let (n, k) = (96 + 17, 261)
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
        let a = values(count: (transA ? k : m) * lda, seed: 31), b = values(count: (transB ? n : k) * ldb, seed: 32)
        let bias = values(count: m, seed: 33)
        func run(_ precision: Precision) -> [Float] {
            var out = [Float](repeating: 0, count: m * ldc)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in bias.withUnsafeBufferPointer { rb in
                out.withUnsafeMutableBufferPointer { cp in
                    BLAS.$precision.withValue(precision) {
                        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda,
                                   b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc,
                                   epilogue: GemmEpilogue(rowBias: rb.baseAddress!))
                    }
                }
            } } }
            return out
        }
        let out = run(.bf16)
        var worst = 0.0, worstShare = 0.0
        for i in 0 ..< m {
            for j in 0 ..< n {
                var exact = Double(bias[i]), magnitude = 0.0
                for p in 0 ..< k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p]), y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    exact += x * y
                    magnitude += abs(x * y)
                }
                let error = abs(Double(out[i * ldc + j]) - exact)
                worst = max(worst, error / (Self.bound(k: k) * magnitude + 1e-6 * (abs(exact) + 1)))
                worstShare = max(worstShare, error / magnitude)
            }
        }
        #expect(worst <= 1, "tA=\(transA) tB=\(transB): error reaches \(worst)x the bf16 bound")
        #expect(worstShare > 0x1p-14, "tA=\(transA) tB=\(transB): largest error \(worstShare) of Σ|a||b| looks like fp32")
        // Under the default precision the same call is fp32.
        let fp32 = run(.fp32)
        #expect(zip(fp32, out).contains { $0 != $1 })
    }

    @Test("a linear layer packs its weight once per precision and runs bf16 only when asked")
    func linearPrecision() {
        let x = Tensor(shape: [20, 300], storage: values(count: 6000, seed: 21))
        let w = Tensor(shape: [64, 300], storage: values(count: 19200, seed: 22))
        let fp32 = x.linear(w, nil, packedWeight: PackedOperand.linearWeight(w, precision: .fp32))
        let bf16 = x.linear(w, nil, packedWeight: PackedOperand.linearWeight(w, precision: .bf16))
        let plain = x.linear(w, nil)
        let diff = zip(fp32.storage, bf16.storage).map { abs($0 - $1) }.max() ?? 0
        let fpDiff = zip(fp32.storage, plain.storage).map { abs($0 - $1) }.max() ?? 0
        #expect(diff > 1e-3 && diff < 0.5, "bf16 and fp32 differ by \(diff)")
        #expect(fpDiff < 1e-4, "fp32 paths differ by \(fpDiff)")
    }

    func values(count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0 ..< count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(Double(state % 2_000_001) / 1_000_000 - 1)
        }
    }
}
