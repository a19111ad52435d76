import Foundation

/// Writes files so that readers (and a resumed run) only ever see a complete file or none:
/// the bytes go to a hidden temporary file in the destination's directory (same file
/// system, so the final rename is atomic), are flushed to disk, then renamed over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws(VideoIOError) {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = try temporaryPath(for: url)

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .cannotWrite(path: path, reason: "cannot create a file in \(directory): \(errnoText())")
        }
        var failure: String? = nil
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(errnoText())"
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "fsync failed: \(errnoText())" }
        if close(fd) != 0, failure == nil { failure = "close failed: \(errnoText())" }
        if failure == nil, rename(temporary, path) != 0 { failure = "rename failed: \(errnoText())" }
        if let failure {
            unlink(temporary)  // never leave a partial file behind
            throw .cannotWrite(path: path, reason: failure)
        }
    }

    /// For writers that need a file name rather than bytes (a C library writing the file itself):
    /// `body` writes the file at the temporary path it is given, in the destination's directory;
    /// the file is then flushed and renamed over `url`. When `body` throws, the temporary file is
    /// removed and nothing appears under `url`.
    public static func write(to url: URL, with body: (_ temporaryPath: String) throws(VideoIOError) -> Void) throws(VideoIOError) {
        let path = url.path
        let temporary = try temporaryPath(for: url)
        do {
            try body(temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        var failure: String? = nil
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            failure = "the writer left no file: \(errnoText())"
        } else {
            if fsync(fd) != 0 { failure = "fsync failed: \(errnoText())" }
            close(fd)
        }
        if failure == nil, rename(temporary, path) != 0 { failure = "rename failed: \(errnoText())" }
        if let failure {
            unlink(temporary)
            throw .cannotWrite(path: path, reason: failure)
        }
    }

    /// Deletes, under `folder` (recursively), the temporary files of writes that never finished: a
    /// process killed mid-write (`kill -9`, a power cut) leaves its `.<name>.<UUID>.tmp` behind.
    /// Only names of exactly that form are touched. Returns how many were removed.
    @discardableResult
    public static func removeLeftovers(in folder: URL) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: folder.path) else { return 0 }
        var removed = 0
        while let relative = walk.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard isTemporaryName(name) else { continue }
            if unlink(folder.appendingPathComponent(relative).path) == 0 { removed += 1 }
        }
        return removed
    }

    /// `.<name>.<UUID>.tmp`, as `temporaryPath` (and VideoWriter, and the safetensors writer) make them.
    static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
        let core = name.dropFirst().dropLast(4)
        guard let dot = core.lastIndex(of: "."), dot != core.startIndex else { return false }
        return UUID(uuidString: String(core[core.index(after: dot)...])) != nil
    }

    /// A hidden, unique name beside `url` (same directory, so the final rename is atomic); the
    /// directory must exist.
    private static func temporaryPath(for url: URL) throws(VideoIOError) -> String {
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .cannotWrite(path: url.path, reason: "directory \(directory) does not exist; create it first")
        }
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
