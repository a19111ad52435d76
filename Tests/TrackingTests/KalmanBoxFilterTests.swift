import Imaging
import Testing
@testable import Tracking

@Suite("Kalman box filter")
struct KalmanBoxFilterTests {
    @Test("a box moving at constant velocity is predicted to within a pixel after a few frames")
    func followsConstantVelocity() {
        let noise = KalmanNoise()
        var filter = KalmanBoxFilter(box: Box(x0: 10, y0: 20, x1: 30, y1: 40), noise: noise)
        for t in 1...8 {
            filter.predict(noise: noise)
            filter.update(Box(x0: 10 + 5 * Double(t), y0: 20 - 2 * Double(t), x1: 30 + 5 * Double(t), y1: 40 - 2 * Double(t)),
                          noise: noise)
        }
        filter.predict(noise: noise)
        let truth = Box(x0: 55, y0: 2, x1: 75, y1: 22)
        #expect(abs(filter.box.centerX - truth.centerX) < 1, "\(filter.box)")
        #expect(abs(filter.box.centerY - truth.centerY) < 1, "\(filter.box)")
        #expect(abs(filter.box.width - 20) < 0.5 && abs(filter.box.height - 20) < 0.5)
        #expect(abs(filter.velocity.x - 5) < 0.5 && abs(filter.velocity.y + 2) < 0.5, "\(filter.velocity)")
    }

    @Test("measurements of a still box shrink the uncertainty; unseen frames grow it")
    func uncertainty() {
        let noise = KalmanNoise()
        let box = Box(x0: 0, y0: 0, x1: 10, y1: 10)
        var filter = KalmanBoxFilter(box: box, noise: noise)
        let start = filter.covariance[0]
        for _ in 0..<5 {
            filter.predict(noise: noise)
            filter.update(box, noise: noise)
        }
        let settled = filter.covariance[0]
        #expect(settled < start)
        for _ in 0..<5 { filter.predict(noise: noise) }
        #expect(filter.covariance[0] > settled)
        #expect(filter.box == filter.box.clipped(width: 100, height: 100) ?? .init(x0: 0, y0: 0, x1: 0, y1: 0))
        #expect(abs(filter.box.centerX - 5) < 1e-9, "no motion measured, none predicted")
    }

    @Test("damping slows the velocity, camera motion moves the estimate, sizes stay positive")
    func dampingCameraAndSize() {
        let noise = KalmanNoise()
        var filter = KalmanBoxFilter(box: Box(x0: 0, y0: 0, x1: 10, y1: 10), noise: noise)
        filter.setVelocity(x: 4, y: 0)
        filter.dampVelocity(0.5)
        #expect(filter.velocity.x == 2)
        filter.translate(dx: 3, dy: -1)
        filter.predict(noise: noise)
        #expect(filter.box.centerX == 10 && filter.box.centerY == 4)
        for _ in 0..<10 {
            filter.predict(noise: noise)
            filter.update(Box(x0: 5, y0: 5, x1: 5.01, y1: 5.01), noise: noise)
        }
        #expect(filter.box.width >= KalmanBoxFilter.minSize && filter.box.height >= KalmanBoxFilter.minSize)
    }

    @Test("the 4x4 inverse used by the update is an inverse")
    func inverse() throws {
        let m: [Double] = [4, 1, 0, 2, 1, 3, 1, 0, 0, 1, 5, 1, 2, 0, 1, 6]
        let inv = try #require(KalmanBoxFilter.inverse4(m))
        for i in 0..<4 {
            for j in 0..<4 {
                let v = (0..<4).reduce(0.0) { $0 + m[i * 4 + $1] * inv[$1 * 4 + j] }
                #expect(abs(v - (i == j ? 1 : 0)) < 1e-12)
            }
        }
        #expect(KalmanBoxFilter.inverse4([Double](repeating: 1, count: 16)) == nil)
    }
}
