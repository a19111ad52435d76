import Foundation
import NN
import Tensor
import TestSupport
import Testing

// Fixtures: /work/venv/sam/bin/python Scripts/make_checkpoint_fixtures.py
// (torch==2.15.0, numpy==2.4.6, safetensors==0.8.0, torch.manual_seed(20240601)).

/// The same tensors as ckpt_small.pth, contiguous float32, written by the safetensors package.
private func expectedSmall() throws -> StateDict {
    try SafetensorsFile(url: Fixtures.url("ckpt_small_expected.safetensors")).stateDict()
}

@Suite("PyTorch .pth checkpoints")
struct TorchCheckpointTests {
    @Test("a torch.save state dict loads with exactly the values torch wrote")
    func smallStateDict() throws {
        let loaded = try Checkpoint.load(url: Fixtures.url("ckpt_small.pth"))
        let expected = try expectedSmall()
        #expect(loaded.keys == expected.keys)
        for key in expected.keys {
            let (a, e) = (loaded[key]!, expected[key]!)
            #expect(a.shape == e.shape, "\(key)")
            #expect(a.storage == e.storage, "\(key)")
        }
        #expect(loaded.keys.count == 21) // 11 module entries + 10 extra
        #expect(loaded["conv.weight"]?.shape == [5, 3, 3, 3])
    }

    @Test("int64, float16, bfloat16, float64 and int32 tensors are widened to Float")
    func dtypes() throws {
        let loaded = try Checkpoint.load(url: Fixtures.url("ckpt_small.pth"))
        #expect(loaded["bn.num_batches_tracked"] == Tensor(shape: [], storage: [7]))
        #expect(loaded["extra.int32"] == Tensor(shape: [2, 3], storage: [-3, -2, -1, 0, 1, 2]))
        #expect(loaded["extra.scalar"] == Tensor(shape: [], storage: [2.5]))
        let expected = try expectedSmall()
        for key in ["extra.half", "extra.bfloat16", "extra.double", "extra.parameter"] {
            #expect(loaded[key] == expected[key], "\(key)")
        }
    }

