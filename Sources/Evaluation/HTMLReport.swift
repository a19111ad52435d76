import Foundation
import Metrics

/// Self-contained HTML reports: inline CSS and SVG only, so a report opens offline and can be mailed as one file.
public enum HTMLReport {
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1150px; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
        table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 8px; text-align: right; border-bottom: 1px solid #ddd; }
        td:first-child, th:first-child { text-align: left; } tr.group td { font-weight: 600; background: #f4f4f4; }
        .note { color: #666; font-size: 12px; } svg text { font: 11px system-ui, sans-serif; fill: #333; }
        </style></head><body>
        <h1>\(escape(title))</h1>
        \(body)
        </body></html>
        """
    }

    public static func table(_ header: [String], _ rows: [[String]], groupRows: Set<Int> = []) -> String {
        var s = "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for (i, r) in rows.enumerated() {
            s += "<tr\(groupRows.contains(i) ? " class=\"group\"" : "")>" + r.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return s + "</table>"
    }

    /// Line chart of series in [0, 1] against frame index.
    public static func lineChart(_ series: [(name: String, values: [Double])], width: Int = 1100, height: Int = 260) -> String {
        let (left, right, top, bottom) = (40.0, 150.0, 10.0, 30.0)
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let n = max(series.map(\.values.count).max() ?? 1, 2)
        func x(_ i: Int) -> Double { left + plotW * Double(i) / Double(n - 1) }
        func y(_ v: Double) -> Double { top + plotH * (1 - min(max(v, 0), 1)) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\">"
        for g in stride(from: 0.0, through: 1.0, by: 0.25) {
            s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(y(g))\" y2=\"\(y(g))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(y(g) + 4)\" text-anchor=\"end\">\(String(format: "%.2f", g))</text>"
        }
        for t in [0, (n - 1) / 2, n - 1] {
            s += "<text x=\"\(x(t))\" y=\"\(Double(height) - 10)\" text-anchor=\"middle\">frame \(t)</text>"
        }
        for (k, line) in series.enumerated() {
            let colour = palette[k % palette.count]
            let points = line.values.enumerated().map { String(format: "%.1f,%.1f", x($0), y($1)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\" points=\"\(points)\"/>"
            s += "<rect x=\"\(left + plotW + 12)\" y=\"\(top + Double(k) * 16)\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            s += "<text x=\"\(left + plotW + 26)\" y=\"\(top + Double(k) * 16 + 9)\">\(escape(line.name))</text>"
        }
        return s + "</svg>"
    }

    /// Grouped horizontal bars: one group per label, one bar per series; values scaled to `maxValue`.
    public static func barChart(labels: [String], series: [(name: String, values: [Double?])], maxValue: Double = 1,
                         digits: Int = 3, width: Int = 1100) -> String {
        let barH = 14.0, gap = 10.0, left = 170.0, right = 150.0
        let groupH = Double(series.count) * barH + gap
        let height = Int(Double(labels.count) * groupH + 20)
        let plotW = Double(width) - left - right - 60  // room for the value label of a full-length bar
        let scale = maxValue > 0 ? maxValue : 1
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\">"
        for (i, label) in labels.enumerated() {
            let y0 = 10 + Double(i) * groupH
            s += "<text x=\"\(left - 8)\" y=\"\(y0 + groupH / 2)\" text-anchor=\"end\">\(escape(label))</text>"
            for (k, serie) in series.enumerated() {
                let y = y0 + Double(k) * barH
                guard let v = serie.values[i], v.isFinite else {
                    s += "<text x=\"\(left + 4)\" y=\"\(y + barH - 3)\">n/a</text>"
                    continue
                }
                let w = plotW * min(max(v / scale, 0), 1)
                s += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(String(format: "%.1f", w))\" height=\"\(barH - 2)\" fill=\"\(palette[k % palette.count])\"/>"
                s += "<text x=\"\(left + w + 4)\" y=\"\(y + barH - 3)\">\(String(format: "%.\(digits)f", v))</text>"
            }
        }
        for (k, serie) in series.enumerated() {
            s += "<rect x=\"\(left + plotW + 100)\" y=\"\(10 + Double(k) * 16)\" width=\"10\" height=\"10\" fill=\"\(palette[k % palette.count])\"/>"
            s += "<text x=\"\(left + plotW + 114)\" y=\"\(19 + Double(k) * 16)\">\(escape(serie.name))</text>"
        }
        return s + "</svg>"
    }

    /// `preface`: HTML placed before the scores (a batch's list of sequences that failed).
    /// Per-frame J is drawn for up to this many objects; beyond, the lines are unreadable (report.json has them).
    static let perFrameChartLimit = 16

    public static func evaluation(_ r: EvaluationReport, prediction: String, groundTruth: String, preface: String = "",
                                  title: String = "StableSAM evaluation") -> String {
        var rows: [[String]] = [], groups = Set<Int>()
        for s in r.sequences {
            for o in r.objects where o.sequence == s.name {
                rows.append(ReportTable.group("\(o.sequence)/\(o.object)", VideoEvaluation.group("", [o])).enumerated()
                    .map { $0 == 1 ? "\(o.frames)" : $1 })
            }
            groups.insert(rows.count)
            rows.append(ReportTable.group("\(s.name) (mean of \(s.objects))", s))
        }
        groups.insert(rows.count)
        rows.append(ReportTable.group("overall (\(r.overall.objects) objects)", r.overall))
        let names = r.objects.map { "\($0.sequence)/\($0.object)" }
        let o = r.overall
        var body = "<p>Prediction <code>\(escape(prediction))</code> against ground truth <code>\(escape(groundTruth))</code>. "
        body += "J&amp;F \(ReportTable.number(o.jAndF)), J \(ReportTable.number(o.jMean)), F \(ReportTable.number(o.fMean)) "
        body += "over \(o.objects) objects.</p>" + preface
        body += "<h2>Scores</h2>" + table(ReportTable.evaluationHeader, rows, groupRows: groups)
        body += "<p class=\"note\">Boundary tolerance \(r.boundaryThreshold) (of the diagonal when below 1); flicker window "
        body += "\(r.flickerWindow) frames. Decay uses DAVIS quartile bins, correct past 256 frames.</p>"
        if r.objects.count <= perFrameChartLimit {
            body += "<h2>Per-frame J</h2>" + lineChart(r.objects.map { ("\($0.sequence)/\($0.object)", $0.jPerFrame) })
        } else {
            body += "<p class=\"note\">Per-frame J of the \(r.objects.count) objects is in the JSON report (j_per_frame).</p>"
        }
        body += "<h2>Temporal stability: consecutive-frame IoU (prediction vs ground truth)</h2>"
        body += barChart(labels: names, series: [("prediction", r.objects.map(\.stability.consecutiveIoU)),
                                                 ("ground truth", r.objects.map(\.groundTruthStability.consecutiveIoU))])
        let flicker = r.objects.flatMap { [$0.stability.flicker, $0.groundTruthStability.flicker] }.compactMap { $0 }
        body += "<h2>Flicker (share of object pixels that flip back within \(r.flickerWindow) frames)</h2>"
        body += barChart(labels: names, series: [("prediction", r.objects.map(\.stability.flicker)),
                                                 ("ground truth", r.objects.map(\.groundTruthStability.flicker))],
                         maxValue: max(flicker.max() ?? 0, 1e-6), digits: 4)
        let jitter = r.objects.flatMap { [$0.stability.centreJitter, $0.groundTruthStability.centreJitter] }.compactMap { $0 }
        body += "<h2>Box-centre jitter (px)</h2>"
        body += barChart(labels: names, series: [("prediction", r.objects.map(\.stability.centreJitter)),
                                                 ("ground truth", r.objects.map(\.groundTruthStability.centreJitter))],
                         maxValue: max(jitter.max() ?? 0, 1e-6), digits: 2)
        return page(title: title, body: body)
    }
}
