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

/// Asks a run to stop after the current frame (files stay complete, the summary says
/// "interrupted"), from any thread: the CLI's SIGINT handler, a server's cancel request. The run
/// sets it too when its writer fails, so the model thread stops feeding a dead writer.
public final class StopFlag: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    public func request() { requested.store(true, ordering: .sequentiallyConsistent) }
    /// Sets the flag and says whether it was already set (a second Ctrl-C exits at once).
    public func requestAgain() -> Bool { requested.exchange(true, ordering: .sequentiallyConsistent) }
    public var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) }
}
