import Foundation
import Testing

/// What a hostile or busy client cannot do: make the server read a huge body, or fall over under
/// many requests at once.
@Suite("serve under oversized bodies and many requests", .serialized)
struct LoadTests {
    static let hundredMB = 100 * 1024 * 1024

    @Test("a 100 MB body (announced: 413; chunked: 411): the connection is closed long before 100 MB are read; the server goes on")
    func hugeBody() async throws {
        let f = try await ServerFixture()
        defer { f.removeAll() }
        for route in ["/api/keyframes", "/api/propagate", "/api/info"] {
            for chunked in [false, true] {
                let (response, sent) = try await f.client.sendLarge(route, headers: f.auth, length: Self.hundredMB, chunked: chunked)
                if let response {
                    #expect(response.status == (chunked ? 411 : 413), "\(route) chunked \(chunked): \(response.status) \(response.text)")
                }
                // The server hung up or answered; the client could not push the whole body through.
                #expect(sent < Self.hundredMB / 2, "\(route) chunked \(chunked): \(sent) bytes were taken")
            }
        }
        // Without the token, a huge body is refused the same way (403 before anything is read).
        let (anonymous, sent) = try await f.client.sendLarge("/api/keyframes", headers: [:], length: Self.hundredMB, chunked: false)
        #expect(anonymous.map { [403, 413].contains($0.status) } ?? true)
        #expect(sent < Self.hundredMB / 2, "\(sent) bytes were taken without a token")
        #expect(try await f.client.send("GET", "/api/info", headers: f.auth).status == 200)
        #expect(!FileManager.default.fileExists(atPath: f.output.appendingPathComponent("prompts.json").path))
        await f.stop()
    }

    @Test("200 concurrent frame requests (valid, past the end, malformed): each served with the right PNG or refused")
    func concurrentFrames() async throws {
        let f = try await ServerFixture(frames: 6)
        defer { f.removeAll() }
        var expected: [Int: Data] = [:]
        for t in 0..<6 {
            let r = try await f.client.send("GET", "/api/frames/\(t)", headers: f.auth)
            #expect(r.status == 200 && r.headers["content-type"] == "image/png")
            expected[t] = r.body
        }
        #expect(Set(expected.values).count == 6, "the six frames differ")
        let client = f.client, auth = f.auth
        // 200 threads, released together, each with its own connection.
        let results: [(Int, Int, Data?)] = try await LoopbackClient.onThread {
            let collected = NSLock()
            nonisolated(unsafe) var all: [(Int, Int, Data?)] = []
            let start = DispatchSemaphore(value: 0), done = DispatchGroup()
            for i in 0..<200 {
                done.enter()
                Thread.detachNewThread {
                    start.wait()
                    // Mostly frames 0-5; every 10th past the end, every 25th malformed, every 40th without the token.
                    let target = i % 25 == 0 ? "/api/frames/..%2f\(i)" : i % 10 == 0 ? "/api/frames/\(100 + i)" : "/api/frames/\(i % 6)"
                    let r = try? client.sendBlocking("GET", target, headers: i % 40 == 0 ? [:] : auth)
                    collected.lock()
                    all.append((i, r?.status ?? -1, r?.body))
                    collected.unlock()
                    done.leave()
                }
            }
            for _ in 0..<200 { start.signal() }
            done.wait()
            return all
        }
        #expect(results.count == 200)
        for (i, status, body) in results {
            if i % 40 == 0 { #expect(status == 403, "request \(i): \(status)") }
            else if i % 25 == 0 { #expect(status == 400, "request \(i): \(status)") }
            else if i % 10 == 0 { #expect(status == 404, "request \(i): \(status)") }
            else { #expect(status == 200 && body == expected[i % 6], "request \(i): \(status)") }
        }
        #expect(try await f.client.send("GET", "/api/info", headers: f.auth).status == 200)
        await f.stop()
    }
}