    @Test("non-contiguous views and storage offsets are copied into row-major order")
    func views() throws {
        let loaded = try Checkpoint.load(url: Fixtures.url("ckpt_small.pth"))
        let base = try #require(loaded["extra.base"])
        let transposed = try #require(loaded["extra.transposed"])
        let rows = try #require(loaded["extra.rows"])
        let column = try #require(loaded["extra.column"])
        #expect(base.shape == [3, 5] && transposed.shape == [5, 3] && rows.shape == [2, 5] && column.shape == [3])
        for i in 0 ..< 3 {
            for j in 0 ..< 5 { #expect(transposed[flat: j * 3 + i] == base[flat: i * 5 + j]) }
            #expect(column[flat: i] == base[flat: i * 5 + 2])
        }
        #expect(rows.storage == Array(base.storage[5...]))
    }

    @Test("a state dict nested under 'model' loads like a plain one")
    func wrapped() throws {
        let wrapped = try Checkpoint.load(url: Fixtures.url("ckpt_wrapped.pth"))
        let plain = try Checkpoint.load(url: Fixtures.url("ckpt_small.pth"))
        #expect(wrapped == plain)
    }

    @Test("a foreign global is refused by name, and nothing is run")
    func foreignGlobal() throws {
        let url = Fixtures.url("ckpt_foreign_global.pth")
        let error = try #require(throws: CheckpointError.self) { try Checkpoint.load(url: url) }
        guard case let .pickle(file, _, .forbiddenGlobal(module, name, _)) = error else {
            Issue.record("expected a forbidden global, got \(error)")
            return
        }
        #expect(file == url)
        #expect("\(module).\(name)" == "posix.system")
        #expect(message(error).contains("'posix.system'"))
        #expect(message(error).contains("must never be able to run code"))
    }

    @Test("a truncated checkpoint is an error naming the file, not a crash")
    func truncated() throws {
        let url = Fixtures.url("ckpt_truncated.pth")
        let error = try #require(throws: ZipArchiveError.self) { try Checkpoint.load(url: url) }
        #expect(error == .noEndOfCentralDirectory(file: url, size: 4255))
        #expect(message(error).contains("ckpt_truncated.pth"))
    }

    @Test("every single-byte corruption of a real checkpoint either loads or throws")
    func corruptedBytes() throws {
        let url = Fixtures.url("ckpt_small.pth")
        let original = try Data(contentsOf: url)
        var failures = 0
        for offset in stride(from: 0, to: original.count, by: 3) {
            for value: UInt8 in [0x00, 0xFF] {
                var damaged = original
                damaged[offset] = value
                do {
                    _ = try TorchCheckpoint.read(ZipArchive(data: damaged, url: url))
                } catch {
                    failures += 1
                }
            }
        }
        // Many bytes are tensor values (loading still succeeds); headers and the pickle are not.
        #expect(failures > 100)
    }

    @Test("a pickle cut short anywhere is an error")
    func truncatedPickle() throws {
        let archive = try ZipArchive(url: Fixtures.url("ckpt_small.pth"))
        let pickle = Array(try archive.data(named: "ckpt_small/data.pkl"))
        _ = try RestrictedUnpickler(pickle).load()
        for length in 0 ..< pickle.count {
            #expect(throws: UnpicklingError.self) { try RestrictedUnpickler(Array(pickle[..<length])).load() }
        }
    }

    @Test("an unknown opcode is an error naming its byte and offset")
    func unknownOpcode() throws {
        let error = try #require(throws: UnpicklingError.self) { try RestrictedUnpickler([0x80, 0x02, 0xFE]).load() }
        #expect(error == .unknownOpcode(0xFE, offset: 2))
        #expect(message(error).contains("0xfe") && message(error).contains("byte 2"))
    }

    @Test("GLOBAL builtins.eval is refused before its arguments are read")
    func builtinsEval() throws {
        // Protocol 2 pickle of eval("1"), as `pickle.dumps` writes it for a __reduce__ to eval.
        let stream = [0x80, 0x02] + Array("cbuiltins\neval\n".utf8) + [0x58, 1, 0, 0, 0, 0x31, 0x85, 0x52, 0x2E]
        let error = try #require(throws: UnpicklingError.self) { try RestrictedUnpickler(stream).load() }
        #expect(error == .forbiddenGlobal(module: "builtins", name: "eval", offset: 2))
    }

    @Test("a compressed entry is an error saying torch.save never writes one")
    func deflated() throws {
        let url = Fixtures.url("ckpt_deflated.pth")
        let error = try #require(throws: ZipArchiveError.self) { try Checkpoint.load(url: url) }
        guard case let .compressedEntry(file, entry, method) = error else {
            Issue.record("expected a compressed entry, got \(error)")
            return
        }
        #expect(file == url && entry.hasPrefix("ckpt_small/") && method == 8)
        #expect(message(error).contains("re-save"))
    }

    @Test("the pre-1.6 torch format asks to re-save with torch>=1.6")
    func legacy() throws {
        let url = Fixtures.url("ckpt_legacy.pth")
        let error = try #require(throws: CheckpointError.self) { try Checkpoint.load(url: url) }
        #expect(error == .legacyTorchFormat(file: url))
        #expect(message(error).contains("torch>=1.6") && message(error).contains("ckpt_legacy.pth"))
    }

    @Test("a file that is no checkpoint is an error naming the file")
    func unknownFormat() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("notes.pth")
        try Data("hello, world".utf8).write(to: url)
        let error = try #require(throws: CheckpointError.self) { try Checkpoint.load(url: url) }
        guard case .unknownFormat(url, _) = error else {
            Issue.record("expected unknownFormat, got \(error)")
            return
        }
        #expect(message(error).contains("notes.pth"))
    }
}
