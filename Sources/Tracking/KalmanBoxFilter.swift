// Constant-velocity Kalman filter on a box, as SAMURAI (Yang et al. 2024) uses to judge SAM 2's
// candidate masks by motion. SAMURAI follows SORT/ByteTrack (state x, y, aspect, height); this
// filter keeps width and height separately so a box can change shape without an aspect term.

import Imaging

/// How uncertain the motion model is, as standard deviations in fractions of the box's size
/// (x-terms scale with the width, y-terms with the height), so one setting fits a 10-px ball
/// and a 400-px car.
public struct KalmanNoise: Sendable, Codable, Hashable {
    /// Process noise on centre and size per frame: how far the object may stray from constant velocity.
    public var position = 0.05
    /// Process noise on the centre velocities per frame (acceleration).
    public var velocity = 0.05
    /// Process noise on the size velocities per frame: sizes change smoothly (zoom, approach), and a
    /// size velocity that follows a bleeding mask is how a track balloons. 0.03 was the best of
    /// 0.01 / 0.03 on the validation clips (with `maxSizeChange` 0.15: J&F 0.533 against 0.487).
    public var sizeVelocity = 0.03
    /// Measurement noise on a mask's box: masks jitter by a few percent of their size.
    public var measurement = 0.05
    /// Prior spread of the velocity on the first frame: objects may move half their size per
    /// frame, so the filter follows a fast object from its second measurement on.
    public var initialVelocity = 0.5

    public init() {}

    enum CodingKeys: String, CodingKey { case position, velocity, sizeVelocity, measurement, initialVelocity }

    /// Missing keys keep their defaults (settings written before a field existed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        position = try c.decodeIfPresent(Double.self, forKey: .position) ?? position
        velocity = try c.decodeIfPresent(Double.self, forKey: .velocity) ?? velocity
        sizeVelocity = try c.decodeIfPresent(Double.self, forKey: .sizeVelocity) ?? sizeVelocity
        measurement = try c.decodeIfPresent(Double.self, forKey: .measurement) ?? measurement
        initialVelocity = try c.decodeIfPresent(Double.self, forKey: .initialVelocity) ?? initialVelocity
    }
}

/// State `[cx, cy, w, h, vcx, vcy, vw, vh]` in pixels and pixels per frame; measurement `[cx, cy, w, h]`.
public struct KalmanBoxFilter: Sendable, Codable, Hashable {
    /// [8]
    public private(set) var state: [Double]
    /// [8, 8] row-major
    public private(set) var covariance: [Double]

    /// Sizes never fall below this many pixels: a shrinking measurement must not turn the box inside out.
    static let minSize = 1.0

    public init(box: Box, noise: KalmanNoise) {
        let (w, h) = (max(box.width, Self.minSize), max(box.height, Self.minSize))
        state = [box.centerX, box.centerY, w, h, 0, 0, 0, 0]
        let m = noise.measurement, v = noise.initialVelocity
        let spread = [2 * m * w, 2 * m * h, 2 * m * w, 2 * m * h, v * w, v * h, v * w / 4, v * h / 4]
        covariance = [Double](repeating: 0, count: 64)
        for i in 0..<8 { covariance[i * 8 + i] = spread[i] * spread[i] }
    }

    /// The estimated box.
    public var box: Box { Box(centerX: state[0], centerY: state[1], width: state[2], height: state[3]) }
    /// Centre and size change per frame.
    public var velocity: (x: Double, y: Double, width: Double, height: Double) { (state[4], state[5], state[6], state[7]) }

    /// One frame ahead: x = F x, P = F P Fᵀ + Q with F = [[I, I], [0, I]].
    public mutating func predict(noise: KalmanNoise) {
        for i in 0..<4 { state[i] += state[i + 4] }
        clampSize()
        // With P = [[A, B], [Bᵀ, D]]: A' = A + B + Bᵀ + D, B' = B + D, D' = D.
        var p = covariance
        for r in 0..<4 {
            for c in 0..<4 {
                let a = covariance[r * 8 + c], b = covariance[r * 8 + c + 4]
                let bt = covariance[(r + 4) * 8 + c], d = covariance[(r + 4) * 8 + c + 4]
                p[r * 8 + c] = a + b + bt + d
                p[r * 8 + c + 4] = b + d
                p[(r + 4) * 8 + c] = bt + d
            }
        }
        let (w, h) = (state[2], state[3])
        let q = [noise.position * w, noise.position * h, noise.position * w, noise.position * h,
                 noise.velocity * w, noise.velocity * h, noise.sizeVelocity * w, noise.sizeVelocity * h]
        for i in 0..<8 { p[i * 8 + i] += q[i] * q[i] }
        covariance = p
    }

