// Hand-computed mean, recall and decay, including sequences past 256 frames where the official
// DAVIS 2017 code's uint8 bin edges wrap around.
import Metrics
import Testing

@Suite("Mean, recall and decay")
struct SequenceStatisticsTests {
    @Test("recall counts frames strictly above 0.5")
    func recall() {
        let s = SequenceStatistics.summarize([0.5, 0.51, 0.9, 0.2])
        #expect(s.recall == 0.5)
        #expect(abs(s.mean! - 0.5275) < 1e-12)
    }

    @Test("decay of four frames uses DAVIS's overlapping bins: mean(v0, v1) - mean(v2, v3)")
    func decayFourFrames() {
        #expect(SequenceStatistics.decayEdges(frameCount: 4) == [0, 1, 2, 2, 3])
        #expect(abs(SequenceStatistics.decay([1, 0.8, 0.6, 0.4])! - 0.4) < 1e-12)
    }

    @Test("decay of one frame is 0 and of no frame is undefined")
    func decayDegenerate() {
        #expect(SequenceStatistics.decay([0.7]) == 0)
        #expect(SequenceStatistics.summarize([]) == SequenceSummary(mean: nil, recall: nil, decay: nil))
    }

    @Test("up to 256 frames the bin edges equal the official DAVIS 2017 ones")
    func edgesUpTo256() {
        for n in [1, 2, 5, 10, 69, 100, 255, 256] {
            #expect(SequenceStatistics.decayEdges(frameCount: n) == SequenceStatistics.officialDAVIS2017Edges(frameCount: n))
        }
        #expect(SequenceStatistics.decayEdges(frameCount: 10) == [0, 2, 5, 7, 9])
        #expect(SequenceStatistics.decayEdges(frameCount: 256) == [0, 64, 128, 191, 255])
    }

    @Test("a 300-frame sequence gets its real last quarter, where the official edges leave it empty")
    func decay300() {
        let v = (0..<300).map { 1 - Double($0) / 300 }
        #expect(SequenceStatistics.decayEdges(frameCount: 300) == [0, 75, 150, 224, 299])
        #expect(SequenceStatistics.officialDAVIS2017Edges(frameCount: 300) == [0, 75, 150, 224, 43])
        // First bin: frames 0...75, mean index 37.5; last bin: frames 224...299, mean index 261.5.
        #expect(abs(SequenceStatistics.decay(v)! - (261.5 - 37.5) / 300) < 1e-12)
        #expect(SequenceStatistics.decay(v, edges: SequenceStatistics.officialDAVIS2017Edges(frameCount: 300)) == nil)
    }

    @Test("a 400-frame sequence's decay uses frames 299...399, not the official 43...143")
    func decay400() {
        let v = (0..<400).map { 1 - Double($0) / 400 }
        // Ours: mean index 50 vs 349. Official: 50 vs 93 (numpy gives 0.1075 for this ramp).
        #expect(abs(SequenceStatistics.decay(v)! - 299.0 / 400) < 1e-12)
        let official = SequenceStatistics.decay(v, edges: SequenceStatistics.officialDAVIS2017Edges(frameCount: 400))!
        #expect(abs(official - 0.1075) < 1e-12)
    }
}
