import Foundation
import SegmentAnything

enum ModelLoader {
    /// A preset name gives random weights (benchmarks); anything else is a checkpoint path.
    static func loadOrPreset(_ spec: String) throws -> Sam {
        if let preset = SamPreset(rawValue: spec) { return preset.randomModel() }
        return try SamLoader.load(URL(fileURLWithPath: spec))
    }
}