    /// Corrects the state with a measured box (H = [I, 0]).
    public mutating func update(_ measured: Box, noise: KalmanNoise) {
        let z = [measured.centerX, measured.centerY, measured.width, measured.height]
        let (w, h) = (state[2], state[3])
        let r = [noise.measurement * w, noise.measurement * h, noise.measurement * w, noise.measurement * h]
        // S = H P Hᵀ + R (the top-left 4x4 block plus R); K = P Hᵀ S⁻¹ (the left 8x4 columns times S⁻¹).
        var s = [Double](repeating: 0, count: 16)
        for i in 0..<4 {
            for j in 0..<4 { s[i * 4 + j] = covariance[i * 8 + j] }
            s[i * 4 + i] += r[i] * r[i]
        }
        guard let sInverse = Self.inverse4(s) else { return }
        var gain = [Double](repeating: 0, count: 32)  // [8, 4]
        for i in 0..<8 {
            for j in 0..<4 {
                var sum = 0.0
                for k in 0..<4 { sum += covariance[i * 8 + k] * sInverse[k * 4 + j] }
                gain[i * 4 + j] = sum
            }
        }
        let innovation = (0..<4).map { z[$0] - state[$0] }
        for i in 0..<8 {
            for j in 0..<4 { state[i] += gain[i * 4 + j] * innovation[j] }
        }
        // P = P - K H P (H P = the top 4 rows of P), kept symmetric against rounding.
        var p = covariance
        for i in 0..<8 {
            for j in 0..<8 {
                var sum = 0.0
                for k in 0..<4 { sum += gain[i * 4 + k] * covariance[k * 8 + j] }
                p[i * 8 + j] -= sum
            }
        }
        for i in 0..<8 {
            for j in (i + 1)..<8 {
                let m = (p[i * 8 + j] + p[j * 8 + i]) / 2
                p[i * 8 + j] = m
                p[j * 8 + i] = m
            }
        }
        covariance = p
        clampSize()
    }

    /// Moves the estimate with the camera: the whole scene shifted by (dx, dy) pixels.
    public mutating func translate(dx: Double, dy: Double) {
        state[0] += dx
        state[1] += dy
    }

    /// Sets the centre velocity (a filter restarted from an older snapshot's box and velocity).
    public mutating func setVelocity(x: Double, y: Double) {
        state[4] = x
        state[5] = y
    }

    /// Scales the velocities, e.g. while the object is unseen: hidden objects tend to stop or
    /// turn, and an undamped guess runs away from where they reappear.
    public mutating func dampVelocity(_ factor: Double) {
        for i in 4..<8 { state[i] *= factor }
    }

    /// Limits the size change the filter believes in per frame (`vw`, `vh` as a fraction of the size).
    public mutating func limitSizeVelocity(_ fraction: Double) {
        state[6] = min(max(state[6], -fraction * state[2]), fraction * state[2])
        state[7] = min(max(state[7], -fraction * state[3]), fraction * state[3])
    }

    private mutating func clampSize() {
        state[2] = max(state[2], Self.minSize)
        state[3] = max(state[3], Self.minSize)
    }

    /// Gauss-Jordan with partial pivoting; nil for a singular matrix. m: [4, 4] row-major.
    static func inverse4(_ m: [Double]) -> [Double]? {
        var a = m
        var inv = [Double](repeating: 0, count: 16)
        for i in 0..<4 { inv[i * 4 + i] = 1 }
        for col in 0..<4 {
            var pivot = col
            for r in (col + 1)..<4 where abs(a[r * 4 + col]) > abs(a[pivot * 4 + col]) { pivot = r }
            guard abs(a[pivot * 4 + col]) > 1e-12 else { return nil }
            if pivot != col {
                for c in 0..<4 {
                    a.swapAt(pivot * 4 + c, col * 4 + c)
                    inv.swapAt(pivot * 4 + c, col * 4 + c)
                }
            }
            let d = a[col * 4 + col]
            for c in 0..<4 { a[col * 4 + c] /= d; inv[col * 4 + c] /= d }
            for r in 0..<4 where r != col {
                let f = a[r * 4 + col]
                guard f != 0 else { continue }
                for c in 0..<4 {
                    a[r * 4 + c] -= f * a[col * 4 + c]
                    inv[r * 4 + c] -= f * inv[col * 4 + c]
                }
            }
        }
        return inv
    }
}
