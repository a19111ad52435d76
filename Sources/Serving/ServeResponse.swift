import Foundation
import Hummingbird

/// The server's answers: JSON, refusals with a message a person can act on, and files.
enum ServeResponse {
    static func json(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("{}".utf8)
        return bytes(data, type: "application/json", status: status)
    }

    /// `{"error": message}` with `status`: the page shows the message as it is.
    static func refusal(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": message], status: status)
    }

    static func bytes(_ data: Data, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type, .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A refusal thrown from inside a route; the router turns it into `ServeResponse.refusal`.
struct ServeError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    var description: String { message }

    static func bad(_ message: String) -> ServeError { ServeError(status: .badRequest, message: message) }
}

extension ServeError: HTTPResponseError {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        ServeResponse.refusal(status, message)
    }
}
