import Foundation
import NN
import Tensor

/// A fresh folder per test, removed by the caller.
func makeTemporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A safetensors file from a hand-edited header, for the corrupt-header cases.
func safetensorsBytes(header: String, data: [UInt8]) -> Data {
    var length = UInt64(header.utf8.count).littleEndian
    var out = Data(bytes: &length, count: 8)
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

/// Error text for assertions (any error type).
func message(_ error: any Error) -> String { String(describing: error) }

/// Mirrors nn.Linear: weight [out, in], bias [out].
final class LinearStub: Layer {
    var weight: Tensor
    var bias: Tensor
    init(_ inFeatures: Int, _ outFeatures: Int) {
        weight = Tensor(zeros: [outFeatures, inFeatures])
        bias = Tensor(zeros: [outFeatures])
    }
    func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
    }
}

/// Mirrors nn.Conv2d: weight [O, I, kH, kW], bias [O].
final class Conv2dStub: Layer {
    var weight: Tensor
    var bias: Tensor
    init(_ i: Int, _ o: Int, _ k: Int) {
        weight = Tensor(zeros: [o, i, k, k])
        bias = Tensor(zeros: [o])
    }
    func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
    }
}

/// Mirrors nn.LayerNorm: weight [C], bias [C].
final class LayerNormStub: Layer {
    var weight: Tensor
    var bias: Tensor
    init(_ c: Int) {
        weight = Tensor(zeros: [c])
        bias = Tensor(zeros: [c])
    }
    func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
    }
}

/// Mirrors nn.BatchNorm2d without `num_batches_tracked`, which inference never reads.
final class BatchNormStub: Layer {
    var weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor
    init(_ c: Int) {
        weight = Tensor(zeros: [c]); bias = Tensor(zeros: [c])
        runningMean = Tensor(zeros: [c]); runningVar = Tensor(zeros: [c])
    }
    func visit(_ walk: ParameterWalk) throws {
        try walk.param("weight", &weight)
        try walk.param("bias", &bias)
        try walk.param("running_mean", &runningMean)
        try walk.param("running_var", &runningVar)
    }
}

/// Mirrors `Small` in Scripts/make_checkpoint_fixtures.py.
final class SmallStub: Layer {
    let proj = LinearStub(6, 4)
    let conv = Conv2dStub(3, 5, 3)
    let norm = LayerNormStub(4)
    let bn = BatchNormStub(5)
    func visit(_ walk: ParameterWalk) throws {
        try walk.module("proj", proj)
        try walk.module("conv", conv)
        try walk.module("norm", norm)
        try walk.module("bn", bn)
    }
}
