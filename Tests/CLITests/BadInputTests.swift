import Foundation
import NN
import Tensor
import Testing
import TestSupport

/// Bad input must give a clear message and a non-zero exit, never a crash.
@Suite("segment rejects bad input with a clear error")
struct BadInputTests {
    let model = Fixtures.url("sam_tiny_win.pth").path

    func segment(_ extra: [String], image: String? = nil, model: String? = nil) throws -> CLIRunner.Result {
        let dir = try temporaryFolder("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let img = try image ?? SegmentCommandTests.fixtureImage(in: dir).path
        return try CLIRunner.run(["segment", img, "--model", model ?? self.model, "--out", dir.appendingPathComponent("o").path] + extra)
    }

    func expectFailure(_ r: CLIRunner.Result, mentions words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, "expected a non-zero exit", sourceLocation: sourceLocation)
        #expect(r.status < 128, "the process must not die on a signal (status \(r.status))", sourceLocation: sourceLocation)
        for w in words {
            #expect(r.stderr.localizedCaseInsensitiveContains(w), "stderr should mention \(w): \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test("a pickle naming a foreign global such as os.system is refused")
    func foreignGlobal() throws {
        expectFailure(try segment(["--box", "10,10,50,50"], model: Fixtures.url("ckpt_foreign_global.pth").path), mentions: ["system", "run code"])
    }

    @Test("a truncated zip checkpoint")
    func truncated() throws {
        expectFailure(try segment(["--box", "10,10,50,50"], model: Fixtures.url("ckpt_truncated.pth").path), mentions: ["ckpt_truncated.pth"])
    }

    @Test("a safetensors file with a corrupt header")
    func corruptSafetensors() throws {
        expectFailure(try segment(["--box", "10,10,50,50"], model: Fixtures.url("ckpt_corrupt_header.safetensors").path), mentions: ["header"])
    }

    @Test("a checkpoint missing a key, or with an extra one, names the key")
    func missingAndExtraKeys() throws {
        let dir = try temporaryFolder("keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try Checkpoint.load(url: Fixtures.url("sam_tiny_win.pth"))
        var missing = full
        missing.tensors["mask_decoder.iou_token.weight"] = nil
        let missingURL = dir.appendingPathComponent("missing.safetensors")
        try SafetensorsFile.write(missing, to: missingURL)
        expectFailure(try segment(["--box", "10,10,50,50"], model: missingURL.path), mentions: ["mask_decoder.iou_token.weight"])

        var extra = full
        extra.tensors["mask_decoder.surprise.weight"] = Tensor(zeros: [3])
        let extraURL = dir.appendingPathComponent("extra.safetensors")
        try SafetensorsFile.write(extra, to: extraURL)
        expectFailure(try segment(["--box", "10,10,50,50"], model: extraURL.path), mentions: ["mask_decoder.surprise.weight"])

        var reshaped = full
        reshaped.tensors["mask_decoder.output_upscaling.1.weight"] = Tensor(zeros: [5])
        let shapeURL = dir.appendingPathComponent("shape.safetensors")
        try SafetensorsFile.write(reshaped, to: shapeURL)
        expectFailure(try segment(["--box", "10,10,50,50"], model: shapeURL.path), mentions: ["mask_decoder.output_upscaling.1.weight", "[5]"])
    }

    @Test("a file that is not an image")
    func notAnImage() throws {
        let dir = try temporaryFolder("txt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let txt = dir.appendingPathComponent("notes.png")
        try Data("hello, not a picture".utf8).write(to: txt)
        expectFailure(try segment(["--box", "10,10,50,50"], image: txt.path), mentions: ["notes.png"])
    }

    @Test("a missing image file")
    func missingImage() throws {
        expectFailure(try segment(["--box", "10,10,50,50"], image: "/nonexistent/frame.png"), mentions: ["/nonexistent/frame.png"])
    }

    @Test("boxes outside the image, with zero area, or with NaN; points outside; no prompt",
          arguments: [(["--box", "200,200,300,300"], "outside"), (["--box", "10,10,10,40"], "area"),
                      (["--box", "nan,10,40,40"], "finite"), (["--point", "500,5"], "outside"),
                      (["--box", "1,2,3"], "box"), ([String](), "prompt")])
    func badPrompts(args: [String], word: String) throws {
        expectFailure(try segment(args), mentions: [word])
    }
}
