import Foundation
import Metrics

/// Aligned plain-text tables.
public enum ReportTable {
    public static func number(_ v: Double?, digits: Int = 3) -> String {
        guard let v, v.isFinite else { return "-" }
        return String(format: "%.\(digits)f", v)
    }

    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, s in
                c == 0 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - s.count) + s
            }.joined(separator: "  ")
        }
        let rule = String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    public static let evaluationHeader = ["sequence/object", "frames", "J&F", "J-M", "J-R", "J-D", "F-M", "F-R", "F-D",
                                   "cIoU", "areaVol", "jitter", "flicker", "varJ"]

    public static func evaluation(_ r: EvaluationReport) -> String {
        var rows: [[String]] = []
        for s in r.sequences {
            for o in r.objects where o.sequence == s.name {
                let st = o.stability
                rows.append(["\(o.sequence)/\(o.object)", "\(o.frames)", number(o.jAndF), number(o.j.mean), number(o.j.recall),
                             number(o.j.decay), number(o.f.mean), number(o.f.recall), number(o.f.decay),
                             number(st.consecutiveIoU), number(st.areaVolatility), number(st.centreJitter, digits: 2),
                             number(st.flicker, digits: 4), number(st.jTemporalVariance, digits: 4)])
            }
            rows.append(group("\(s.name) (mean of \(s.objects))", s))
        }
        rows.append(group("overall (\(r.overall.objects) objects)", r.overall))
        return render(evaluationHeader, rows)
            + "\nJ-M/R/D: region mean, recall, decay; F: boundary (tolerance \(r.boundaryThreshold)); cIoU: consecutive-frame IoU; "
            + "areaVol: relative area change; jitter: box-centre high-pass RMS (px); flicker: window \(r.flickerWindow) frames; "
            + "varJ: frame-to-frame variance of J."
    }

    public static func group(_ label: String, _ g: GroupEvaluation) -> [String] {
        [label, "", number(g.jAndF), number(g.jMean), number(g.jRecall), number(g.jDecay), number(g.fMean), number(g.fRecall),
         number(g.fDecay), number(g.consecutiveIoU), number(g.areaVolatility), number(g.centreJitter, digits: 2),
         number(g.flicker, digits: 4), number(g.jTemporalVariance, digits: 4)]
    }
}
