// Segmentation losses on mask logits, as PyTorch computes them.
#if canImport(Glibc)
import Glibc
#endif
import Tensor

extension Variable {
    /// `F.binary_cross_entropy_with_logits(logits, target)` with mean reduction -> `[]`-like `[1]`.
    /// Per element PyTorch's stable form (1 − t)·x + m + log(e^−m + e^(−x−m)), m = max(−x, 0);
    /// pullback (σ(x) − t)/count.
    public static func binaryCrossEntropyWithLogits(_ logits: Variable, target: Tensor) -> Variable {
        precondition(logits.value.count == target.count, "bce: logits \(logits.shape) target \(target.shape)")
        let x = logits.value, count = x.count
        var total = 0.0
        for i in 0..<count {
            let v = x.storage[i], t = target.storage[i], m = max(-v, 0)
            total += Double((1 - t) * v + m + logf(expf(-m) + expf(-v - m)))
        }
        return result(Tensor(shape: [1], storage: [Float(total / Double(count))]), "bce", [logits]) { g in
            let s = g.storage[0] / Float(count)
            var dx = x
            for i in 0..<count { dx.storage[i] = (1 / (1 + expf(-x.storage[i])) - target.storage[i]) * s }
            return [dx]
        }
    }

    /// Soft Dice loss with smoothing 1 over each batch row (dim 0) flattened, mean over rows:
    /// 1 − mean_b((2Σ p·t + 1) / (Σ p + Σ t + 1)), p = σ(logits) (Scripts/stable_sam/train.py `bce_dice`).
    /// Pullback per element: −(1/B)·(2t·den − num)/den² · p(1 − p).
    public static func diceLoss(_ logits: Variable, target: Tensor) -> Variable {
        precondition(logits.value.count == target.count, "dice: logits \(logits.shape) target \(target.shape)")
        let x = logits.value, rows = x.shape[0], n = x.count / rows
        let p = x.sigmoid()
        var nums = [Double](repeating: 0, count: rows), dens = [Double](repeating: 0, count: rows)
        var mean = 0.0
        for r in 0..<rows {
            var pt = 0.0, ps = 0.0, ts = 0.0
            for i in (r * n)..<((r + 1) * n) {
                pt += Double(p.storage[i]) * Double(target.storage[i])
                ps += Double(p.storage[i])
                ts += Double(target.storage[i])
            }
            nums[r] = 2 * pt + 1
            dens[r] = ps + ts + 1
            mean += nums[r] / dens[r]
        }
        mean /= Double(rows)
        return result(Tensor(shape: [1], storage: [Float(1 - mean)]), "dice", [logits]) { g in
            var dx = x
            for r in 0..<rows {
                let (num, den) = (nums[r], dens[r])
                for i in (r * n)..<((r + 1) * n) {
                    let pv = Double(p.storage[i])
                    let dRatio = (2 * Double(target.storage[i]) * den - num) / (den * den)
                    dx.storage[i] = Float(-Double(g.storage[0]) / Double(rows) * dRatio * pv * (1 - pv))
                }
            }
            return [dx]
        }
    }
}
