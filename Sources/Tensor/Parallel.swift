import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Lets kernels hand raw buffers to worker threads. Safe because every worker writes a
/// disjoint range, which is the only way `parallelFor` is used.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}

public struct SendableConstPointer<T>: @unchecked Sendable {
    public let pointer: UnsafePointer<T>
    public init(_ p: UnsafePointer<T>) { pointer = p }
}

public enum Parallel {
    /// Worker count for non-BLAS kernels: the machine's cores (2 here).
    public static let workers: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body(range)` over `0..<count` split into contiguous chunks, one per worker.
    /// Small jobs (below `grain` items) run inline: thread hand-off costs more than they do.
    /// `chunksPerWorker` > 1 cuts the work finer than the worker count so that GCD hands chunks to
    /// whichever worker is free: a core shared with another process then slows one chunk, not half the job.
    public static func forEach(_ count: Int, grain: Int = 1, workers: Int = Parallel.workers, chunksPerWorker: Int = 1,
                               _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(max(workers, 1) * max(chunksPerWorker, 1), max(1, count / max(grain, 1)))
        if chunks <= 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}
