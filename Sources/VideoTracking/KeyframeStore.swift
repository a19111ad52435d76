import Foundation
import Tracking
import VideoIO

/// `.keyframes/` in a run folder: every propagation's per-frame answers, what is finished, and
/// what the run was made with, so `--update` recomputes only propagations a changed keyframe
/// starts or cuts, and an interrupted run continues where it stopped.
///
///     .keyframes/run.json                  video, model, settings: another one invalidates everything
///     .keyframes/done.json                 finished propagations and how far they got
///     .keyframes/<id>/key/NNNNNN.json      a keyframe's own answer (with its fingerprint)
///     .keyframes/<id>/forward/NNNNNN.json  an answer propagated forward to frame NNNNNN
///     .keyframes/<id>/backward/NNNNNN.json ... and backward
final class KeyframeStore {
    struct RunIdentity: Codable, Equatable {
        var video: String
        var model: String
        var plugin: String?
        var route: String?
        var width: Int
        var height: Int
        var tracker: TrackerSettings
        /// Whether answers keep their soft alpha (`--soft`): a binary store cannot serve a soft run.
        var soft: Bool
    }

    /// A keyframe's answer, with the fingerprint of the keyframe it answers.
    struct KeyRecord: Codable {
        var fingerprint: String
        var record: ObjectRecord
    }

    let root: URL
    private(set) var done: [String: PropagationProgress] = [:]
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    init(runFolder: URL) {
        root = runFolder.appendingPathComponent(".keyframes")
        encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
    }

    private var runFile: URL { root.appendingPathComponent("run.json") }
    private var doneFile: URL { root.appendingPathComponent("done.json") }

    func file(id: Int, kind: String, frame: Int) -> URL {
        root.appendingPathComponent(String(id)).appendingPathComponent(kind).appendingPathComponent(TrackLayout.number(frame) + ".json")
    }

    /// Opens the store for a run made with `identity`: an earlier run's finished work is kept only
    /// when it was made the same way. Creates the folders.
    func open(identity: RunIdentity, ids: [Int]) throws {
        let fm = FileManager.default
        do {
            for id in ids {
                for kind in ["key", "forward", "backward"] {
                    try fm.createDirectory(at: root.appendingPathComponent(String(id)).appendingPathComponent(kind),
                                           withIntermediateDirectories: true)
                }
            }
        } catch {
            throw OutputFolderError(path: root.path, reason: error.localizedDescription)
        }
        let earlier = (try? Data(contentsOf: runFile)).flatMap { try? decoder.decode(RunIdentity.self, from: $0) }
        if earlier == identity, let data = try? Data(contentsOf: doneFile),
           let list = try? decoder.decode([String: PropagationProgress].self, from: data) {
            done = list
        } else {
            done = [:]
            try AtomicFile.write(try encoder.encode(done), to: doneFile)
        }
        try AtomicFile.write(try encoder.encode(identity), to: runFile)
    }

    func isDone(_ p: Propagation) -> Bool { done[p.key]?.satisfies(p) ?? false }

    /// Records a finished propagation (after its frames are written).
    func finish(_ p: Propagation, through: Int, reachedEnd: Bool) throws {
        done[p.key] = PropagationProgress(through: through, reachedEnd: reachedEnd)
        try AtomicFile.write(try encoder.encode(done), to: doneFile)
    }

    /// Forgets a propagation about to be recomputed, so a stop in the middle cannot leave it marked done.
    func reopen(_ p: Propagation) throws {
        guard done.removeValue(forKey: p.key) != nil else { return }
        try AtomicFile.write(try encoder.encode(done), to: doneFile)
    }

    /// A propagated answer, and whether its propagation lost the object and found it again on the
    /// way here (a re-detection may have found a look-alike, so it yields contested pixels).
    struct PropagatedRecord: Codable {
        var recovered: Bool
        var record: ObjectRecord
    }

    func write(_ result: ObjectFrame, recovered: Bool, forward: Bool, frame: Int, width: Int, height: Int) throws {
        let record = PropagatedRecord(recovered: recovered, record: ObjectRecord(result, width: width, height: height))
        let url = file(id: result.id, kind: forward ? "forward" : "backward", frame: frame)
        try writeAlpha(result, beside: url, width: width, height: height)
        try AtomicFile.write(try encoder.encode(record), to: url)
    }

    /// `NNNNNN.alpha.png` beside a record: the answer's soft alpha (16-bit) when it has logits.
    private func alphaFile(_ record: URL) -> URL {
        record.deletingPathExtension().appendingPathExtension("alpha.png")
    }

    private func writeAlpha(_ result: ObjectFrame, beside record: URL, width: Int, height: Int) throws {
        let url = alphaFile(record)
        guard let logits = result.logits, result.state == .tracked else {
            try? FileManager.default.removeItem(at: url)
            return
        }
        let alpha = logits.map { UInt16((65535 / (1 + expf(-$0))).rounded()) }
        try ImageWriter.writePNG(Gray16Image(width: width, height: height, pixels: alpha), to: url)
    }

    /// The stored alpha back as logits, made to agree with the binary mask again (quantisation
    /// can move a value across 0.5).
    private func readLogits(beside record: URL, mask: [Bool]) -> [Float]? {
        guard let image = try? ImageReader.readGray16(alphaFile(record)), image.pixels.count == mask.count else { return nil }
        return zip(image.pixels, mask).map { v, inside in
            let a = min(max(Float(v) / 65535, 1e-6), 1 - 1e-6)
            let l = logf(a / (1 - a))
            return inside ? max(l, 1e-4) : min(l, 0)
        }
    }

    func read(id: Int, forward: Bool, frame: Int) throws -> (answer: ObjectFrame, recovered: Bool) {
        let url = file(id: id, kind: forward ? "forward" : "backward", frame: frame)
        do {
            let p = try decoder.decode(PropagatedRecord.self, from: Data(contentsOf: url))
            var answer = ObjectFrame(p.record)
            answer.logits = readLogits(beside: url, mask: answer.mask)
            return (answer, p.recovered)
        } catch {
            throw OutputFolderError(path: url.path, reason: "a propagated answer is missing or unreadable (\(error)); rerun with --update")
        }
    }

    func writeKey(_ result: ObjectFrame, fingerprint: String, frame: Int, width: Int, height: Int) throws {
        let record = KeyRecord(fingerprint: fingerprint, record: ObjectRecord(result, width: width, height: height))
        let url = file(id: result.id, kind: "key", frame: frame)
        try writeAlpha(result, beside: url, width: width, height: height)
        try AtomicFile.write(try encoder.encode(record), to: url)
    }

    /// Whether a stored answer for this version of the keyframe exists (reads only its fingerprint).
    func hasKey(id: Int, frame: Int, fingerprint: String) -> Bool {
        struct Fingerprint: Decodable { var fingerprint: String }
        guard let data = try? Data(contentsOf: file(id: id, kind: "key", frame: frame)),
              let key = try? decoder.decode(Fingerprint.self, from: data) else { return false }
        return key.fingerprint == fingerprint
    }

    /// The keyframe's stored answer when it answers this fingerprint.
    func readKey(id: Int, frame: Int, fingerprint: String) -> ObjectFrame? {
        let url = file(id: id, kind: "key", frame: frame)
        guard let data = try? Data(contentsOf: url),
              let key = try? decoder.decode(KeyRecord.self, from: data), key.fingerprint == fingerprint else { return nil }
        var answer = ObjectFrame(key.record)
        answer.logits = readLogits(beside: url, mask: answer.mask)
        return answer
    }
}
