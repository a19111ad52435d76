import Foundation
import Hummingbird
import Logging
import NIOCore

/// `stablesam serve`: one video, one run folder, one page, on a Hummingbird server bound to
/// `settings.host`. `run` returns when the task is cancelled or the process is asked to stop.
public final class StableSAMServer: Sendable {
    public let settings: ServeSettings
    let session: ServeSession

    /// Opens the video and the run folder (a bad video fails here, before anything listens).
    public init(settings: ServeSettings) throws {
        self.settings = settings
        session = try ServeSession(settings: settings)
    }

    /// The URL to open: this server's address with the token.
    public static func url(host: String, port: Int, token: String) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)/?token=\(token)"
    }

    /// Serves until cancelled; `onListening` gets the bound port (the one asked for, or the one
    /// the system chose for port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router(context: ServeContext.self)
        let settings = self.settings
        let bound = Locked<Int?>(nil)
        // The Host check needs the real port; with port 0 it is known only once bound.
        router.add(middleware: LazyGuard(token: settings.token, host: settings.host, port: { bound.read { $0 } ?? settings.port }))
        Routes.add(to: router, session: session)
        var logger = Logger(label: "stablesam.serve")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? settings.port
                                  bound.update { $0 = port }
                                  onListening(port)
                              }, logger: logger)
        do {
            try await app.runService()
            // A running propagation stops after its frame and writes its summary (interrupted;
            // propagate again continues it) before the process may end.
            await session.stopAndWait()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ServeStartError(message: "port \(settings.port) on \(settings.host) is in use: give another --port (0 picks a free one)")
        } catch let error as IOError {
            throw ServeStartError(message: "cannot listen on \(settings.host):\(settings.port): \(error): check --host and --port")
        }
    }
}

/// The server could not start listening; the message says what to change.
public struct ServeStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// `AccessGuard` for a port known only once the server is bound.
struct LazyGuard: RouterMiddleware {
    typealias Context = ServeContext
    let token: String
    let host: String
    let port: @Sendable () -> Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await AccessGuard(token: token, host: host, port: port()).handle(request, context: context, next: next)
    }
}
