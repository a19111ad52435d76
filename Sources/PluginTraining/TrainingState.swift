// A resumable training state: everything an interrupted `train-plugin` run needs to continue and
// end with the bytes an uninterrupted run writes.
import Foundation
import NN
import SegmentAnything
import Tensor

/// The settings a run is defined by. A resumed run must use the same ones (epochs may grow).
public struct TrainPluginSettings: Codable, Equatable, Sendable {
    public var epochs = 1
    public var seed: UInt64 = 0
    public var batchSize = 4
    public var lr = 1e-3
    /// Share of clip samples in an epoch's stream when there are clips (train.py `--temporal-share`).
    public var temporalShare = RTSPrompts.temporalShare
    /// Share of temporal prompts that are grown boxes (train.py `--temporal-loose`).
    public var temporalLoose = 0.0
    public var options = StableSAMOptions()

    public init(epochs: Int = 1, seed: UInt64 = 0, batchSize: Int = 4, lr: Double = 1e-3,
                temporalShare: Double = RTSPrompts.temporalShare, temporalLoose: Double = 0,
                options: StableSAMOptions = StableSAMOptions()) {
        self.epochs = epochs
        self.seed = seed
        self.batchSize = batchSize
        self.lr = lr
        self.temporalShare = temporalShare
        self.temporalLoose = temporalLoose
        self.options = options
    }

    /// States written before `temporal_loose` existed read as 0 (what they trained with).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decode(Int.self, forKey: .epochs)
        seed = try c.decode(UInt64.self, forKey: .seed)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        lr = try c.decode(Double.self, forKey: .lr)
        temporalShare = try c.decode(Double.self, forKey: .temporalShare)
        temporalLoose = try c.decodeIfPresent(Double.self, forKey: .temporalLoose) ?? 0
        options = try c.decode(StableSAMOptions.self, forKey: .options)
    }

    enum CodingKeys: String, CodingKey {
        case epochs, seed, batchSize = "batch_size", lr, temporalShare = "temporal_share", temporalLoose = "temporal_loose", options
    }
}

public enum TrainingStateError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case noState(file: String)
    case notAState(file: String, reason: String)
    case widthMismatch(file: String, state: Int, decoder: Int)
    case baseMismatch(file: String, state: String, decoder: String)
    case settingsMismatch(file: String, setting: String, state: String, now: String)

    public var description: String {
        switch self {
        case .noState(let f):
            return "nothing to resume: \(f) does not exist (it is written when a run is interrupted with Ctrl-C); run without --resume"
        case let .notAState(f, r): return "\(f) is not a train-plugin state file (\(r)); delete it and run without --resume"
        case let .widthMismatch(f, s, d):
            return "\(f) holds a plugin for a \(s)-wide mask decoder, but this model's decoder is \(d) wide: "
                + "resume with the --model the run was started with, or delete the file and start over without --resume"
        case let .baseMismatch(f, s, d):
            return "\(f) was trained on a decoder with fingerprint \(s), but this model's decoder has fingerprint \(d): "
                + "resume with the --model the run was started with, or delete the file and start over without --resume"
        case let .settingsMismatch(f, setting, s, n):
            return "\(f) was started with \(setting) \(s), now \(n): resume with the same settings, or delete the file and start over"
        }
    }

    public var errorDescription: String? { description }
}

/// Saved after a completed step (or before the first), written atomically.
public struct TrainingState {
    public static let format = "stablesam-train-state/1"

    public var settings: TrainPluginSettings
    /// What the data listing gave (a changed data folder is refused).
    public var dataSummary: String
    public var transformerDim: Int
    public var decoderFingerprint: String
    /// Steps completed over all epochs, and in the current epoch.
    public var globalStep: Int
    public var epoch: Int
    public var stepInEpoch: Int
    /// The generator now, and at the start of the current epoch (the epoch's stream is redrawn from it).
    public var rng: UInt64
    public var epochRNG: UInt64
    public var adamStep: Int
    /// Per parameter key: weight, Adam's exp_avg and exp_avg_sq.
    public var weights: [(key: String, tensor: Tensor)]
    public var expAvg: [Tensor]
    public var expAvgSq: [Tensor]
    /// Loss of the first and the latest step (provenance).
    public var firstLoss: Float?
    public var lastLoss: Float?

