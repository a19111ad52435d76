import Foundation
import NN
import Testing

/// The root causes a fuzz run of the release binary found in the loaders (issue 17), each as a
/// small hand-made file: every one must end in a clean error, never a crash or a huge allocation.
@Suite("Hostile checkpoints")
struct HostileCheckpointTests {
    let url = URL(fileURLWithPath: "/hostile.pth")

    func load(_ data: Data) throws -> StateDict { try TorchCheckpoint.read(ZipArchive(data: data, url: url)) }

    @Test("50,000 nested tuples are refused with an error, not a stack overflow")
    func deepTuples() throws {
        let stream: [UInt8] = [0x80, 0x02, UInt8(ascii: ")")] + Array(repeating: 0x85, count: 50_000) + [UInt8(ascii: ".")]
        let error = try #require(throws: UnpicklingError.self) { try RestrictedUnpickler(stream).load() }
        #expect(message(error).contains("nested more than \(RestrictedUnpickler.maxNesting)"))
    }

    @Test("lists nested 200,000 deep through mutation are released without recursion")
    func deepListsThroughMutation() throws {
        // A holds B; then, per level: push the innermost (memo 1), a new list, make it memo 1,
        // append it to the one below, pop. Each list's own nesting count stays 2.
        var stream: [UInt8] = [0x80, 0x02, UInt8(ascii: "]"), UInt8(ascii: "]"), UInt8(ascii: "q"), 1, UInt8(ascii: "a")]
        for _ in 0 ..< 200_000 {
            stream += [UInt8(ascii: "h"), 1, UInt8(ascii: "]"), UInt8(ascii: "q"), 1, UInt8(ascii: "a"), UInt8(ascii: "0")]
        }
        stream += [UInt8(ascii: ".")]
        // Loading works (a list is valid pickle); dropping the result must not recurse per level.
        let value = try RestrictedUnpickler(stream).load()
        #expect(value.description == "list of 1")
        // As a checkpoint it is no state dict: the error path drops it too.
        let data = StoredZip.checkpoint(pickle: stream, storage: [])
        #expect(throws: CheckpointError.self) { try load(data) }
    }

    @Test("an error about a ZIP64 offset of 2^64-1 is formatted without overflow")
    func zip64OffsetInMessage() throws {
        let data = StoredZip.archive([.init(name: "ckpt/data.pkl", bytes: [0x80, 0x02, 0x4E, 0x2E], zip64Offset: .max)])
        let error = try #require(throws: ZipArchiveError.self) { try ZipArchive(data: data, url: url) }
        guard case let .entryOutOfRange(_, _, start, _, _) = error else {
            Issue.record("expected entryOutOfRange, got \(error)")
            return
        }
        #expect(start == Int.max)
        #expect(message(error).contains("starts at byte \(Int.max)"))
    }

    @Test("a zero-stride view of one float is refused before 34 GB are allocated")
    func zeroStrideView() throws {
        for size in [[65536, 65536], [20000, 20000], [2, 1]] {
            let pickle = Pickle.stateDict([("w", Pickle.tensor(storage: "0", count: 1, size: size, stride: [0, 0]))])
            let error = try #require(throws: CheckpointError.self) { try load(StoredZip.checkpoint(pickle: pickle, storage: [1])) }
            #expect(message(error).contains("repeats elements"), "\(size): \(error)")
        }
        // A view within its storage still loads, stride 0 included.
        let ok = Pickle.stateDict([("w", Pickle.tensor(storage: "0", count: 2, size: [2], stride: [0]))])
        #expect(try load(StoredZip.checkpoint(pickle: ok, storage: [7, 8]))["w"]?.storage == [7, 7])
    }

    @Test("many keys viewing one storage may not multiply what the file can back")
    func manyViewsOfOneStorage() throws {
        let entries = (0 ..< 3).map { ("w\($0)", Pickle.tensor(storage: "0", count: 4, size: [4], stride: [1])) }
        let error = try #require(throws: CheckpointError.self) {
            try load(StoredZip.checkpoint(pickle: Pickle.stateDict(entries), storage: [1, 2, 3, 4]))
        }
        #expect(message(error).contains("3 views read 12 elements from storages of 4"))
        // Two keys sharing a storage (tied weights) load.
        let tied = Pickle.stateDict(Array(entries.prefix(2)))
        #expect(try load(StoredZip.checkpoint(pickle: tied, storage: [1, 2, 3, 4])).tensors.count == 2)
    }

    @Test("a refused global's name is escaped and cut in the message")
    func hostileGlobalName() throws {
        let name = "\u{1b}[2J" + String(repeating: "x", count: 5_000_000)
        let stream: [UInt8] = [0x80, 0x02] + Pickle.global("os", name) + [UInt8(ascii: ".")]
        let error = try #require(throws: UnpicklingError.self) { try RestrictedUnpickler(stream).load() }
        let text = message(error)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 }, "control characters pass through")
        #expect(text.contains("\\x1b[2J"))
        #expect(text.count < 1_000, "a 5 MB name makes a \(text.count)-character message")
    }

    @Test("a safetensors file whose header length starts with 0x80 is read as safetensors")
    func safetensorsLength0x80() throws {
        // Pad the header with spaces (JSON whitespace) to 0x280 bytes: its length bytes start 0x80 0x02, as a legacy pickle does.
        var header = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        header += String(repeating: " ", count: 0x280 - header.utf8.count)
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("w.safetensors")
        try safetensorsBytes(header: header, data: [0, 0, 0x80, 0x3F]).write(to: file)
        #expect(try Data(contentsOf: file).first == 0x80)
        #expect(try Checkpoint.load(url: file)["w"]?.storage == [1])
    }
}
