import Foundation

/// Where each output of a run lives in its output folder (DESIGN.md, "Outputs of stablesam track").
public struct TrackLayout: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public var overlay: URL { root.appendingPathComponent("overlay.mp4") }
    public var matteVideo: URL { root.appendingPathComponent("matte.mov") }
    public var summary: URL { root.appendingPathComponent("summary.json") }
    /// Tracker state after the last completed frame; what a resumed run continues from.
    public var resumeState: URL { root.appendingPathComponent(".resume.json") }
    public var framesFolder: URL { root.appendingPathComponent("frames") }
    public var paletteFolder: URL { root.appendingPathComponent("palette") }
    public func maskFolder(id: Int) -> URL { root.appendingPathComponent("masks").appendingPathComponent(String(id)) }

    public func frameFile(_ index: Int) -> URL { framesFolder.appendingPathComponent(Self.number(index) + ".json") }
    public func maskFile(id: Int, number: Int) -> URL { maskFolder(id: id).appendingPathComponent(Self.number(number) + ".png") }
    public func paletteFile(number: Int) -> URL { paletteFolder.appendingPathComponent(Self.number(number) + ".png") }

    /// File numbers: six digits, zero-padded.
    public static func number(_ n: Int) -> String { String(format: "%06d", n) }

    /// Creates the folders; an unwritable output folder fails here, before the model is loaded.
    func prepare(ids: [Int]) throws {
        do {
            for folder in [framesFolder, paletteFolder] + ids.map({ maskFolder(id: $0) }) {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw OutputFolderError(path: root.path, reason: error.localizedDescription)
        }
        guard FileManager.default.isWritableFile(atPath: framesFolder.path) else {
            throw OutputFolderError(path: root.path, reason: "permission denied")
        }
    }
}
