import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare HTTP/1.1 client over a loopback socket, so a test can send what a browser never would:
/// any Host, no token, a 100 MB body, raw `..` in the path. Reads one response.
struct LoopbackResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct LoopbackClient: Sendable {
    let port: Int

    enum Failure: Error { case connect(Int32), send(Int32), malformed(String) }

    /// `sendBlocking` on a thread of its own: the test's task does not hold one of the (two, on
    /// this machine) threads of Swift's pool that the server's handlers also run on.
    func send(_ method: String, _ target: String, headers: [String: String] = [:], body: Data = Data()) async throws -> LoopbackResponse {
        try await Self.onThread { try sendBlocking(method, target, headers: headers, body: body) }
    }

    func sendLarge(_ target: String, headers: [String: String], length: Int, chunked: Bool) async throws -> (LoopbackResponse?, Int) {
        try await Self.onThread { try sendLargeBlocking(target, headers: headers, length: length, chunked: chunked) }
    }

    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            Thread.detachNewThread { c.resume(with: Result { try work() }) }
        }
    }

    /// A GET whose answer is a stream (server-sent events): read until `until` appears in it or `seconds` pass.
    func stream(_ target: String, headers: [String: String], until: String, seconds: Double) async throws -> LoopbackResponse {
        try await Self.onThread { try sendBlocking("GET", target, headers: headers, until: until, seconds: seconds) }
    }

    /// Sends `head` lines (the request line first; a Host line is added unless one is given) and `body`.
    func sendBlocking(_ method: String, _ target: String, headers: [String: String] = [:], body: Data = Data(),
                      host: String? = nil, until: String? = nil, seconds: Double = 60) throws -> LoopbackResponse {
        var lines = ["\(method) \(target) HTTP/1.1"]
        if headers.keys.contains(where: { $0.lowercased() == "host" }) == false { lines.append("Host: \(host ?? "127.0.0.1:\(port)")") }
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { lines.append("\(k): \(v)") }
        if !body.isEmpty && !headers.keys.contains(where: { $0.lowercased() == "content-length" }) {
            lines.append("Content-Length: \(body.count)")
        }
        lines.append("Connection: close")
        let fd = try connect()
        defer { close(fd) }
        try write(fd, Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body)
        return try readResponse(fd, until: until, seconds: seconds)
    }

    /// Sends a request head announcing `length` bytes, then body bytes in 64 KB chunks until
    /// `length` is sent or the server stops taking them; returns what it answered (nil if it
    /// closed without an answer) and how many body bytes went out.
    func sendLargeBlocking(_ target: String, headers: [String: String], length: Int, chunked: Bool) throws -> (LoopbackResponse?, Int) {
        var lines = ["POST \(target) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Content-Type: application/json"]
        for (k, v) in headers { lines.append("\(k): \(v)") }
        lines.append(chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(length)")
        let fd = try connect()
        defer { close(fd) }
        try write(fd, Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8))
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 64 * 1024)
        let framed = chunked ? Data("10000\r\n".utf8) + chunk + Data("\r\n".utf8) : chunk
        var sent = 0
        var response: LoopbackResponse?
        // Keep sending after an answer: only the server hanging up ends the body early, so a
        // server that drained the body (reading all of it) would take the whole length here.
        while sent < length {
            if response == nil && readable(fd) { response = try? readResponse(fd) }
            guard (try? write(fd, framed)) != nil else { break }
            sent += chunk.count
        }
        return (response ?? (try? readResponse(fd)), sent)
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { close(fd); throw Failure.connect(errno) }
        return fd
    }

    private func write(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                // MSG_NOSIGNAL: a server that hung up is an answer here, not a SIGPIPE.
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure.send(errno) }
                offset += n
            }
        }
    }

    private func readable(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    private func readResponse(_ fd: Int32, until: String? = nil, seconds: Double = 60) throws -> LoopbackResponse {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headEnd: Range<Data.Index>?
        var expected: Int?
        // A whole-response deadline: a stream that keeps sending (server-sent events) must not
        // hold a test forever; what arrived by then is the answer.
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(buffer, count: n)
            if headEnd == nil, let r = data.range(of: Data("\r\n\r\n".utf8)) {
                headEnd = r
                let head = String(decoding: data[..<r.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() where line.lowercased().hasPrefix("content-length:") {
                    expected = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                }
            }
            if let r = headEnd, let expected, data.count - r.upperBound >= expected { break }
            if let until, data.range(of: Data(until.utf8)) != nil { break }
        }
        guard let r = headEnd else { throw Failure.malformed(String(decoding: data.prefix(200), as: UTF8.self)) }
        let head = String(decoding: data[..<r.lowerBound], as: UTF8.self).split(separator: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure.malformed(String(head.first ?? "")) }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return LoopbackResponse(status: status, headers: headers, body: Data(data[r.upperBound...]))
    }
}
