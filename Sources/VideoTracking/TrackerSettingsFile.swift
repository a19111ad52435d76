import Foundation
import Tracking

extension TrackerSettings {
    /// Reads `--tracker-settings`: a JSON object with any subset of the keys summary.json's
    /// "settings" holds (snake_case; a missing key keeps its default), so a run's settings can be
    /// copied from one summary into the next run.
    public static func read(json path: String) throws -> TrackerSettings {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TrackerSettingsError(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let settings: TrackerSettings
        do {
            settings = try decoder.decode(TrackerSettings.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw TrackerSettingsError(path: path, reason: "'\(snakeCase(context.codingPath))' has the wrong type (\(context.debugDescription))")
        } catch let DecodingError.valueNotFound(_, context) where !context.codingPath.isEmpty {
            throw TrackerSettingsError(path: path, reason: "'\(snakeCase(context.codingPath))' has the wrong type (\(context.debugDescription))")
        } catch {
            throw TrackerSettingsError(path: path, reason: "is not a JSON object of tracker settings")
        }
        try settings.checkRanges(path: path)
        return settings
    }

    /// Settings that no tracker can run with: negative or non-finite numbers everywhere (every
    /// setting is a size, a weight, a count or a rate), and shares above 1.
    func checkRanges(path: String) throws {
        let numbers: [(String, Double)] = [
            ("margin", margin), ("search_growth", searchGrowth), ("max_margin", maxMargin), ("full_size_memory", fullSizeMemory),
            ("max_area_fraction", maxAreaFraction), ("max_growth", maxGrowth),
            ("box_agreement_weight", boxAgreementWeight), ("mask_agreement_weight", maskAgreementWeight),
            ("appearance_weight", appearanceWeight), ("predicted_iou_weight", predictedIoUWeight),
            ("fill_penalty", fillPenalty), ("shared_penalty", sharedPenalty), ("max_shared", maxShared),
            ("fill_tolerance", fillTolerance), ("max_fill_ratio", maxFillRatio),
            ("velocity_damping", velocityDamping), ("max_size_change", maxSizeChange),
            ("template_update", templateUpdate), ("recent_template_share", recentTemplateShare),
            ("max_reference_growth", maxReferenceGrowth ?? 0), ("reference_rate", referenceRate),
            ("kalman.position", kalman.position), ("kalman.velocity", kalman.velocity),
            ("kalman.size_velocity", kalman.sizeVelocity), ("kalman.measurement", kalman.measurement),
            ("kalman.initial_velocity", kalman.initialVelocity),
        ]
        for (key, value) in numbers where !(value.isFinite && value >= 0) {
            throw TrackerSettingsError(path: path, reason: "'\(key)' is \(value); it must be a number, 0 or more")
        }
        for (key, value) in [("template_update", templateUpdate), ("recent_template_share", recentTemplateShare),
                             ("velocity_damping", velocityDamping), ("max_area_fraction", maxAreaFraction),
                             ("max_shared", maxShared), ("full_size_memory", fullSizeMemory),
                             ("reference_rate", referenceRate)] where value > 1 {
            throw TrackerSettingsError(path: path, reason: "'\(key)' is \(value); it is a share, 0...1")
        }
        if minArea < 0 || occludedFrames < 0 || fillSides < 1 || fillSides > 4 {
            throw TrackerSettingsError(path: path, reason: "min_area and occluded_frames must be 0 or more, fill_sides 1...4")
        }
    }
}

public struct TrackerSettingsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String {
        "--tracker-settings \(path): \(reason); give a JSON object such as {\"margin\": 0.15, \"fill_penalty\": 0.6} (keys as in summary.json's settings.tracker)"
    }
}

/// `kalman.sizeVelocity` -> `kalman.size_velocity`: keys as the user wrote them.
private func snakeCase(_ path: [any CodingKey]) -> String {
    path.map { key in
        key.stringValue.reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }.joined(separator: ".")
}
