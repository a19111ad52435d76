import Foundation
import NN
import Tensor
import TestSupport
import Testing

@Suite("strict loading")
struct StrictLoadingTests {
    private func small() throws -> StateDict { try Checkpoint.load(url: Fixtures.url("ckpt_small.pth")) }

    @Test("a matching checkpoint fills every parameter")
    func loadsEverything() throws {
        let dict = try small()
        let model = SmallStub()
        try dict.load(into: model, ignoring: ["*.num_batches_tracked", "extra.*"])
        #expect(model.proj.weight == dict["proj.weight"])
        #expect(model.conv.weight == dict["conv.weight"])
        #expect(model.norm.bias == dict["norm.bias"])
        #expect(model.bn.runningVar == dict["bn.running_var"])
    }

    @Test("a prefix loads one component out of a larger checkpoint")
    func prefix() throws {
        let dict = try small()
        let proj = LinearStub(6, 4)
        try dict.load(into: proj, prefix: "proj.")
        #expect(proj.weight == dict["proj.weight"] && proj.bias == dict["proj.bias"])
    }

    @Test("loader names a missing key and the shape the model expects")
    func missingKey() throws {
        var dict = try small()
        dict["proj.bias"] = nil
        let error = try #require(throws: StateDictError.self) { try dict.load(into: LinearStub(6, 4), prefix: "proj.") }
        #expect(error == .missingKey(key: "proj.bias", expectedShape: [4]))
        #expect(message(error).contains("'proj.bias'") && message(error).contains("[4]"))
    }

    @Test("loader names both shapes when a tensor has the wrong shape")
    func wrongShape() throws {
        let dict = try small()
        let error = try #require(throws: StateDictError.self) { try dict.load(into: LinearStub(4, 6), prefix: "proj.") }
        #expect(error == .several([
            .shapeMismatch(key: "proj.weight", expectedShape: [6, 4], checkpointShape: [4, 6]),
            .shapeMismatch(key: "proj.bias", expectedShape: [6], checkpointShape: [4]),
        ]))
        #expect(message(error).contains("'proj.weight'") && message(error).contains("[6, 4]")
            && message(error).contains("[4, 6]"))
    }

    @Test("loader rejects a key no layer reads")
    func unexpectedKey() throws {
        let dict = try small()
        let model = SmallStub()
        let error = try #require(throws: StateDictError.self) { try dict.load(into: model, ignoring: ["extra.*"]) }
        #expect(error == .unexpectedKey(key: "bn.num_batches_tracked", checkpointShape: []))
        #expect(message(error).contains("'bn.num_batches_tracked'"))
    }

    @Test("ignored patterns never excuse a missing parameter")
    func ignoreDoesNotExcuseMissing() throws {
        var dict = try small()
        dict["norm.weight"] = nil
        let error = try #require(throws: StateDictError.self) {
            try dict.load(into: SmallStub(), ignoring: ["*.num_batches_tracked", "extra.*", "norm.*"])
        }
        #expect(error == .missingKey(key: "norm.weight", expectedShape: [4]))
    }

    @Test("a failed load leaves the layer unchanged")
    func atomic() throws {
        var dict = try small()
        dict["bn.weight"] = Tensor(zeros: [7])
        let model = SmallStub()
        #expect(throws: StateDictError.self) { try dict.load(into: model, ignoring: ["*.num_batches_tracked", "extra.*"]) }
        #expect(model.proj.weight == Tensor(zeros: [4, 6]))
    }

    @Test("a layer saved as safetensors loads back into a fresh layer")
    func saveAndLoad() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("small.safetensors")
        let model = SmallStub()
        try small().load(into: model, ignoring: ["*.num_batches_tracked", "extra.*"])
        try Checkpoint.save(model, to: url, metadata: ["source": "ckpt_small.pth"])

        let reloaded = try Checkpoint.load(url: url)
        #expect(reloaded.metadata == ["source": "ckpt_small.pth"])
        let fresh = SmallStub()
        try reloaded.load(into: fresh)
        #expect(fresh.namedParameters().map(\.tensor) == model.namedParameters().map(\.tensor))
        #expect(fresh.namedParameters().map(\.key) == reloaded.keys.sorted { a, b in
            let order = model.namedParameters().map(\.key)
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        })
    }
}
