import Foundation
import NN
import Tensor
import TestSupport
import Testing

@Suite("safetensors")
struct SafetensorsTests {
    @Test("every supported dtype widens to exactly the float32 the reference computes")
    func dtypes() throws {
        let file = try SafetensorsFile(url: Fixtures.url("ckpt_dtypes.safetensors"))
        for name in ["f32", "f16", "bf16", "f64", "i64", "i32", "u8", "bool"] {
            let actual = try file.tensor(named: name)
            let expected = try file.tensor(named: "expected." + name)
            #expect(actual == expected, "\(name)")
        }
        #expect(file.metadata["generator"]?.hasPrefix("Scripts/make_checkpoint_fixtures.py") == true)
    }

    @Test("uint8 tensors are readable as raw bytes")
    func rawBytes() throws {
        let file = try SafetensorsFile(url: Fixtures.url("ckpt_dtypes.safetensors"))
        let u8 = try file.uint8(named: "u8")
        #expect(u8.shape == [2, 3] && u8.values == [0, 1, 127, 128, 254, 255])
        let f16 = try file.bytes(named: "f16")
        #expect(f16.elementType == .float16 && f16.bytes.count == 12)
        #expect(throws: SafetensorsError.self) { try file.uint8(named: "f32") }
        #expect(throws: SafetensorsError.self) { try file.tensor(named: "nope") }
    }

    @Test("a header length past the end of the file is an error naming the file")
    func corruptHeader() throws {
        let url = Fixtures.url("ckpt_corrupt_header.safetensors")
        let error = try #require(throws: SafetensorsError.self) { try Checkpoint.load(url: url) }
        guard case let .badHeaderLength(file, length, size) = error else {
            Issue.record("expected badHeaderLength, got \(error)")
            return
        }
        #expect(file == url && length == 4 * 1556 && size == 1556)
        #expect(message(error).contains("ckpt_corrupt_header.safetensors"))
    }

    @Test("bad JSON, out-of-range, overlapping and misshapen entries are each rejected")
    func corruptEntries() throws {
        let url = URL(fileURLWithPath: "/edited.safetensors")
        let data = [UInt8](repeating: 0, count: 16)
        func open(_ header: String) throws -> SafetensorsFile {
            try SafetensorsFile(data: safetensorsBytes(header: header, data: data), url: url)
        }
        func entry(_ name: String, _ shape: String, _ s: Int, _ e: Int) -> String {
            "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(s),\(e)]}"
        }
        _ = try open("{\(entry("a", "2", 0, 8)),\(entry("b", "2", 8, 16))}")

        #expect(throws: SafetensorsError.badHeaderJSON(
            file: url, reason: "the header: The given data was not valid JSON.")) { try open("{\"a\": ") }
        #expect(throws: SafetensorsError.offsetsOutOfRange(file: url, tensor: "b", start: 8, end: 24, dataSize: 16)) {
            try open("{\(entry("a", "2", 0, 8)),\(entry("b", "4", 8, 24))}")
        }
        #expect(throws: SafetensorsError.overlappingOffsets(file: url, tensor: "b", other: "a")) {
            try open("{\(entry("a", "3", 0, 12)),\(entry("b", "1", 4, 8)),\(entry("c", "2", 8, 16))}")
        }
        #expect(throws: SafetensorsError.sizeMismatch(file: url, tensor: "b", shape: [3], dtype: "F32", bytes: 8)) {
            try open("{\(entry("a", "2", 0, 8)),\(entry("b", "3", 8, 16))}")
        }
        #expect(throws: SafetensorsError.gapInData(file: url, at: 8)) { try open("{\(entry("a", "2", 0, 8))}") }
        #expect(throws: SafetensorsError.unsupportedDType(file: url, tensor: "a", dtype: "F8_E4M3")) {
            try open("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[16],\"data_offsets\":[0,16]}}")
        }
    }

    @Test("a tensor name repeated in the header is an error or a single entry, never a crash")
    func repeatedName() throws {
        let url = URL(fileURLWithPath: "/edited.safetensors")
        let a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
        let bytes = safetensorsBytes(header: "{\(a),\(a)}", data: [UInt8](repeating: 0, count: 8))
        do {
            let file = try SafetensorsFile(data: bytes, url: url)
            #expect(file.names == ["a"])
        } catch let error as SafetensorsError {
            guard case .badHeaderJSON = error else { throw error }
        }
    }

    @Test("bad JSON is an error even when the message text varies")
    func badJSON() throws {
        let url = URL(fileURLWithPath: "/edited.safetensors")
        let error = try #require(throws: SafetensorsError.self) {
            try SafetensorsFile(data: safetensorsBytes(header: "{\"a\": [", data: []), url: url)
        }
        guard case .badHeaderJSON(url, _) = error else {
            Issue.record("expected badHeaderJSON, got \(error)")
            return
        }
    }

    @Test("tensors and metadata written here read back identically, leaving no temporary file")
    func roundTrip() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("weights.safetensors")
        let original = try SafetensorsFile(url: Fixtures.url("ckpt_small_expected.safetensors")).stateDict()
        var dict = original
        dict.metadata = ["note": "quote \" backslash \\ newline \n tab \t ünïcode", "format": "pt"]
        try SafetensorsFile.write(dict, to: url)
        // A second write replaces the first atomically.
        try SafetensorsFile.write(dict, to: url)

        let file = try SafetensorsFile(url: url)
        #expect(file.names == dict.keys)
        #expect(try file.stateDict() == dict)
        #expect(try Checkpoint.load(url: url) == dict)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["weights.safetensors"])
        let raw = try Data(contentsOf: url)
        let headerLength = raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + headerLength) % 8 == 0)
    }
}
