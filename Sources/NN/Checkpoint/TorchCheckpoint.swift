import Foundation
import Tensor

/// Reads a PyTorch `.pth` / `.pt` file written by `torch.save` (torch >= 1.6, ZIP format):
/// `<root>/data.pkl` is a pickle describing tensors as strided views of storages, and each
/// storage's raw little-endian bytes are the entry `<root>/data/<key>`.
///
/// The pickle runs on `RestrictedUnpickler`, so a malicious file is rejected, never executed.
/// Every dtype is widened to `Float` (BatchNorm's int64 `num_batches_tracked` included), and
/// non-contiguous views (a saved `.t()`, a column slice) are copied into row-major order.
public enum TorchCheckpoint {
    public static func read(url: URL) throws -> StateDict {
        try read(ZipArchive(url: url))
    }

    /// Reads an already opened archive (e.g. one built from in-memory bytes).
    public static func read(_ archive: ZipArchive) throws -> StateDict {
        let url = archive.url
        let pickles = archive.entries.filter {
            $0.name.hasSuffix("/data.pkl") && $0.name.dropLast("/data.pkl".count).firstIndex(of: "/") == nil
        }
        guard let pickle = pickles.first else { throw ZipArchiveError.missingEntry(file: url, entry: "<root>/data.pkl") }
        let root = String(pickle.name.dropLast("data.pkl".count))

        if let order = archive.entry(named: root + "byteorder") {
            let text = try archive.withBytes(of: order) { String(decoding: $0, as: UTF8.self) }
            if text.trimmingCharacters(in: .whitespacesAndNewlines) == "big" { throw CheckpointError.bigEndian(file: url) }
        }

        let object: PickleValue
        do {
            let bytes = try archive.withBytes(of: pickle) { Array($0) }
            object = try RestrictedUnpickler(bytes).load()
        } catch let e as UnpicklingError {
            throw CheckpointError.pickle(file: url, entry: pickle.name, e)
        }

        let entries = try stateDictEntries(object, url: url)
        try checkBacking(entries, url: url)
        var tensors: [String: Tensor] = [:]
        for (key, ref) in entries {
            tensors[key] = try materialise(ref, key: key, root: root, archive: archive)
        }
        return StateDict(tensors: tensors)
    }

    /// The state dict itself, or the one a training script nested under `model` / `state_dict`.
    static func stateDictEntries(_ object: PickleValue, url: URL) throws -> [(String, TorchTensorRef)] {
        guard case let .dict(top) = object else { throw CheckpointError.notAStateDict(file: url, found: object.description) }
        var dict = top
        let allTensors = top.pairs.allSatisfy { if case .tensor = $0.value { true } else { false } }
        if !allTensors {
            for wrapper in ["model", "state_dict"] {
                if case let .dict(inner)? = top[wrapper] {
                    dict = inner
                    break
                }
            }
        }
        return try dict.pairs.map { pair in
            guard case let .string(key) = pair.key else {
                throw CheckpointError.notAStateDict(file: url, found: "a dict with key \(pair.key)")
            }
            guard case let .tensor(ref) = pair.value else {
                throw CheckpointError.notATensor(file: url, key: key, found: pair.value.description)
            }
            return (key, ref)
        }
    }

    /// Loading copies every view into a dense tensor, so what the file can back bounds what it may
    /// make us allocate: a view may not have more elements than its storage (a zero or overlapping
    /// stride repeats elements: 65536x65536 of one float is 34 GB from 1.5 KB), and all views
    /// together at most twice the elements of the storages they read (two keys may share one
    /// storage, as tied weights do; 10,000 keys viewing one storage may not). Storage sizes are
    /// checked against the archive's bytes when each view is read.
    static func checkBacking(_ entries: [(String, TorchTensorRef)], url: URL) throws {
        var viewed = 0
        var storages: [String: Int] = [:]
        for (key, ref) in entries {
            let count = try elementCount(ref, key: key, url: url)
            guard count <= ref.storage.count else {
                throw CheckpointError.badTensor(
                    file: url, key: key,
                    reason: "a view of \(count) elements (size \(ref.shape), stride \(ref.strides)) on a storage of \(ref.storage.count) repeats elements; save contiguous tensors (tensor.contiguous()) in the state dict")
            }
            viewed = saturatingSum(viewed, count)
            storages[ref.storage.key] = max(storages[ref.storage.key] ?? 0, ref.storage.count)
        }
        let backed = storages.values.reduce(0, saturatingSum)
        guard viewed <= saturatingSum(backed, backed) else {
            throw CheckpointError.badTensor(
                file: url, key: entries.first?.0 ?? "",
                reason: "\(entries.count) views read \(viewed) elements from storages of \(backed) in all; a state dict's tensors each have their own storage")
        }
    }

