import Foundation
import Testing

/// Who may talk to the server: only a page from the printed URL (token, this server's Host, no
/// foreign Origin). Every route is tried, each refusal is a 403 with a message, nothing else runs.
@Suite("serve refuses requests without the token or from elsewhere", .serialized)
struct AccessTests {
    /// Every route the server has, with a harmless body for the POSTs.
    static let routes: [(String, String, String)] = [
        ("GET", "/", ""), ("GET", "/app.js", ""), ("GET", "/style.css", ""), ("GET", "/api/info", ""),
        ("GET", "/api/frames/0", ""), ("GET", "/api/overlay/0", ""), ("GET", "/api/plan", ""), ("GET", "/api/states", ""),
        ("GET", "/api/progress", ""), ("POST", "/api/keyframes", #"{"id": 1, "frame": 0, "box": [10, 10, 40, 40]}"#),
        ("POST", "/api/keyframes/remove", #"{"id": 1, "frame": 0}"#), ("POST", "/api/undo", "{}"),
        ("POST", "/api/propagate", "{}"), ("POST", "/api/export", "{}"), ("POST", "/api/stop", "{}"),
    ]

    @Test("no token, a wrong token (header or query, any length): 403 on every route, and no keyframe is written")
    func tokenRequired() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let wrong = String(repeating: "ab", count: 31) + "ac"
        for (method, path, body) in Self.routes {
            let variants: [(String, [String: String])] = [
                (path, [:]), (path, ["X-StableSAM-Token": wrong]), (path, ["X-StableSAM-Token": "ab"]),
                (path, ["X-StableSAM-Token": ""]), (path + (path.contains("?") ? "&" : "?") + "token=" + wrong, [:]),
            ]
            for (target, headers) in variants {
                let r = try await f.client.send(method, target, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                                          body: Data(body.utf8))
                #expect(r.status == 403, "\(method) \(target) \(headers): \(r.status)")
                #expect(r.text.contains("token"), "\(method) \(target): \(r.text)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: f.output.appendingPathComponent("prompts.json").path))
        // The right token, in the header or the query, is let in.
        #expect(try await f.client.send("GET", "/api/info", headers: f.auth).status == 200)
        #expect(try await f.client.send("GET", "/api/info?token=\(ServerFixture.token)").status == 200)
        await f.stop()
    }

    @Test("a foreign Host (DNS rebinding) or Origin (another site): 403 even with the token; the server's own are let in")
    func foreignHostAndOrigin() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let own = "127.0.0.1:\(f.port)"
        let hosts = ["evil.example:\(f.port)", "evil.example", "127.0.0.1:\(f.port + 1)", "127.0.0.1", "127.0.0.1.evil.example:\(f.port)",
                     "localhost.:\(f.port)", "", "evil.example:\(f.port):\(f.port)", "localhost.evil.example:\(f.port)", "0x7f.1:\(f.port)",
                     "user@127.0.0.1:\(f.port)"]
        let origins = ["http://evil.example", "http://evil.example:\(f.port)", "null", "https://127.0.0.1:\(f.port)",
                       "http://127.0.0.1:\(f.port + 1)", "http://127.0.0.1", "file://", "http://\(own).evil.example",
                       "http://\(own)/x", "http://evil.example/http://\(own)", "http://user@\(own)", "http://127.0.0.1:\(f.port)0"]
        for (method, path, body) in Self.routes {
            for host in hosts {
                let r = try await f.client.send(method, path, headers: f.auth.merging(["Host": host]) { a, _ in a }, body: Data(body.utf8))
                #expect(r.status == 403 && r.text.contains("Host"), "\(method) \(path) Host \(host): \(r.status) \(r.text)")
            }
            for origin in origins {
                let r = try await f.client.send(method, path, headers: f.auth.merging(["Origin": origin]) { a, _ in a }, body: Data(body.utf8))
                #expect(r.status == 403 && r.text.contains("Origin"), "\(method) \(path) Origin \(origin): \(r.status) \(r.text)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: f.output.appendingPathComponent("prompts.json").path))
        // IP literals (no name, so no DNS rebinding) reach a server bound to 0.0.0.0 by any address.
        for host in [own, "localhost:\(f.port)", "LOCALHOST:\(f.port)", "[::1]:\(f.port)", "192.168.7.9:\(f.port)"] {
            let r = try await f.client.send("GET", "/api/info", headers: f.auth.merging(["Host": host, "Origin": "http://\(host)"]) { a, _ in a })
            #expect(r.status == 200, "Host \(host): \(r.status) \(r.text)")
        }
        await f.stop()
    }
}
