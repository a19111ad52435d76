import Dispatch
import Foundation
import VideoTracking

/// Ctrl-C handling: the first SIGINT asks the run to stop after the current frame (files
/// stay complete, the summary says "interrupted"); a second one exits at once.
final class StopSignal {
    let flag = StopFlag()
    private let source: any DispatchSourceSignal

    /// `unit`: what the run finishes before stopping ("frame", "step").
    init(unit: String = "frame") {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let flag = self.flag
        source.setEventHandler {
            if flag.requestAgain() {
                FileHandle.standardError.write(Data("\nsecond interrupt: exiting now\n".utf8))
                exit(130)
            }
            FileHandle.standardError.write(Data("\ninterrupt: finishing the current \(unit) (Ctrl-C again to exit now)\n".utf8))
        }
        source.resume()
    }

    var isRequested: Bool { flag.isRequested }

    func disarm() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