    public func write(to url: URL) throws {
        var tensors: [(key: String, tensor: Tensor)] = []
        for (k, (key, w)) in weights.enumerated() {
            tensors += [("plugin.\(key)", w), ("exp_avg.\(key)", expAvg[k]), ("exp_avg_sq.\(key)", expAvgSq[k])]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var meta = [
            "format": Self.format, "settings": String(decoding: try encoder.encode(settings), as: UTF8.self),
            "data": dataSummary, "transformer_dim": String(transformerDim), "base_decoder_fingerprint": decoderFingerprint,
            "global_step": String(globalStep), "epoch": String(epoch), "step_in_epoch": String(stepInEpoch),
            "rng": String(rng), "epoch_rng": String(epochRNG), "adam_step": String(adamStep),
            "keys": weights.map(\.key).joined(separator: ","),
        ]
        // Exact float bits, so provenance after a resume equals the uninterrupted run's.
        if let firstLoss { meta["first_loss_bits"] = String(firstLoss.bitPattern) }
        if let lastLoss { meta["last_loss_bits"] = String(lastLoss.bitPattern) }
        try SafetensorsFile.write(tensors, metadata: meta, to: url)
    }

    public static func read(_ url: URL) throws -> TrainingState {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TrainingStateError.noState(file: url.path) }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: url) } catch {
            throw TrainingStateError.notAState(file: url.path, reason: "\(error)")
        }
        let m = file.metadata
        guard m["format"] == format else { throw TrainingStateError.notAState(file: url.path, reason: "format '\(m["format"] ?? "missing")'") }
        func int(_ k: String) throws -> Int {
            guard let v = m[k].flatMap(Int.init) else { throw TrainingStateError.notAState(file: url.path, reason: "no \(k)") }
            return v
        }
        func word(_ k: String) throws -> UInt64 {
            guard let v = m[k].flatMap({ UInt64($0) }) else { throw TrainingStateError.notAState(file: url.path, reason: "no \(k)") }
            return v
        }
        let settings: TrainPluginSettings
        do { settings = try JSONDecoder().decode(TrainPluginSettings.self, from: Data((m["settings"] ?? "").utf8)) } catch {
            throw TrainingStateError.notAState(file: url.path, reason: "unreadable settings")
        }
        let keys = (m["keys"] ?? "").split(separator: ",").map(String.init)
        var weights: [(key: String, tensor: Tensor)] = [], expAvg: [Tensor] = [], expAvgSq: [Tensor] = []
        do {
            for key in keys {
                weights.append((key, try file.tensor(named: "plugin.\(key)")))
                expAvg.append(try file.tensor(named: "exp_avg.\(key)"))
                expAvgSq.append(try file.tensor(named: "exp_avg_sq.\(key)"))
            }
        } catch {
            throw TrainingStateError.notAState(file: url.path, reason: "\(error)")
        }
        return TrainingState(settings: settings, dataSummary: m["data"] ?? "", transformerDim: try int("transformer_dim"),
                             decoderFingerprint: m["base_decoder_fingerprint"] ?? "", globalStep: try int("global_step"),
                             epoch: try int("epoch"), stepInEpoch: try int("step_in_epoch"), rng: try word("rng"),
                             epochRNG: try word("epoch_rng"), adamStep: try int("adam_step"), weights: weights,
                             expAvg: expAvg, expAvgSq: expAvgSq,
                             firstLoss: m["first_loss_bits"].flatMap { UInt32($0) }.map(Float.init(bitPattern:)),
                             lastLoss: m["last_loss_bits"].flatMap { UInt32($0) }.map(Float.init(bitPattern:)))
    }

    /// Refuses a state that does not belong to this model and these settings.
    public func check(file: URL, decoder: MaskDecoder, settings now: TrainPluginSettings, dataSummary data: String) throws {
        let name = file.path
        guard transformerDim == decoder.config.transformerDim else {
            throw TrainingStateError.widthMismatch(file: name, state: transformerDim, decoder: decoder.config.transformerDim)
        }
        let fp = decoder.fingerprint()
        guard decoderFingerprint == fp else { throw TrainingStateError.baseMismatch(file: name, state: decoderFingerprint, decoder: fp) }
        let pairs: [(String, String, String)] = [
            ("--seed", "\(settings.seed)", "\(now.seed)"), ("--batch-size", "\(settings.batchSize)", "\(now.batchSize)"),
            ("--lr", "\(settings.lr)", "\(now.lr)"), ("--temporal-share", "\(settings.temporalShare)", "\(now.temporalShare)"),
            ("--temporal-loose", "\(settings.temporalLoose)", "\(now.temporalLoose)"),
            ("plugin options", "\(settings.options)", "\(now.options)"), ("data", dataSummary, data),
        ]
        for (setting, s, n) in pairs where s != n {
            throw TrainingStateError.settingsMismatch(file: name, setting: setting, state: s, now: n)
        }
    }
}
