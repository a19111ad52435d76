import Metrics
import PluginTraining
import Testing

/// train.py `low_res_target`: resize as the image (bilinear, align_corners=False), pad, area-downsample, > 0.5.
@Suite("RTS's low-res target")
struct LowResTargetTests {
    /// A 4x2 mask, left half set. To an 8-input: resized to 8x4 (longest side 8), each row
    /// bilinearly [1, 1, 1, .75, .25, 0, 0, 0]; rows 4-7 are padding.
    static let mask = BinaryMask(width: 4, height: 2, bits: [true, true, false, false, true, true, false, false])

    func rows(_ t: [Float], _ n: Int) -> [[Float]] { (0..<n).map { Array(t[($0 * n)..<(($0 + 1) * n)]) } }

    @Test("an integer area factor: 2x2 means of the padded input, thresholded (hand-computed)")
    func integerFactor() {
        let t = LowResTarget.make(Self.mask, imgSize: 8, lowSize: 4)
        #expect(t.shape == [1, 1, 4, 4])
        // Block means: row pairs 0-1 and 2-3 give [1, .875, .125, 0]; rows 4-7 are padding.
        #expect(rows(t.storage, 4) == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    }

    @Test("a fractional area factor uses adaptive pooling's overlapping bins, and a mean of exactly 0.5 is outside (hand-computed)")
    func fractionalFactor() {
        // Bins of 8 -> 3: [0, 3), [2, 6), [5, 8). Bin (0, 1) averages [1, .75, .25, 0] = .5, bin (1, 0)
        // averages two rows of ones and two padding rows = .5: both stay 0.
        let t = LowResTarget.make(Self.mask, imgSize: 8, lowSize: 3)
        #expect(rows(t.storage, 3) == [[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    }
}
