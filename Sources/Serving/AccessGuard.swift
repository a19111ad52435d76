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
            return Self.refuse(.forbidden, "foreign or missing Host header: open the URL the server printed", context: context)
        }
        if let origin = request.headers[.origin] {
            guard origin != "null", let url = URL(string: origin), url.scheme == "http", let h = url.host, let port = url.port,
                  hosts.contains("\(h.contains(":") ? "[\(h)]" : h):\(port)".lowercased()) else {
                return Self.refuse(.forbidden, "request from another site (Origin \(origin)) refused", context: context)
            }
        }
        let given = request.headers[Self.tokenHeader] ?? request.uri.queryParameters["token"].map(String.init)
        guard let given, AccessToken.matches(given, token) else {
            return Self.refuse(.forbidden, "missing or wrong access token: open the URL the server printed (it carries ?token=...)", context: context)
        }
        // The page always sends a Content-Length; a body of unknown length could only be read
        // (or drained) to find its end.
        if request.headers[.transferEncoding] != nil {
            return Self.refuse(.lengthRequired, "a body of unknown length (Transfer-Encoding) is refused: send a Content-Length", context: context)
        }
        if let length = request.headers[.contentLength] {
            guard let n = Int(length), n >= 0 else { return Self.refuse(.badRequest, "Content-Length \(length) is not a size", context: context) }
            if n > Self.maxBody { return Self.refuse(.contentTooLarge, Self.tooLarge(n), context: context) }
        }
        do {
            return try await next(request, context)
        } catch is BodyTooLarge {
            return Self.refuse(.contentTooLarge, Self.tooLarge(nil), context: context)
        }
    }

    static func tooLarge(_ size: Int?) -> String {
        "request body " + (size.map { "of \($0) bytes " } ?? "") + "is over the \(maxBody) bytes this server takes"
    }

    /// `{"error": message}` with `status`, then the connection is closed once the answer is
    /// written: a refused request's body is never read (Hummingbird would otherwise drain it to
    /// reach the next request, so a 100 MB body would be read in full, token or not).
    static func refuse(_ status: HTTPResponse.Status, _ message: String, context: Context) -> Response {
        let text = String(decoding: (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? Data(), as: UTF8.self) + "\n"
        let channel = context.channel
        let buffer = ByteBuffer(string: text)
        return Response(status: status,
                        headers: [.contentType: "application/json", .connection: "close", .contentLength: String(buffer.readableBytes)],
                        body: ResponseBody(contentLength: buffer.readableBytes) { writer in
                            try await writer.write(buffer)
                            try await writer.finish(nil)
                            channel.close(promise: nil)
                        })
    }
}
