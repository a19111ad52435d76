// Stable-SAM (Qi Fan et al., arXiv 2311.15776): the Deformable Sampling Plugin (DSP) and the
// Dynamic Routing Plugin (DRP) in block 2 of SAM's two-way transformer. The authors released no
// code; the method is specified in STABLE_SAM.md and its PyTorch reference is
// Scripts/stable_sam/plugins.py, which the parity fixtures come from.
import Foundation
import NN
import Tensor

/// The project's own choices where the paper is silent (STABLE_SAM.md's [ours]); stored in every
/// plugin file's `options` metadata so a file always runs the way it was trained.
public struct StableSAMOptions: Codable, Sendable, Equatable {
    /// Which output token of block 2 (after self-attention and norm1) drives the DRP.
    public enum RouteToken: String, Codable, Sendable, CaseIterable {
        /// Mask token 0, the single-mask output (the default).
        case mask0
        /// The IoU token.
        case iou

        /// Position in the decoder's token sequence `[iou, mask 0..3, prompt...]`.
        var index: Int { self == .iou ? 0 : 1 }
    }

    /// The positional encoding added to the deformed keys.
    public enum KeyPositionalEncoding: String, Codable, Sendable, CaseIterable {
        /// SAM's encoding at the regular grid position p (the default).
        case grid
        /// The encoding evaluated at the sampled position p + d, mixed by the route as the values are.
        case deformed
    }

    /// Offsets are `offsetScale * tanh(raw)` feature-grid cells.
    public var offsetScale: Float = 8
    public var routeToken: RouteToken = .mask0
    public var keyPositionalEncoding: KeyPositionalEncoding = .grid

    public init(offsetScale: Float = 8, routeToken: RouteToken = .mask0, keyPositionalEncoding: KeyPositionalEncoding = .grid) {
        self.offsetScale = offsetScale
        self.routeToken = routeToken
        self.keyPositionalEncoding = keyPositionalEncoding
    }

    enum CodingKeys: String, CodingKey {
        case offsetScale = "offset_scale", routeToken = "route_token", keyPositionalEncoding = "key_pe"
    }
}

/// How block 2's token->image attention mixes deformed and regular features.
public enum Route: String, CaseIterable, Sendable {
    /// The DRP decides per prompt.
    case auto
    /// a = (1, 0): deformed features only.
    case deformable
    /// a = (0, 1): the regular grid only, i.e. plain SAM (the DSP is not even run).
    case regular
}

/// DSP: `xs = proj(x)`; offsets `d = s * tanh(offset(xs))` in grid cells; `xs` sampled bilinearly
/// at `p + d` (zero outside the map).
/// Keys: `proj.weight` [C, C, 1, 1], `proj.bias` [C]; `offset.0.weight` [C, 1, 5, 5] and
/// `offset.0.bias` [C] (depthwise); `offset.1.weight`, `offset.1.bias` [C] (channel LayerNorm,
/// eps 1e-6, SAM's LayerNorm2d); `offset.3.weight` [2, C, 1, 1] (no bias). offset.2 is the GELU.
public final class DeformableSamplingPlugin: Layer {
    public let proj: Conv2d
    public let offset0: Conv2d
    public let offset1: LayerNorm2d
    public let offset3: Conv2d

    init(channels c: Int) {
        proj = Conv2d(c, c, kernel: 1)
        offset0 = Conv2d(c, c, kernel: 5, padding: 2, groups: c)
        offset1 = LayerNorm2d(c)
        offset3 = Conv2d(c, 2, kernel: 1, bias: false)
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("proj", proj)
        let offset = walk.scope("offset")
        try offset.module("0", offset0)
        try offset.module("1", offset1)
        try offset.module("3", offset3)
    }

    /// keys: [B, HW, C] (the decoder's token layout) on an h x w grid
    /// -> (sample [B, C, H, W], offsets [B, 2, H, W] as (dx, dy) in cells).
    public func callAsFunction(keys: Tensor, grid: (h: Int, w: Int), offsetScale s: Float) -> (sample: Tensor, offsets: Tensor) {
        let (b, hw, c) = (keys.shape[0], keys.shape[1], keys.shape[2])
        let (h, w) = grid
        // proj as W [C, C] @ keysᵀ: one GEMM reads the token layout directly, no transpose pass.
        let weight = proj.weight.reshaped([c, c])
        let projected = (0..<b).map { bi in
            weight.matmul((b == 1 ? keys : keys.slice(axis: 0, bi..<(bi + 1))).reshaped([hw, c]), transposeOther: true)
        }
        var xs = b == 1 ? projected[0] : Tensor.concatenate(projected, axis: 0)
        xs = xs.reshaped([b, c, h, w])
        if let bias = proj.bias { xs = xs.addingChannelBias(bias) }
        let offsets = offset3(offset1(offset0(xs)).gelu()).map { s * tanhf($0) }
        return (xs.bilinearSampled(atPixels: Tensor.samplingLocations(offsets: offsets)), offsets)
    }
}

