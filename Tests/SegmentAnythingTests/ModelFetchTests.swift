import Foundation
import SegmentAnything
import Testing
import TestSupport

@Suite("SHA-256 and checkpoint download")
struct ModelFetchTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func vectors() {
        var empty = SHA256()
        #expect(empty.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        #expect(abc.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        long.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(long.finalize() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        for _ in 0..<1000 { million.update([UInt8](repeating: 0x61, count: 1000)) }   // streamed in pieces
        #expect(million.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func entry(_ file: String, prefix: String?) -> ModelEntry {
        ModelEntry(name: "test", file: file, url: "http://unused.invalid/\(file)", architecture: "tiny", sha256Prefix: prefix, summary: "test")
    }

    @Test("a download from a loopback server lands in the cache when its hash matches")
    func downloadVerified() async throws {
        let body = try Data(contentsOf: Fixtures.url("sam_tiny_win.pth"))
        let digest = try ModelFetcher.sha256(of: Fixtures.url("sam_tiny_win.pth"))
        let server = try LoopbackHTTPServer(files: ["tiny.pth": body])
        let cache = try temporaryFolder("cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        let url = try await ModelFetcher(baseURL: server.baseURL, cacheDirectory: cache).fetch(entry("tiny.pth", prefix: String(digest.prefix(6))))
        #expect(url == cache.appendingPathComponent("tiny.pth"))
        #expect(try Data(contentsOf: url) == body)
        // The cached file loads as a model.
        _ = try SamLoader.load(url)
    }

    @Test("a file whose hash does not match is rejected and not kept")
    func hashMismatch() async throws {
        let server = try LoopbackHTTPServer(files: ["bad.pth": Data("not the official weights".utf8)])
        let cache = try temporaryFolder("cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        await #expect(throws: FetchError.self) {
            _ = try await ModelFetcher(baseURL: server.baseURL, cacheDirectory: cache).fetch(entry("bad.pth", prefix: "01ec64"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty)
    }

    @Test("a missing file on the server is an HTTP error naming the URL")
    func notFound() async throws {
        let server = try LoopbackHTTPServer(files: [:])
        let cache = try temporaryFolder("cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        do {
            _ = try await ModelFetcher(baseURL: server.baseURL, cacheDirectory: cache).fetch(entry("gone.pth", prefix: nil))
            Issue.record("expected an error")
        } catch let e as FetchError {
            #expect(e.description.contains("404") && e.description.contains("gone.pth"))
        }
    }

    @Test("`models fetch` through the CLI refuses a wrong file and `segment --model vit_b` says how to fetch it")
    func cli() throws {
        let server = try LoopbackHTTPServer(files: ["sam_vit_b_01ec64.pth": Data("impostor".utf8)])
        let cache = try temporaryFolder("cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["STABLESAM_CACHE": cache.path]
        let r = try CLIRunner.run(["models", "fetch", "vit_b", "--base-url", server.baseURL.absoluteString], environment: env)
        #expect(r.status != 0 && r.stderr.contains("01ec64"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty)
        let list = try CLIRunner.run(["models"], environment: env)
        #expect(list.status == 0 && list.stdout.contains("vit_h") && list.stdout.contains("not downloaded"))
        let seg = try CLIRunner.run(["segment", "x.png", "--model", "vit_b", "--box", "1,1,5,5", "--out", cache.appendingPathComponent("o").path], environment: env)
        #expect(seg.status != 0 && seg.stderr.contains("stablesam models fetch vit_b"), "\(seg.stderr)")
    }
}
