import Foundation
import Testing

/// No part of a request reaches the file system as a path: `..`, absolute paths and encodings of
/// them in every parameter (path, query, JSON fields) are refused or harmless, and nothing is
/// written outside the run folder.
@Suite("serve turns no request parameter into a path", .serialized)
struct PathTests {
    static let hostile = ["..", "../..", "../../../../etc/passwd", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2f..%2fetc%2fpasswd",
                          "%2Fetc%2Fpasswd", "/etc/passwd", "-1", "1e3", "0x1", "1.5", "+1", "%00", "0%2f..", "9999999999999"]

    @Test("frame and overlay numbers: only digits; `..`, absolute and encoded paths are 400 or 404, never a file's bytes")
    func frameParameters() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let before = f.allFiles()
        for route in ["/api/frames/", "/api/overlay/"] {
            for p in Self.hostile {
                let r = try await f.client.send("GET", route + p, headers: f.auth)
                #expect([400, 404].contains(r.status), "\(route)\(p): \(r.status)")
                #expect(!r.text.contains("root:"), "\(route)\(p) served /etc/passwd")
            }
        }
        // Page assets are a fixed table: a query naming a file does not change what is served.
        for p in ["/?file=../../etc/passwd&token=\(ServerFixture.token)", "/app.js?path=/etc/passwd&token=\(ServerFixture.token)",
                  "/../../etc/passwd?token=\(ServerFixture.token)", "/%2e%2e/%2e%2e/etc/passwd?token=\(ServerFixture.token)",
                  "//etc/passwd?token=\(ServerFixture.token)"] {
            let r = try await f.client.send("GET", p)
            #expect(!r.text.contains("root:"), "\(p) served /etc/passwd")
            #expect(r.status == 200 || r.status == 404, "\(p): \(r.status)")
        }
        #expect(try await f.client.send("GET", "/api/frames/0", headers: f.auth).status == 200)
        #expect(f.allFiles().subtracting(before).allSatisfy { $0.hasPrefix("/run/") }, "\(f.allFiles().subtracting(before))")
        await f.stop()
    }

    @Test("keyframe fields: ids, frames and names that look like paths are refused or stored as text; only prompts.json is written")
    func bodyParameters() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        let before = f.allFiles()
        let refused = [#"{"id": "../1", "frame": 0, "box": [1, 1, 20, 20]}"#, #"{"id": 1, "frame": "/etc/passwd", "box": [1, 1, 20, 20]}"#,
                       #"{"id": 1, "frame": "../../0", "box": [1, 1, 20, 20]}"#, #"{"id": 1, "frame": 0, "mask": "/etc/passwd"}"#,
                       #"{"id": 1, "frame": 0, "box": ["..", 1, 20, 20]}"#, #"{"id": 1, "frame": 0, "points": [["/etc", 1, 1]]}"#,
                       #"{"id": 1.5, "frame": 0, "box": [1, 1, 20, 20]}"#, #"{"id": 1, "frame": -1, "box": [1, 1, 20, 20]}"#,
                       #"{"id": 256, "frame": 0, "box": [1, 1, 20, 20]}"#, #"{"id": 1, "frame": 99, "box": [1, 1, 20, 20]}"#,
                       #"{"id": 1, "frame": 0, "name": "a\nb", "box": [1, 1, 20, 20]}"#, #"["../../etc/passwd"]"#, "not json"]
        for body in refused {
            let r = try await f.client.send("POST", "/api/keyframes", headers: f.auth.merging(["Content-Type": "application/json"]) { a, _ in a },
                                      body: Data(body.utf8))
            #expect(r.status == 400, "\(body): \(r.status) \(r.text)")
            #expect(r.text.contains("error"), "\(body): \(r.text)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.output.appendingPathComponent("prompts.json").path))
        for body in [#"{"id": "/etc/passwd", "frame": 0}"#, #"{"id": 1, "frame": "../0"}"#] {
            let r = try await f.client.send("POST", "/api/keyframes/remove", headers: f.auth, body: Data(body.utf8))
            #expect(r.status == 400, "\(body): \(r.status)")
        }
        // A name is text in prompts.json, never a file name.
        let named = try await f.client.send("POST", "/api/keyframes", headers: f.auth,
                                      body: Data(#"{"id": 1, "frame": 0, "name": "../../../../tmp/owned", "box": [1, 1, 20, 20]}"#.utf8))
        #expect(named.status == 200, "\(named.text)")
        let written = f.allFiles().subtracting(before)
        #expect(written.allSatisfy { $0.hasPrefix("/run/") }, "\(written)")
        #expect(!written.contains { $0.contains("owned") }, "\(written)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/owned"))
        await f.stop()
    }
}
