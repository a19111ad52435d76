import Dispatch
import Foundation

/// Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise.
final class ProgressReporter {
    enum Level { case quiet, normal, verbose }
    let level: Level
    let total: Int?
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastLine: UInt64 = 0
    private var processed = 0

    init(level: Level, total: Int?) {
        self.level = level
        self.total = total
    }

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    /// `done` frames of `total` finished; `detail` is printed per frame in verbose mode.
    func frameDone(_ done: Int, processedNow: Bool, detail: @autoclosure () -> String) {
        if processedNow { processed += 1 }
        guard level != .quiet else { return }
        let seconds = elapsed
        let fps = seconds > 0 ? Double(processed) / seconds : 0
        var eta = ""
        if let total, fps > 0, total > done { eta = " ETA " + Self.clock(Double(total - done) / fps) }
        let count = total.map { "\(done)/\($0)" } ?? "\(done)"
        let stats = "frame \(count), \(String(format: "%.2f", fps)) fps\(eta)"
        if level == .verbose {
            log("\(stats): \(detail())")
        } else if isTerminal {
            var bar = ""
            if let total, total > 0 {
                let filled = min(30, 30 * done / total)
                bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            }
            FileHandle.standardError.write(Data("\r\(bar)\(stats)   ".utf8))
        } else {
            let now = DispatchTime.now().uptimeNanoseconds
            if now - lastLine > 5_000_000_000 || done == total {
                lastLine = now
                log(stats)
            }
        }
    }

    func finish() {
        if level == .normal && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func log(_ line: String) {
        guard level != .quiet else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
