import Foundation

/// Runs the built `stablesam` executable, which SwiftPM places beside the test bundle.
public enum CLIRunner {
    public struct Result: Sendable {
        public let status: Int32
        public let stdoutData: Data
        public let stderr: String
        public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    }

    public static var executable: URL {
        get throws {
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            // Under XCTest the bundle may be a directory (…/X.xctest/Contents/MacOS/X); walk up to the products folder.
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("stablesam")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            throw CLIRunnerError(description: "stablesam executable not found near \(CommandLine.arguments[0]); run `swift build` first")
        }
    }

    /// Output goes to files, not pipes, so a chatty child can never block on a full pipe.
    /// `executable` runs another tool (ffmpeg, ffprobe) the same way.
    public static func run(_ arguments: [String], executable: URL? = nil, environment: [String: String] = [:],
                           workingDirectory: URL? = nil) throws -> Result {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("out"), errURL = tmp.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = try executable ?? Self.executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdoutData: (try? Data(contentsOf: outURL)) ?? Data(),
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}

public struct CLIRunnerError: Error, CustomStringConvertible {
    public let description: String
}

/// A fresh temporary folder; the caller removes it.
public func temporaryFolder(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
