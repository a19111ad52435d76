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
    let port: Int
    /// Names a browser may send for this server besides IP literals (which no DNS rebinding can
    /// produce: that attack needs a name): the bound one and, on loopback, localhost.
    let names: Set<String>

    init(token: String, host: String, port: Int) {
        self.token = token
        self.port = port
        names = Set([host.lowercased(), "localhost"])
    }

    /// `authority` is `name:port` or `[v6]:port` with this server's port and a name it answers to.
    func isOwn(_ authority: String) -> Bool {
        guard let colon = authority.lastIndex(of: ":"), Int(authority[authority.index(after: colon)...]) == port else { return false }
        var name = String(authority[..<colon]).lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        return names.contains(name) || Self.isIPLiteral(name)
    }

    static func isIPLiteral(_ name: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HTTP/1's Host header arrives as the authority (HTTP/2's :authority the same way).
        guard let authority = request.head.authority, isOwn(authority) else {
            return Self.refuse(.forbidden, "foreign or missing Host header: open the URL the server printed", context: context)
        }
        if let origin = request.headers[.origin] {
            // http://name:port exactly: anything after it (a path, a second URL) spoils the port.
            let prefix = "http://"
            guard origin.lowercased().hasPrefix(prefix), isOwn(String(origin.dropFirst(prefix.count))) else {
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
