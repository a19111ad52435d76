import Foundation
import Testing
import TestSupport

/// Faults during `track` (issue 17): a killed process, a full disk, a read-only output folder,
/// a truncated video. Each ends in a clear error or a complete run, never a crash, and nothing
/// is lost: `--resume` afterwards writes exactly the files of an uninterrupted run.
@Suite("faults during track", .serialized)
struct FaultTests {
    static let box = ["--box", "4,12,18,26"]

    func track(_ video: String, _ out: String, _ extra: [String] = []) throws -> TrackCLI.Result {
        try TrackCLI.run(["track", video, "--model", TrackCLI.tinyModel, "--out", out, "--quiet", "--threads", "1"] + Self.box + extra)
    }

    /// Every file under `folder` (hidden ones too) by relative path.
    static func files(_ folder: URL) -> [String: Data] {
        var out: [String: Data] = [:]
        let walk = FileManager.default.enumerator(atPath: folder.path)
        while let relative = walk?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let url = folder.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[relative] = try? Data(contentsOf: url)
            }
        }
        return out
    }

    /// summary.json without what describes the invocation rather than the result (timings, the
    /// frames this process saw, the frame it resumed after).
    static func summaryResult(_ data: Data?) throws -> NSDictionary {
        let object = try JSONSerialization.jsonObject(with: data ?? Data()) as! [String: Any]
        return object.filter { !["timings", "frames", "resumed_after_frame"].contains($0.key) } as NSDictionary
    }

    /// The files of `folder` equal those of `reference`, summary.json's result included.
    static func expectSameRun(_ folder: URL, as reference: URL, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = files(folder), want = files(reference)
        #expect(Set(got.keys) == Set(want.keys), "\(context): files differ: \(Set(got.keys).symmetricDifference(want.keys).sorted())",
                sourceLocation: sourceLocation)
        for (name, data) in want where name != "summary.json" {
            #expect(got[name] == data, "\(context): \(name) differs", sourceLocation: sourceLocation)
        }
        #expect(try summaryResult(got["summary.json"]) == summaryResult(want["summary.json"]), "\(context): summary.json differs",
                sourceLocation: sourceLocation)
    }

    static func makeClip(_ s: Scratch) throws {
        try TrackCLI.makeClip(s.file("clip.mp4"), size: (160, 120), frames: 120, rate: 25)
    }

    @Test("kill -9 at random frames, then --resume, gives the files of an uninterrupted run")
    func killAndResume() throws {
        let s = try Scratch()
        try Self.makeClip(s)
        let reference = try track(s.path("clip.mp4"), s.path("reference"))
        #expect(reference.status == 0, "\(reference.stderr)")
        // Three points spread over the clip (fixed, so a failure reproduces). The second run is
        // started and resumed as `track clip.mp4 --out killed1` from the clip's folder: a relative
        // path must resume too (the state records it absolute).
        for (n, killAt) in [3, 40, 90].enumerated() {
            let relative = n == 1
            let out = s.path("killed\(n)")
            let arguments = ["track", relative ? "clip.mp4" : s.path("clip.mp4"), "--model", TrackCLI.tinyModel,
                             "--out", relative ? "killed\(n)" : out, "--quiet", "--threads", "1"] + Self.box
            let process = Process()
            process.executableURL = try CLIRunner.executable
            process.arguments = arguments
            process.currentDirectoryURL = s.url
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while s.list("killed\(n)/frames").count < killAt && Date() < deadline && process.isRunning { usleep(2_000) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try #require(process.terminationReason == .uncaughtSignal, "the run ended before it was killed at frame \(killAt)")
            #expect(!FileManager.default.fileExists(atPath: out + "/overlay.mp4"), "no overlay from a killed run")
            let resumed = try CLIRunner.run(arguments + ["--resume"], workingDirectory: s.url)
            #expect(resumed.status == 0, "killed at \(killAt): \(resumed.stderr)")
            try Self.expectSameRun(URL(fileURLWithPath: out), as: s.file("reference"), "killed at frame \(killAt)")
        }
    }

    @Test("a full disk ends in a clear error with no partial file; --resume after freeing space completes",
          .enabled(if: Tmpfs.available, "needs root to mount a small tmpfs"))
    func fullDisk() throws {
        let s = try Scratch()
        try Self.makeClip(s)
        #expect(try track(s.path("clip.mp4"), s.path("reference")).status == 0)
        let mount = try Tmpfs(at: s.file("disk"), kilobytes: 40)
        defer { mount.unmount() }
        let out = s.file("disk/out")
        let r = try track(s.path("clip.mp4"), out.path)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        // What is there under its final name is whole: every frame record parses, no overlay or
        // summary claims a finished run, and no temporary file is left.
        let written = Self.files(out)
        #expect(!written.isEmpty && written.count < Self.files(s.file("reference")).count)
        for (name, data) in written {
            #expect(!name.hasSuffix(".tmp"), "\(name) left behind")
            if name.hasSuffix(".json") { #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "\(name) is cut short") }
        }
        #expect(written["overlay.mp4"] == nil)
        try mount.resize(kilobytes: 8192)
        let resumed = try track(s.path("clip.mp4"), out.path, ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        try Self.expectSameRun(out, as: s.file("reference"), "full disk, then --resume")
    }

    @Test("a read-only output folder is a clear error", .enabled(if: Tmpfs.available, "needs root to mount a read-only tmpfs"))
    func readOnlyOutput() throws {
        let s = try Scratch()
        try Self.makeClip(s)
        let mount = try Tmpfs(at: s.file("ro"), kilobytes: 64, readOnly: true)
        defer { mount.unmount() }
        let r = try track(s.path("clip.mp4"), s.path("ro/out"))
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("read only") && r.stderr.contains("choose a writable --out"), "\(r.stderr)")
    }

    @Test("a video truncated mid-stream is tracked up to the cut, or refused clearly")
    func truncatedVideo() throws {
        let s = try Scratch()
        try Self.makeClip(s)
        // MPEG-TS keeps no index: cut in half, it decodes up to the cut.
        try TrackCLI.tool("ffmpeg", ["-i", s.path("clip.mp4"), "-c", "copy", "-f", "mpegts", s.path("clip.ts")])
        let ts = try Data(contentsOf: s.file("clip.ts"))
        try ts.prefix(ts.count / 2).write(to: s.file("half.ts"))
        let cut = try track(s.path("half.ts"), s.path("ts-out"))
        #expect(cut.status == 0, "\(cut.stderr)")
        let frames = s.list("ts-out/frames").count
        #expect(frames > 10 && frames < 120, "\(frames) frames from half a 120-frame stream")
        // MP4 keeps its index (moov) at the end: cut in half, it has none.
        let mp4 = try Data(contentsOf: s.file("clip.mp4"))
        try mp4.prefix(mp4.count / 2).write(to: s.file("half.mp4"))
        let refused = try track(s.path("half.mp4"), s.path("mp4-out"))
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("half.mp4"), "\(refused.stderr)")
    }
}

/// A small tmpfs mounted for one test (root only), to fill up or to make read-only.
final class Tmpfs {
    let url: URL

    static let available: Bool = {
        guard getuid() == 0 else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-probe-\(UUID().uuidString)")
        guard let mount = try? Tmpfs(at: probe, kilobytes: 16) else { return false }
        mount.unmount()
        return true
    }()

    init(at url: URL, kilobytes: Int, readOnly: Bool = false) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", (readOnly ? "ro," : "") + "size=\(kilobytes)k", "tmpfs", url.path])
    }

    func resize(kilobytes: Int) throws {
        try Self.mount(["-o", "remount,size=\(kilobytes)k", url.path])
    }

    func unmount() {
        _ = try? CLIRunner.run(["-l", url.path], executable: URL(fileURLWithPath: "/bin/umount"))
    }

    private static func mount(_ arguments: [String]) throws {
        let r = try CLIRunner.run(arguments, executable: URL(fileURLWithPath: "/bin/mount"))
        guard r.status == 0 else { throw TrackCLI.Failure(description: "mount \(arguments): \(r.stderr)") }
    }
}
