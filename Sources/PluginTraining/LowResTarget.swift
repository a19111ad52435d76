// The target of RTS's loss: the object mask in the decoder's low-res frame.
import Metrics
import SegmentAnything
import Tensor

/// train.py `low_res_target`: the mask resized as the image is (bilinear, align_corners=False, to
/// `get_preprocess_shape`), zero-padded to the square model input, area-downsampled to the
/// decoder's 4h x 4w output, thresholded at 0.5.
public enum LowResTarget {
    /// mask (original size) -> `[1, 1, low, low]` of 0/1.
    public static func make(_ mask: BinaryMask, imgSize: Int, lowSize: Int) -> Tensor {
        let (h, w) = ResizeLongestSide(targetLength: imgSize).outputSize(height: mask.height, width: mask.width)
        let resized = bilinear(mask, toHeight: h, width: w)
        // Area interpolation (adaptive average pooling) of the padded imgSize x imgSize plane; the
        // padding is zero, so only the resized part contributes to the sums.
        var out = Tensor(zeros: [1, 1, lowSize, lowSize])
        for oy in 0..<lowSize {
            let y0 = (oy * imgSize) / lowSize, y1 = ((oy + 1) * imgSize + lowSize - 1) / lowSize
            for ox in 0..<lowSize {
                let x0 = (ox * imgSize) / lowSize, x1 = ((ox + 1) * imgSize + lowSize - 1) / lowSize
                var sum: Float = 0
                for y in y0..<max(y0, min(y1, h)) { for x in x0..<max(x0, min(x1, w)) { sum += resized[y * w + x] } }
                let mean = sum / Float((y1 - y0) * (x1 - x0))
                out.storage[oy * lowSize + ox] = mean > 0.5 ? 1 : 0
            }
        }
        return out
    }

    /// `F.interpolate(mode="bilinear", align_corners=False)` of a 0/1 mask, float32, row-major.
    static func bilinear(_ mask: BinaryMask, toHeight oh: Int, width ow: Int) -> [Float] {
        let (ih, iw) = (mask.height, mask.width)
        let sy = Float(ih) / Float(oh), sx = Float(iw) / Float(ow)
        func taps(_ o: Int, scale: Float, size: Int) -> (Int, Int, Float) {
            let src = max((Float(o) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(src), size - 1)
            let i1 = min(i0 + 1, size - 1)
            return (i0, i1, src - Float(i0))
        }
        let xs = (0..<ow).map { taps($0, scale: sx, size: iw) }
        var out = [Float](repeating: 0, count: oh * ow)
        for y in 0..<oh {
            let (y0, y1, fy) = taps(y, scale: sy, size: ih)
            for x in 0..<ow {
                let (x0, x1, fx) = xs[x]
                func v(_ yy: Int, _ xx: Int) -> Float { mask.bits[yy * iw + xx] ? 1 : 0 }
                let top = v(y0, x0) * (1 - fx) + v(y0, x1) * fx
                let bottom = v(y1, x0) * (1 - fx) + v(y1, x1) * fx
                out[y * ow + x] = top * (1 - fy) + bottom * fy
            }
        }
        return out
    }
}
