import NN

/// Architectures of the official models, for `bench` with random weights and for `models`.
public enum SamPreset: String, CaseIterable, Sendable {
    case vitB = "vit_b", vitL = "vit_l", vitH = "vit_h", vitT = "vit_t"

    public var config: SamConfig {
        switch self {
        case .vitB: return .vit(.vitB)
        case .vitL: return .vit(.vitL)
        case .vitH: return .vit(.vitH)
        case .vitT: return .tinyViT(.mobileSAM)   // MobileSAM (`mobile_sam.pt`)
        }
    }

    /// The architecture with seeded random weights (no checkpoint needed).
    public func randomModel(seed: UInt64 = 0) -> Sam {
        let sam = Sam(config)
        sam.randomize(seed: seed)
        return sam
    }
}
