import Foundation

/// The small SAM-architecture model and its Stable-SAM plugin that ship inside the package, trained
/// by this project on generated scenes (Scripts/train_base.py, Scripts/stable_sam/train.py). They make
/// every command run offline out of the box: good for the bundled clips, tests and demos, not for
/// real footage (use an official checkpoint there: `stablesam models fetch vit_b`).
public enum DefaultModel {
    public static let modelFile = "stablesam_base.safetensors"
    public static let pluginFile = "stablesam_plugin.safetensors"
    static let bundleName = "StableSAM_DefaultModel.resources"

    /// The bundled base model, or nil when the resource folder is not beside the executable.
    public static var modelURL: URL? { locate(modelFile) }
    /// The bundled plugin (trained on the frozen base model), or nil when missing.
    public static var pluginURL: URL? { locate(pluginFile) }

    /// Where the resources were looked for, for error messages.
    public static var searchedFolders: [URL] {
        var folders: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["STABLESAM_DEFAULT_MODEL_DIR"], !dir.isEmpty {
            folders.append(URL(fileURLWithPath: dir, isDirectory: true))
        }
        // SwiftPM puts the resource bundle beside the executable (and beside the test bundle).
        var executables = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()]
        if let main = Bundle.main.executableURL { executables.append(main.resolvingSymlinksInPath()) }
        for exe in executables {
            let dir = exe.deletingLastPathComponent()
            folders.append(dir.appendingPathComponent(bundleName).appendingPathComponent("Resources"))
            folders.append(dir.appendingPathComponent(bundleName))
        }
        return folders
    }

    /// Looks the file up without `Bundle.module`, whose generated accessor traps when the bundle is
    /// missing (e.g. the binary was copied without its resources); a missing file must be an error.
    static func locate(_ name: String) -> URL? {
        for folder in searchedFolders {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        return nil
    }
}
