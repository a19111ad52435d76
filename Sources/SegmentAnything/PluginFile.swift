import Foundation
import NN
import Tensor

/// Where a plugin's weights came from, as stored in its file.
public struct PluginInfo: Sendable, Equatable {
    /// A name for the base SAM the plugin was trained on (e.g. `sam_vit_b_01ec64.pth`).
    public var baseModel = ""
    /// `MaskDecoder.fingerprint()` of that base; empty when unknown.
    public var baseDecoderFingerprint = ""
    /// JSON object: trainer, data, seed, steps, losses... or how a test file was made.
    public var provenance = "{}"
    public init(baseModel: String = "", baseDecoderFingerprint: String = "", provenance: String = "{}") {
        self.baseModel = baseModel
        self.baseDecoderFingerprint = baseDecoderFingerprint
        self.provenance = provenance
    }
}

public enum PluginError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case notAPlugin(file: String, format: String?)
    case badOptions(file: String, reason: String)
    case widthMismatch(file: String, plugin: Int, decoder: Int)
    case baseMismatch(file: String, baseModel: String, pluginFingerprint: String, decoderFingerprint: String)
    case decoderTooShallow(depth: Int)

    public var description: String {
        switch self {
        case let .notAPlugin(file, format):
            return "\(file) is not a Stable-SAM plugin file (format '\(format ?? "missing")', expected '\(StableSAMPlugin.fileFormat)'); write one with Scripts/stable_sam (save_plugin)"
        case let .badOptions(file, reason): return "\(file): unreadable plugin options: \(reason)"
        case let .widthMismatch(file, p, d):
            return "\(file) is a plugin for a \(p)-wide mask decoder, but this model's decoder is \(d) wide; use the plugin trained for this model"
        case let .baseMismatch(file, base, pf, df):
            return "\(file) was trained on \(base.isEmpty ? "another model" : base) (decoder fingerprint \(pf)), but this model's decoder has fingerprint \(df); use the plugin trained for this model"
        case let .decoderTooShallow(depth):
            return "Stable-SAM's plugins live in block 2 of the two-way transformer, but this decoder has \(depth) block(s)"
        }
    }

    public var errorDescription: String? { description }
}

/// Plugin files: F32 safetensors with the keys of `StableSAMPlugin` (`dsp.proj.weight` ...) and
/// `__metadata__`:
/// - `format`: `stable-sam-plugin/1`
/// - `transformer_dim`: the decoder width C the plugin was built for
/// - `options`: JSON `{"key_pe": "grid"|"deformed", "offset_scale": 8.0, "route_token": "mask0"|"iou"}`
/// - `base_model`, `base_decoder_fingerprint`: the SAM it was trained on (`MaskDecoder.fingerprint()`)
/// - `provenance`: JSON object describing how the weights were made (trainer, data, seed, ...)
/// - `parameter_count`: informative
extension StableSAMPlugin {
    public static let fileFormat = "stable-sam-plugin/1"

    /// Reads a plugin file and checks it against `sam`'s mask decoder (width, and the base model's
    /// fingerprint when the file records one and `checkBase` is set). Loading is strict.
    public static func load(_ url: URL, for sam: Sam, checkBase: Bool = true) throws -> StableSAMPlugin {
        let file = try SafetensorsFile(url: url)
        let meta = file.metadata, name = url.lastPathComponent
        guard meta["format"] == fileFormat else { throw PluginError.notAPlugin(file: name, format: meta["format"]) }
        let options: StableSAMOptions
        do {
            options = try JSONDecoder().decode(StableSAMOptions.self, from: Data((meta["options"] ?? "{}").utf8))
        } catch {
            throw PluginError.badOptions(file: name, reason: "\(error)")
        }
        let decoderWidth = sam.maskDecoder.config.transformerDim
        let width = meta["transformer_dim"].flatMap(Int.init) ?? file.entry(named: "dsp.proj.bias")?.shape.first ?? -1
        guard width == decoderWidth else { throw PluginError.widthMismatch(file: name, plugin: width, decoder: decoderWidth) }
        guard sam.maskDecoder.transformer.layers.count >= 2 else {
            throw PluginError.decoderTooShallow(depth: sam.maskDecoder.transformer.layers.count)
        }
        let info = PluginInfo(baseModel: meta["base_model"] ?? "", baseDecoderFingerprint: meta["base_decoder_fingerprint"] ?? "",
                              provenance: meta["provenance"] ?? "{}")
        if checkBase, !info.baseDecoderFingerprint.isEmpty {
            let actual = sam.maskDecoder.fingerprint()
            guard actual == info.baseDecoderFingerprint else {
                throw PluginError.baseMismatch(file: name, baseModel: info.baseModel,
                                               pluginFingerprint: info.baseDecoderFingerprint, decoderFingerprint: actual)
            }
        }
        let plugin = StableSAMPlugin(embeddingDim: width, options: options)
        try file.stateDict().load(into: plugin)
        plugin.info = info
        return plugin
    }

    /// Writes the plugin file, naming `base` (the decoder it was trained on) in the metadata.
    public func save(to url: URL, base: MaskDecoder, baseModel: String, provenance: String = "{}") throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let meta = [
            "format": Self.fileFormat,
            "transformer_dim": String(embeddingDim),
            "options": String(decoding: try encoder.encode(options), as: UTF8.self),
            "base_model": baseModel,
            "base_decoder_fingerprint": base.fingerprint(),
            "provenance": provenance,
            "parameter_count": String(parameterCount),
        ]
        try Checkpoint.save(self, to: url, metadata: meta)
    }
}

extension MaskDecoder {
    /// Identifies the decoder's weights (not cryptographic: it tells bases apart, it does not
    /// detect tampering). FNV-1a 64 over, per parameter in sorted key order: the key's UTF-8, each
    /// dimension as 8 bytes little-endian, then `Σ bits(v_i) * (i + 1) mod 2^64` as 8 bytes little-
    /// endian, where bits(v) is the float32 bit pattern. 16 hex digits. Scripts/stable_sam computes
    /// the same with numpy.
    public func fingerprint() -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func eat(_ bytes: some Sequence<UInt8>) { for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        func eat(_ v: UInt64) { eat((0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
        for (key, t) in namedParameters().sorted(by: { $0.key < $1.key }) {
            eat(Array(key.utf8))
            for d in t.shape { eat(UInt64(d)) }
            var s: UInt64 = 0
            for (i, v) in t.storage.enumerated() { s = s &+ UInt64(v.bitPattern) &* UInt64(i + 1) }
            eat(s)
        }
        return String(h, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
