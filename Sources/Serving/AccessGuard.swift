import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Refuses, before any route runs: a request without the token (`?token=` or the
/// `X-StableSAM-Token` header), one whose `Host` is not this server's address (DNS rebinding: a
/// foreign name resolving to 127.0.0.1), one whose `Origin` is another site's (a cross-site form
/// or fetch), and a body over `maxBody` (the connection is closed, the body not read).
struct AccessGuard: RouterMiddleware {
    typealias Context = ServeContext
    static let maxBody = 64 * 1024
    static let tokenHeader = HTTPField.Name("X-StableSAM-Token")!

    let token: String
    /// `host:port` forms a browser may send for this server.
    let hosts: Set<String>

    init(token: String, host: String, port: Int) {
        self.token = token
        var names: Set<String> = [host]
        if host == "127.0.0.1" || host == "localhost" || host == "::1" { names.formUnion(["127.0.0.1", "localhost", "[::1]"]) }
        if host.contains(":") && !host.hasPrefix("[") { names.insert("[\(host)]") }
        hosts = Set(names.map { "\($0.lowercased()):\(port)" })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HTTP/1's Host header arrives as the authority (HTTP/2's :authority the same way).
        guard let authority = request.head.authority, hosts.contains(authority.lowercased()) else {
            return ServeResponse.refusal(.forbidden, "foreign or missing Host header: open the URL the server printed")
        }
        if let origin = request.headers[.origin] {
            guard origin != "null", let url = URL(string: origin), url.scheme == "http", let h = url.host, let port = url.port,
                  hosts.contains("\(h.contains(":") ? "[\(h)]" : h):\(port)".lowercased()) else {
                return ServeResponse.refusal(.forbidden, "request from another site (Origin \(origin)) refused")
            }
        }
        let given = request.headers[Self.tokenHeader] ?? request.uri.queryParameters["token"].map(String.init)
        guard let given, AccessToken.matches(given, token) else {
            return ServeResponse.refusal(.forbidden, "missing or wrong access token: open the URL the server printed (it carries ?token=...)")
        }
        if let length = request.headers[.contentLength] {
            guard let n = Int(length), n >= 0 else { return ServeResponse.refusal(.badRequest, "Content-Length \(length) is not a size") }
            if n > Self.maxBody { return Self.refuseBody(n, context: context) }
        }
        do {
            return try await next(request, context)
        } catch is BodyTooLarge {
            return Self.refuseBody(nil, context: context)
        }
    }

    /// 413, then the connection is closed once the answer is written: the rest of the body is
    /// never read (Hummingbird would otherwise drain it to reach the next request).
    static func refuseBody(_ size: Int?, context: Context) -> Response {
        let text = "request body " + (size.map { "of \($0) bytes " } ?? "") + "is over the \(maxBody) bytes this server takes\n"
        let channel = context.channel
        let buffer = ByteBuffer(string: text)
        return Response(status: .contentTooLarge,
                        headers: [.contentType: "text/plain; charset=utf-8", .connection: "close", .contentLength: String(buffer.readableBytes)],
                        body: ResponseBody(contentLength: buffer.readableBytes) { writer in
                            try await writer.write(buffer)
                            try await writer.finish(nil)
                            channel.close(promise: nil)
                        })
    }
}
