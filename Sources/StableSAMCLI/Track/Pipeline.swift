import Dispatch
import Foundation
import Synchronization

/// A bounded FIFO between two threads: `put` blocks while full (so a fast decoder cannot
/// run ahead and fill memory), `take` blocks while empty. `close` wakes both sides.
/// @unchecked Sendable: every access to `items` and `closed` holds `condition`'s lock.
final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// False when the queue was closed (the consumer stopped): the producer should stop too.
    @discardableResult
    func put(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, or nil once the queue is closed and drained.
    func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Moves a non-Sendable object to the one thread that will use it from then on.
/// @unchecked Sendable: the creator gives the value up at the hand-off and never touches it again.
struct HandOff<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs `body` on a new thread; `join()` waits for it.
final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        // The decode and write threads do a frame's worth of work each; 8 MB keeps deep
        // FFmpeg/encoder call stacks safe.
        thread.stackSize = 8 << 20
        thread.start()
    }

    func join() { done.wait() }
}

/// A stop request shared by threads (set by Ctrl-C or by a failing writer).
final class StopFlag: Sendable {
    private let requested = Atomic<Bool>(false)

    func request() { requested.store(true, ordering: .sequentiallyConsistent) }
    /// Sets the flag and says whether it was already set.
    func requestAgain() -> Bool { requested.exchange(true, ordering: .sequentiallyConsistent) }
    var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) }
}

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
