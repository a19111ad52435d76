import Foundation

/// The official checkpoints StableSAM knows by name. Meta's file names end in the first six hex
/// digits of the file's SHA-256, which is what a download is checked against.
public struct ModelEntry: Sendable, Equatable {
    public let name: String
    public let file: String
    public let url: String
    public let architecture: String
    /// Leading hex digits of the file's SHA-256, when published.
    public let sha256Prefix: String?
    public let summary: String

    public init(name: String, file: String, url: String, architecture: String, sha256Prefix: String?, summary: String) {
        self.name = name; self.file = file; self.url = url
        self.architecture = architecture; self.sha256Prefix = sha256Prefix; self.summary = summary
    }
}

public enum ModelRegistry {
    public static let entries: [ModelEntry] = [
        ModelEntry(name: "vit_b", file: "sam_vit_b_01ec64.pth",
                   url: "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
                   architecture: "ViT-B/16, 1024 px, 91M encoder parameters", sha256Prefix: "01ec64",
                   summary: "SAM ViT-B (Meta, Apache-2.0): the smallest official SAM"),
        ModelEntry(name: "vit_l", file: "sam_vit_l_0b3195.pth",
                   url: "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
                   architecture: "ViT-L/16, 1024 px, 308M encoder parameters", sha256Prefix: "0b3195",
                   summary: "SAM ViT-L (Meta, Apache-2.0)"),
        ModelEntry(name: "vit_h", file: "sam_vit_h_4b8939.pth",
                   url: "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
                   architecture: "ViT-H/16, 1024 px, 637M encoder parameters", sha256Prefix: "4b8939",
                   summary: "SAM ViT-H (Meta, Apache-2.0): the largest, most accurate official SAM"),
    ]

    public static func entry(named name: String) -> ModelEntry? { entries.first { $0.name == name } }

    /// `$STABLESAM_CACHE`, else `$XDG_CACHE_HOME/stablesam`, else `~/.cache/stablesam`.
    public static var cacheDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["STABLESAM_CACHE"], !dir.isEmpty { return URL(fileURLWithPath: dir, isDirectory: true) }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        return base.appendingPathComponent("stablesam", isDirectory: true)
    }

    public static func cachedFile(for entry: ModelEntry) -> URL? {
        let url = cacheDirectory.appendingPathComponent(entry.file)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
