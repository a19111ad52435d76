import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock per sequence (`--out/.locks/<seq>.lock`), held while a process tracks it, so
/// two tasks given overlapping shares (another N, a re-submitted task whose first copy still
/// runs) never write one folder at once. The kernel drops it when its process dies, so a killed
/// task never leaves a sequence locked.
public final class SequenceLock {
    private let fd: Int32

    /// nil when another process holds the sequence.
    public init?(_ layout: BatchLayout, sequence: String) throws {
        let folder = layout.root.appendingPathComponent(".locks", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(sequence + ".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BatchError.unreadable(path: path, reason: "cannot open the lock file (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