/// DRP: `softmax(mlp(token))` -> route weights (a1 deformed, a2 regular) per prompt.
/// Keys: `mlp.0.weight` [C/8, C], `mlp.0.bias` [C/8]; `mlp.1.weight`, `mlp.1.bias` [C/8]
/// (LayerNorm, eps 1e-5); `mlp.3.weight` [2, C/8], `mlp.3.bias` [2]. mlp.2 is the GELU.
public final class DynamicRoutingPlugin: Layer {
    public let mlp0: Linear
    public let mlp1: LayerNorm
    public let mlp3: Linear

    init(channels c: Int) {
        mlp0 = Linear(c, c / 8)
        mlp1 = LayerNorm(c / 8)
        mlp3 = Linear(c / 8, 2)
    }

    public func visit(_ walk: ParameterWalk) throws {
        let mlp = walk.scope("mlp")
        try mlp.module("0", mlp0)
        try mlp.module("1", mlp1)
        try mlp.module("3", mlp3)
    }

    /// token: [B, C] -> [B, 2]
    public func callAsFunction(_ token: Tensor) -> Tensor { mlp3(mlp1(mlp0(token)).gelu()).softmax() }
}

/// DSP + DRP for one SAM mask decoder; attach with `Sam.plugin`. Parameter keys are `dsp.*` and
/// `drp.*` (see the two plugin types); 81,826 parameters at C = 256.
public final class StableSAMPlugin: Layer, TokenToImageFeatures {
    /// What the last decoder call computed, for inspection and parity tests (B = prompts).
    public struct Stages: Sendable {
        /// [B, 2, H, W]: (dx, dy) in cells.
        public var offsets: Tensor
        /// [B, C, H, W]: `proj(x)` sampled at p + d.
        public var sample: Tensor
        /// [B, HW, C]: `a1 * sample + a2 * x`, the values token->image attention read.
        public var values: Tensor
    }

    public let embeddingDim: Int
    public let options: StableSAMOptions
    public let dsp: DeformableSamplingPlugin
    public let drp: DynamicRoutingPlugin
    /// Override for users and ablations; `.regular` is plain SAM.
    public var route: Route = .auto
    /// Where the weights came from (plugin file metadata); empty for a freshly built plugin.
    public var info = PluginInfo()
    /// Set to keep `lastStages` (costs a copy of three feature maps per call).
    public var recordsStages = false
    public private(set) var lastStages: Stages?
    /// SAM's positional encoding, for `KeyPositionalEncoding.deformed`; set by `Sam.plugin`.
    var positionEncoding: PositionEmbeddingRandom?

    /// A plugin that leaves SAM exactly unchanged: proj is the identity, the offset head and the
    /// DRP's last layer are zero (so d = 0 and a = (0.5, 0.5) exactly, and 0.5 x + 0.5 x == x in
    /// float), the other weights seeded random as a training start.
    public init(embeddingDim c: Int, options: StableSAMOptions = StableSAMOptions(), seed: UInt64 = 0) {
        precondition(c % 8 == 0, "the DRP's hidden width is C/8: C = \(c) must be a multiple of 8")
        embeddingDim = c
        self.options = options
        dsp = DeformableSamplingPlugin(channels: c)
        drp = DynamicRoutingPlugin(channels: c)
        dsp.offset0.randomize(seed: seed)
        drp.mlp0.randomize(seed: seed &+ 1)
        for i in 0..<c { dsp.proj.weight.storage[i * c + i] = 1 }
    }

    public func visit(_ walk: ParameterWalk) throws {
        try walk.module("dsp", dsp)
        try walk.module("drp", drp)
    }