    /// The view's nominal element count, refused when it overflows.
    static func elementCount(_ ref: TorchTensorRef, key: String, url: URL) throws -> Int {
        var count = 1
        for d in ref.shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw CheckpointError.badTensor(file: url, key: key, reason: "size \(ref.shape) overflows") }
            count = p
        }
        return count
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : s
    }

    static func materialise(_ ref: TorchTensorRef, key: String, root: String, archive: ZipArchive) throws -> Tensor {
        let url = archive.url
        let storage = ref.storage
        let width = storage.elementType.byteCount
        let count = try elementCount(ref, key: key, url: url)
        // Highest element index the view touches; every index lies in [offset, last].
        var last = ref.offset
        if count > 0 {
            for (d, s) in zip(ref.shape, ref.strides) {
                let (step, o1) = (d - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw CheckpointError.badTensor(file: url, key: key, reason: "stride \(ref.strides) overflows") }
                last = sum
            }
            guard last < storage.count else {
                throw CheckpointError.badTensor(
                    file: url, key: key,
                    reason: "view (offset \(ref.offset), size \(ref.shape), stride \(ref.strides)) reaches element \(last) of a \(storage.count)-element storage")
            }
        }
        let entryName = root + "data/" + storage.key
        guard let entry = archive.entry(named: entryName) else {
            throw ZipArchiveError.missingEntry(file: url, entry: entryName)
        }
        let (neededBytes, overflow) = storage.count.multipliedReportingOverflow(by: width)
        guard !overflow, entry.uncompressedSize >= neededBytes else {
            throw CheckpointError.storageTooSmall(file: url, key: key, storage: entryName,
                                                  neededBytes: overflow ? Int.max : neededBytes,
                                                  bytes: entry.uncompressedSize)
        }

        return try archive.withBytes(of: entry) { bytes in
            guard bytes.count >= neededBytes else {
                throw CheckpointError.storageTooSmall(file: url, key: key, storage: entryName,
                                                      neededBytes: neededBytes, bytes: bytes.count)
            }
            if count == 0 { return Tensor(shape: ref.shape, storage: []) }
            let contiguous = isContiguous(shape: ref.shape, strides: ref.strides)
            let offsets = contiguous ? [] : elementOffsets(shape: ref.shape, strides: ref.strides)
            return Tensor(shape: ref.shape) { out in
                if contiguous {
                    storage.elementType.widen(bytes, offset: ref.offset * width, count: count, into: out) { $0 }
                } else {
                    storage.elementType.widen(bytes, offset: ref.offset * width, count: count, into: out) { offsets[$0] }
                }
            }
        }
    }

    /// Row-major strides; dimensions of size 1 may carry any stride (torch leaves them arbitrary).
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for (d, s) in zip(shape, strides).reversed() {
            if d != 1 && s != expected { return false }
            expected *= d
        }
        return true
    }

    /// Storage offset (relative to the view's start) of each element in row-major order.
    static func elementOffsets(shape: [Int], strides: [Int]) -> [Int] {
        var offsets = [0]
        for (d, s) in zip(shape, strides) {
            var next: [Int] = []
            next.reserveCapacity(offsets.count * d)
            for o in offsets {
                for i in 0 ..< d { next.append(o + i * s) }
            }
            offsets = next
        }
        return offsets
    }
}
