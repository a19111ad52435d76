import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The page and its API. No route turns anything of the request into a path: frames and
/// overlays are named by a number parsed here, assets by a fixed table.
enum Routes {
    static func add(to router: Router<ServeContext>, session: ServeSession) {
        router.get("/") { _, _ in try PageAssets.response("index.html", token: session.settings.token) }
        router.get("/app.js") { _, _ in try PageAssets.response("app.js", token: session.settings.token) }
        router.get("/style.css") { _, _ in try PageAssets.response("style.css", token: session.settings.token) }

        router.get("/api/info") { _, _ in
            let info = session.frames.info
            return ServeResponse.json([
                "video": session.settings.video.lastPathComponent, "width": info.width, "height": info.height,
                "frames": session.frames.frameCount, "decoded_all": session.frames.isComplete,
                "fps": info.frameRate.value, "folder": session.layout.root.path,
            ])
        }
        router.get("/api/frames/:n") { _, context in
            let n = try frameNumber(context)
            guard let png = try await session.frames.png(n) else {
                throw ServeError(status: .notFound, message: "frame \(n) is past the end (\(session.frames.frameCount) frames)")
            }
            return ServeResponse.bytes(png, type: "image/png")
        }
        router.get("/api/overlay/:n") { _, context in
            let n = try frameNumber(context)
            guard let png = try session.overlayPNG(n) else { return Response(status: .noContent) }
            return ServeResponse.bytes(png, type: "image/png")
        }
        router.get("/api/plan") { _, _ in
            let s = session.state.read { ($0.document, $0.undo.count, $0.running) }
            return ServeResponse.json(["objects": s.0.json, "undo": s.1, "running": s.2 as Any? ?? NSNull()])
        }
        router.get("/api/states") { _, _ in
            let states = session.state.read { $0.states }
            return ServeResponse.json(["frames": states.json(frameCount: session.frames.frameCount)])
        }
        router.post("/api/keyframes") { request, _ in
            let body = try await JSONBody.decode(KeyframeBody.self, request).checked()
            let doc = try session.setKeyframe(id: body.id, name: body.name, frame: body.frame, box: body.box, points: body.points)
            return ServeResponse.json(["objects": doc.json])
        }
        router.post("/api/keyframes/remove") { request, _ in
            let body = try await JSONBody.decode(KeyframePlace.self, request)
            return ServeResponse.json(["objects": try session.removeKeyframe(id: body.id, frame: body.frame).json])
        }
        router.post("/api/undo") { _, _ in ServeResponse.json(["objects": try session.undo().json]) }
        router.post("/api/propagate") { _, _ in
            try session.start(.propagate)
            return ServeResponse.json(["started": "propagate"], status: .accepted)
        }
        router.post("/api/export") { _, _ in
            try session.start(.export)
            return ServeResponse.json(["started": "export", "folder": session.layout.root.path], status: .accepted)
        }
        router.post("/api/stop") { _, _ in ServeResponse.json(["stopping": session.stopRunning()]) }
        router.get("/api/progress") { request, _ in progressStream(session, request: request) }
    }

    /// A frame number from the path: digits only (no sign, no dots, no slashes), inside the video.
    static func frameNumber(_ context: ServeContext) throws -> Int {
        let raw = context.parameters.get("n") ?? ""
        guard !raw.isEmpty, raw.count <= 9, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw) else {
            throw ServeError.bad("frame must be a number 0, 1, 2, ... (got \"\(raw.prefix(40))\")")
        }
        return n
    }

    /// Server-sent events: the current state first, then every event as it is published, and a
    /// comment every 10 s so proxies and the browser keep the stream open.
    static func progressStream(_ session: ServeSession, request: Request) -> Response {
        let resume = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int($0) }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                        body: ResponseBody { writer in
            let running = session.state.read { $0.running }
            // A page that opens during a run hears that run from its start (its total, every frame
            // so far), as one that was open all along did; otherwise only what comes next.
            let runStart = running == nil ? nil : session.progress.last("started").map { $0 - 1 }
            var seq = resume ?? runStart ?? session.progress.lastSeq
            try await writer.write(ByteBuffer(string: "event: status\ndata: {\"running\": \(running.map { "\"\($0)\"" } ?? "null")}\n\n"))
            var quiet = 0
            // Ends with the server: graceful shutdown waits for open requests, and this one never ends by itself.
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let events = session.progress.after(seq)
                for e in events {
                    try await writer.write(ByteBuffer(string: "id: \(e.seq)\nevent: \(e.name)\ndata: \(e.data)\n\n"))
                    seq = e.seq
                }
                quiet = events.isEmpty ? quiet + 1 : 0
                if quiet >= 100 {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    quiet = 0
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await writer.finish(nil)
        })
    }
}

/// A JSON body (at most `AccessGuard.maxBody` bytes, also without a Content-Length), decoded
/// into `T`; a wrong or missing field is a 400 that names it.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: AccessGuard.maxBody) } catch {
            // A body without a Content-Length (chunked) found too long: `AccessGuard` closes the connection.
            throw BodyTooLarge()
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ServeError.bad("the body lacks \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
            throw ServeError.bad("\"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type: \(c.debugDescription)")
        } catch {
            throw ServeError.bad("the body must be a JSON object like {\"id\": 1, \"frame\": 0, \"box\": [x0, y0, x1, y1]}")
        }
    }
}

/// POST /api/keyframes: a box and/or points (`[x, y, 1 or 0]`) for object `id` on `frame`.
struct KeyframeBody: Decodable {
    var id: Int
    var name: String?
    var frame: Int
    var box: [Double]?
    var points: [[Double]]?

    func checked() throws -> KeyframeBody {
        if let box, box.count != 4 || !box.allSatisfy(\.isFinite) { throw ServeError.bad("\"box\" must be [x0, y0, x1, y1] in pixels") }
        if let points, points.count > 100 || !points.allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isFinite) && ($0[2] == 0 || $0[2] == 1) }) {
            throw ServeError.bad("\"points\" must be a list of up to 100 [x, y, 1 or 0] (1: on the object)")
        }
        return self
    }
}

/// POST /api/keyframes/remove.
struct KeyframePlace: Decodable {
    var id: Int
    var frame: Int
}

/// A body found over `AccessGuard.maxBody` while reading it.
struct BodyTooLarge: Error {}
