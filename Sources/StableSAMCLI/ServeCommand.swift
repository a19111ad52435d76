import ArgumentParser
import Foundation
import SegmentAnything
import Serving
import Tensor
import VideoIO
import VideoTracking

/// `stablesam serve`: parses the flags, prints the URL and runs the `Serving` library's server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A local browser UI: place, correct and propagate keyframes on VIDEO, then export the run folder.",
        discussion: """
            Prints one URL with a random access token; open it in a browser on this machine. Keyframes \
            are kept in --out/prompts.json (the format `track --prompts` reads), so `serve` on the same \
            --out restores them; propagating writes --out as `stablesam track VIDEO --prompts \
            --out/prompts.json --out DIR` would, with the same --model, --plugin and output options.
            """)

    @Argument(help: "Video file or image folder.")
    var video: String

    @Option(help: "Run folder (created if missing; holds prompts.json and the run's outputs). Default: VIDEO's name + '-serve' in the current folder.")
    var out: String?

    @Option(help: "Address to listen on. Other machines can reach the server only if this says so (0.0.0.0); the token is still required.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "SAM checkpoint, a downloaded registry name, or 'default' (the small bundled model: bundled clips and demos).")
    var model: String = ModelLoader.defaultSpec

    @OptionGroup var pluginOptions: PluginOptions

    @Option(help: "How a frame between two keyframes picks between their propagations (as track's --merge).")
    var merge: KeyframeMerge = .agreement

    @OptionGroup var output: RunOutputOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
    }

    func run() async throws {
        BLAS.setThreads(output.threads)
        let videoURL = URL(fileURLWithPath: video)
        let folder = out ?? videoURL.deletingPathExtension().lastPathComponent + "-serve"
        let settings = ServeSettings(
            video: videoURL, output: URL(fileURLWithPath: folder, isDirectory: true), host: host, port: port,
            model: model, plugin: pluginOptions.plugin, route: pluginOptions.route,
            folderFrameRate: output.folderFrameRate, merge: merge, startNumber: output.startNumber,
            matteVideo: output.matteVideo, softMatte: output.softOptions.request)
        let server = try StableSAMServer(settings: settings)
        let host = self.host
        try await server.run { port in
            let line = "serving \(videoURL.lastPathComponent), run folder \(settings.output.path)\nopen "
                + StableSAMServer.url(host: host, port: port, token: settings.token) + "\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}