    /// -> the values and key encoding token->image attention reads, and the route [B, 2] (a1
    /// deformed, a2 regular) they were mixed with.
    public func features(queries: Tensor, keys: Tensor, keyPE: Tensor, grid: (h: Int, w: Int))
        -> (values: Tensor, keyPE: Tensor, route: Tensor?) {
        let (b, hw, c) = (keys.shape[0], keys.shape[1], keys.shape[2])
        precondition(c == embeddingDim && hw == grid.h * grid.w, "plugin C=\(embeddingDim) given keys \(keys.shape) on \(grid)")
        if route == .regular {
            lastStages = nil
            return (keys, keyPE, Tensor(shape: [b, 2], storage: (0..<b).flatMap { _ in [0, 1] as [Float] }))
        }
        let (sample, offsets) = dsp(keys: keys, grid: grid, offsetScale: options.offsetScale)
        let a: Tensor
        switch route {
        case .auto:
            let t = options.routeToken.index, nt = queries.shape[1]
            var tokens = [Float]()
            for bi in 0..<b {
                let start = (bi * nt + t) * c
                tokens += queries.storage[start..<(start + c)]
            }
            a = drp(Tensor(shape: [b, c], storage: tokens))
        default:
            a = Tensor(shape: [b, 2], storage: (0..<b).flatMap { _ in [1, 0] as [Float] })
        }
        let values = Self.mix(channelsFirst: sample, keys, route: a)
        var pe = keyPE
        if options.keyPositionalEncoding == .deformed {
            pe = Self.mix(deformedPositionalEncoding(offsets, grid: grid), keyPE.reshaped([-1, hw, c]), route: a)
        }
        lastStages = recordsStages ? Stages(offsets: offsets, sample: sample, values: values) : nil
        return (values, pe, a)
    }

    /// `a1 * sample + a2 * regular` per prompt with the transpose folded in (it runs at every
    /// decoder call): sample [B, C, H, W], regular [B, HW, C] -> [B, HW, C].
    static func mix(channelsFirst sample: Tensor, _ regular: Tensor, route a: Tensor) -> Tensor {
        let (b, c, hw) = (regular.shape[0], regular.shape[2], regular.shape[1])
        precondition(sample.shape[0] == b && sample.count == regular.count, "mix: \(sample.shape) vs \(regular.shape)")
        return Tensor(shape: regular.shape) { out in
            let op = SendablePointer(out.baseAddress!)
            sample.withUnsafeBufferPointer { sb in
                regular.withUnsafeBufferPointer { rb in
                    let sp = SendableConstPointer(sb.baseAddress!), rp = SendableConstPointer(rb.baseAddress!)
                    let route = a.storage
                    Parallel.forEach(b * hw, grain: 256) { rows in
                        for row in rows {
                            let bi = row / hw, p = row % hw, a1 = route[2 * bi], a2 = route[2 * bi + 1]
                            let s = sp.pointer + bi * c * hw + p, r = rp.pointer + row * c, o = op.pointer + row * c
                            for ch in 0..<c { o[ch] = a1 * s[ch * hw] + a2 * r[ch] }
                        }
                    }
                }
            }
        }
    }

    /// `a1 * deformed + a2 * regular` per prompt; regular may be shared ([1, HW, C]) by the batch.
    static func mix(_ deformed: Tensor, _ regular: Tensor, route a: Tensor) -> Tensor {
        let b = deformed.shape[0], n = deformed.count / b
        var out = deformed
        for bi in 0..<b {
            let a1 = a.storage[2 * bi], a2 = a.storage[2 * bi + 1]
            let r = regular.shape[0] == 1 ? 0 : bi * n
            for i in 0..<n { out.storage[bi * n + i] = a1 * deformed.storage[bi * n + i] + a2 * regular.storage[r + i] }
        }
        return out
    }

    /// SAM's random-Fourier encoding at the sampled positions: pixel-centre coordinates
    /// `(j + dx + 0.5) / w`, `(i + dy + 0.5) / h`, as `get_dense_pe` uses at p. -> [B, HW, C]
    func deformedPositionalEncoding(_ offsets: Tensor, grid: (h: Int, w: Int)) -> Tensor {
        guard let pe = positionEncoding else {
            preconditionFailure("key_pe = deformed needs SAM's positional encoding: attach the plugin with Sam.plugin")
        }
        let (b, h, w) = (offsets.shape[0], grid.h, grid.w)
        var coords = [Float](repeating: 0, count: b * h * w * 2)
        let plane = h * w
        for bi in 0..<b {
            for i in 0..<h {
                for j in 0..<w {
                    let o = bi * plane + i * w + j
                    let dx = offsets.storage[bi * 2 * plane + i * w + j], dy = offsets.storage[(bi * 2 + 1) * plane + i * w + j]
                    let px: Float = Float(j) + dx, py: Float = Float(i) + dy
                    coords[2 * o] = (px + 0.5) / Float(w)
                    coords[2 * o + 1] = (py + 0.5) / Float(h)
                }
            }
        }
        return pe.encode(Tensor(shape: [b * h * w, 2], storage: coords)).reshaped([b, h * w, embeddingDim])
    }
}
