import Dispatch
import Foundation
import VideoTracking

/// Ctrl-C handling: the first SIGINT (or SIGTERM, as schedulers such as Slurm and Kubernetes send
/// before killing a task) asks the run to stop after the current frame (files stay complete, the
/// summary says "interrupted"); a second one exits at once.
final class StopSignal {
    let flag = StopFlag()
    private let sources: [any DispatchSourceSignal]

    /// `unit`: what the run finishes before stopping ("frame", "step").
    init(unit: String = "frame") {
        let flag = self.flag
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if flag.requestAgain() {
                    FileHandle.standardError.write(Data("\nsecond interrupt: exiting now\n".utf8))
                    exit(130)
                }
                let name = number == SIGTERM ? "terminate signal" : "interrupt"
                FileHandle.standardError.write(Data("\n\(name): finishing the current \(unit) (Ctrl-C again to exit now)\n".utf8))
            }
            source.resume()
            return source
        }
    }

    var isRequested: Bool { flag.isRequested }

    func disarm() {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
