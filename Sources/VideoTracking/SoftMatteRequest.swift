import Foundation
import VideoIO

/// `--soft` and its options: soft mattes (alpha = sigmoid of the model's frame-size logits)
/// written beside the binary ones, which stay exactly as without it. Recorded in summary.json
/// (`settings.soft_matte`) and in `.resume.json`, so a resumed run keeps the same settings.
public struct SoftMatteRequest: Sendable, Codable, Equatable {
    /// Fill the binary mask's enclosed holes (alpha 1 there) before growing and feathering.
    public var fillHoles: Bool
    /// With `fillHoles`: only holes of at most this many pixels; nil fills every hole.
    public var maxHoleArea: Int?
    /// Pixels to dilate (> 0) or erode (< 0) the matte by, with a disc.
    public var grow: Int
    /// Edge softening in pixels: a Gaussian of sigma = feather / 3 (see `MatteOperations.feather`).
    public var feather: Double
    /// Also write one multi-layer EXR per frame; nil: 16-bit PNGs only.
    public var exr: EXRRequest?

    public init(fillHoles: Bool = false, maxHoleArea: Int? = nil, grow: Int = 0, feather: Double = 0, exr: EXRRequest? = nil) {
        self.fillHoles = fillHoles
        self.maxHoleArea = maxHoleArea
        self.grow = grow
        self.feather = feather
        self.exr = exr
    }

    /// The request's own rules (the CLI checks the same with its flags' names).
    public func check() throws(SoftMatteError) {
        guard feather >= 0, feather.isFinite else { throw .invalid("--feather must be 0 or more pixels, got \(feather)") }
        if let maxHoleArea {
            guard fillHoles else { throw .invalid("--max-hole-area limits --fill-holes: give --fill-holes too") }
            guard maxHoleArea > 0 else { throw .invalid("--max-hole-area must be at least 1 pixel, got \(maxHoleArea)") }
        }
        if let exr { try exr.check() }
    }

    /// One object's soft matte on one frame: `alpha` (nil: not tracked, alpha 0) with the options
    /// applied in roto order: fill holes (of `mask`, the binary mask), grow, feather; clamped to 0...1.
    public func apply(alpha: [Float]?, mask: [Bool], width: Int, height: Int) -> [Float] {
        guard var a = alpha else { return [Float](repeating: 0, count: width * height) }
        if fillHoles { a = MatteOperations.fillHoles(a, mask: mask, width: width, height: height, maxArea: maxHoleArea) }
        if grow != 0 { a = MatteOperations.grow(a, width: width, height: height, pixels: grow) }
        if feather > 0 { a = MatteOperations.feather(a, width: width, height: height, pixels: feather) }
        for i in a.indices { a[i] = min(max(a[i], 0), 1) }
        return a
    }
}

/// `--exr`: one OpenEXR file per frame, `exr/<name>.<number>.exr`.
public struct EXRRequest: Sendable, Codable, Equatable {
    public var compression: EXRCompression
    /// Also write the frame's colour as R, G, B (sRGB decoded to linear) premultiplied by A,
    /// the union of the objects' mattes.
    public var colour: Bool
    /// The file name before the frame number (`shot` -> `shot.1001.exr`).
    public var name: String

    public init(compression: EXRCompression = .zip, colour: Bool = false, name: String = "matte") {
        self.compression = compression
        self.colour = colour
        self.name = name
    }

    public func check() throws(SoftMatteError) {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw .invalid("--exr-name '\(name)' must be a file name (not empty, no '/', not starting with '.')")
        }
        do { try EXRWriter.checkSupported(compression) } catch {
            throw .invalid("--exr-compression \(compression.rawValue): OpenEXR \(EXRInfo.version) cannot write it here (\(error)); "
                           + "choose \(EXRCompression.allCases.filter { $0 != compression }.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

public enum SoftMatteError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
