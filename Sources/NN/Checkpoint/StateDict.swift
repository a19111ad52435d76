import Foundation
import Tensor

/// Tensors by checkpoint key (`image_encoder.blocks.0.attn.qkv.weight`), widened to Float,
/// plus string metadata (safetensors `__metadata__`; empty for `.pth`).
public struct StateDict: Sendable, Equatable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Sorted, so listings and saved files are deterministic.
    public var keys: [String] { tensors.keys.sorted() }

    public subscript(key: String) -> Tensor? {
        get { tensors[key] }
        set { tensors[key] = newValue }
    }

    /// Strict loading: copies `prefix + key` into every parameter `layer` visits.
    ///
    /// Throws `StateDictError` (every mismatch at once, in `.several`) when a parameter has no
    /// tensor, a tensor's shape differs, or a key under `prefix` is read by no parameter. The
    /// layer is modified only when nothing is wrong. `ignoring` lists glob patterns (`*` matches
    /// any run of characters, e.g. `*.num_batches_tracked`) of checkpoint keys that may go unread;
    /// they never excuse a missing or misshapen parameter.
    public func load(into layer: any Layer, prefix: String = "", ignoring: [String] = []) throws {
        try checkShapes(layer.parameterShapes(), prefix: prefix, ignoring: ignoring)
        try layer.visit(ParameterWalk { key, current in
            // Validated above: present with the right shape.
            current = tensors[prefix + key]!
        })
    }

    /// The strict check of `load` on its own: `expected` are a layer's parameter keys and shapes
    /// (`Layer.parameterShapes`, which a layer built under `Tensor.shapesOnly` gives without
    /// allocating), so a checkpoint can be matched to a model before the model exists.
    public func checkShapes(_ expected: [(key: String, shape: [Int])], prefix: String = "", ignoring: [String] = []) throws {
        var problems: [StateDictError] = []
        var read = Set<String>()
        for (key, shape) in expected {
            let full = prefix + key
            read.insert(full)
            guard let t = tensors[full] else {
                problems.append(.missingKey(key: full, expectedShape: shape))
                continue
            }
            if t.shape != shape {
                problems.append(.shapeMismatch(key: full, expectedShape: shape, checkpointShape: t.shape))
            }
        }
        for key in keys where key.hasPrefix(prefix) && !read.contains(key)
            && !ignoring.contains(where: { Self.glob($0, matches: key) }) {
            problems.append(.unexpectedKey(key: key, checkpointShape: tensors[key]!.shape))
        }
        if problems.count == 1 { throw problems[0] }
        if problems.count > 1 { throw StateDictError.several(problems) }
    }

    static func glob(_ pattern: String, matches key: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(key.utf8)
        // Classic greedy wildcard match with one backtrack point.
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count, p[i] != UInt8(ascii: "*"), p[i] == s[j] {
                i += 1; j += 1
            } else if i < p.count, p[i] == UInt8(ascii: "*") {
                star = i; mark = j; i += 1
            } else if star >= 0 {
                i = star + 1; mark += 1; j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}

/// Format-sniffing entry points.
public enum Checkpoint {
    /// Loads a `.pth` (ZIP, torch >= 1.6) or safetensors file, whatever its extension.
    public static func load(url: URL) throws -> StateDict {
        let head: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            head = Array(try handle.read(upToCount: 9) ?? Data())
        } catch {
            throw CheckpointError.unreadable(file: url, reason: error.localizedDescription)
        }
        // Each format by its own signature, the most specific first: a safetensors header length
        // may begin with any byte, 0x80 included (1 file in 256), so it is tested before the pickle.
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return try TorchCheckpoint.read(url: url)
        }
        // safetensors: an 8-byte little-endian header length, then the JSON header's opening brace.
        if head.count == 9, head[8] == UInt8(ascii: "{") { return try SafetensorsFile(url: url).stateDict() }
        // Pre-1.6 torch.save wrote bare pickles (PROTO 2, then the LONG1 magic number) with no archive.
        if head.count >= 3, head[0] == 0x80, (2 ... 5).contains(head[1]) { throw CheckpointError.legacyTorchFormat(file: url) }
        throw CheckpointError.unknownFormat(file: url, firstBytes: head)
    }

    /// Saves every parameter `layer` visits as an F32 safetensors file, atomically.
    public static func save(_ layer: any Layer, to url: URL, metadata: [String: String] = [:]) throws {
        try SafetensorsFile.write(layer.namedParameters(), metadata: metadata, to: url)
    }
}
