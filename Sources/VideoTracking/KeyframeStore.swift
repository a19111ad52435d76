import Foundation
import Tracking
import VideoIO

/// `.keyframes/` in a run folder: keyframe answers and both sweeps' frames, so `--update`
/// recomputes only frames a changed keyframe reaches and an interrupted run continues.
///
///     .keyframes/run.json                              video, model, settings: another one empties the store
///     .keyframes/forward/NNNNNN.<link>.<state>.json    one frame of the forward sweep (see `SweepFiles`),
///                                                      keyframe answers on it included
///     .keyframes/backward/...                          ... and of the backward sweep
///
/// Soft runs keep each answer's alpha beside it as a 16-bit `.alpha.png` named after the same
/// link, so a stop between two writes cannot pair an answer with another's alpha.
final class KeyframeStore {
    struct RunIdentity: Codable, Equatable {
        /// The store's layout; a store of another layout is emptied.
        var format = 3
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

    let root: URL
    let encoder: JSONEncoder
    let decoder: JSONDecoder

    init(runFolder: URL) {
        root = runFolder.appendingPathComponent(".keyframes")
        encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
    }

    private var runFile: URL { root.appendingPathComponent("run.json") }
    private let parts = ["forward", "backward"]

    /// Opens the store for a run made with `identity`: an earlier run's work is kept only when it
    /// was made the same way. Creates the folders.
    func open(identity: RunIdentity) throws {
        let fm = FileManager.default
        let earlier = (try? Data(contentsOf: runFile)).flatMap { try? decoder.decode(RunIdentity.self, from: $0) }
        do {
            if earlier != identity, fm.fileExists(atPath: root.path) {
                try fm.removeItem(at: root)
            }
            for part in parts { try fm.createDirectory(at: root.appendingPathComponent(part), withIntermediateDirectories: true) }
        } catch {
            throw OutputFolderError(path: root.path, reason: error.localizedDescription)
        }
        try AtomicFile.write(try encoder.encode(identity), to: runFile)
    }

    /// One sweep's frames.
    func sweep(forward: Bool) throws -> SweepFiles {
        try SweepFiles(folder: root.appendingPathComponent(forward ? "forward" : "backward"), store: self)
    }

}

/// A soft answer's alpha as a 16-bit PNG, and back as logits.
enum StoredAlpha {
    static func file(beside record: URL) -> URL {
        record.deletingPathExtension().appendingPathExtension("alpha.png")
    }

    /// Writes the alpha when the answer has logits; nothing otherwise.
    static func write(_ result: ObjectFrame, to url: URL, width: Int, height: Int) throws {
        guard let logits = result.logits, result.state == .tracked else { return }
        let alpha = logits.map { UInt16((65535 / (1 + expf(-$0))).rounded()) }
        try ImageWriter.writePNG(Gray16Image(width: width, height: height, pixels: alpha), to: url)
    }

    /// The stored alpha back as logits, made to agree with the binary mask again (quantisation
    /// can move a value across 0.5).
    static func readLogits(_ url: URL, mask: [Bool]) -> [Float]? {
        guard let image = try? ImageReader.readGray16(url), image.pixels.count == mask.count else { return nil }
        return zip(image.pixels, mask).map { v, inside in
            let a = min(max(Float(v) / 65535, 1e-6), 1 - 1e-6)
            let l = logf(a / (1 - a))
            return inside ? max(l, 1e-4) : min(l, 0)
        }
    }
}

/// One sweep's stored frames. A frame's file holds the tracker's state after the frame and the
/// answers it gave there; its name carries the frame's link (a hash of the state before the
/// frame and the keyframes on it) and the hash of the state after. What a frame computes depends
/// on nothing else (the model is deterministic; the camera estimator sees the frame before), so a
/// stored file whose link matches is exactly what computing the frame again would write. A
/// sweep therefore reuses frames until the first changed keyframe, and again once its state
/// agrees with the stored one (past the changed object's next keyframe, typically).
final class SweepFiles {
    struct Frame: Codable {
        var state: [ObjectSnapshot]
        var answers: [Answer]
    }

    /// A propagated answer, and whether its object was lost and found again since its keyframe
    /// (a re-detection may have found a look-alike, so it yields contested pixels).
    struct Answer: Codable {
        var recovered: Bool
        /// The answer to a keyframe on this frame, not a propagated one.
        var keyframe: Bool
        var record: ObjectRecord
    }

    struct Entry: Hashable {
        var link: String
        var state: String
    }

    let folder: URL
    private let store: KeyframeStore
    /// Stored files by frame: name and entry (nil for alpha files).
    private var files: [Int: [(name: String, entry: Entry?)]] = [:]

    init(folder: URL, store: KeyframeStore) throws {
        self.folder = folder
        self.store = store
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw OutputFolderError(path: folder.path, reason: error.localizedDescription)
        }
        for name in names {
            let bits = name.split(separator: ".").map(String.init)
            guard bits.count >= 4, let frame = Int(bits[0]) else { continue }
            let entry = bits.count == 4 && bits[3] == "json" ? Entry(link: bits[1], state: bits[2]) : nil
            files[frame, default: []].append((name, entry))
        }
    }

    func entry(frame: Int, link: String) -> Entry? {
        files[frame]?.lazy.compactMap(\.entry).first { $0.link == link }
    }

    private func url(_ frame: Int, _ e: Entry) -> URL {
        folder.appendingPathComponent("\(TrackLayout.number(frame)).\(e.link).\(e.state).json")
    }

    private func alphaName(_ frame: Int, link: String, id: Int) -> String {
        "\(TrackLayout.number(frame)).\(link).\(id).alpha.png"
    }

    /// Stores a computed frame and removes whatever else was stored for it.
    func write(frame t: Int, link: String, stateHash: String, state: [ObjectSnapshot], answers: [(ObjectFrame, recovered: Bool)],
               keyAnswers: [ObjectFrame], width: Int, height: Int) throws -> Entry {
        let e = Entry(link: link, state: stateHash)
        var written = [url(t, e).lastPathComponent]
        for a in answers.map(\.0) + keyAnswers where a.logits != nil && a.state == .tracked {
            let name = alphaName(t, link: link, id: a.id)
            try StoredAlpha.write(a, to: folder.appendingPathComponent(name), width: width, height: height)
            written.append(name)
        }
        let record = { (a: ObjectFrame) in ObjectRecord(a, width: width, height: height) }
        let frame = Frame(state: state, answers: answers.map { Answer(recovered: $1, keyframe: false, record: record($0)) }
                                                 + keyAnswers.map { Answer(recovered: false, keyframe: true, record: record($0)) })
        try AtomicFile.write(try store.encoder.encode(frame), to: url(t, e))
        for old in files[t] ?? [] where !written.contains(old.name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(old.name))
        }
        files[t] = written.map { ($0, $0 == written[0] ? e : nil) }
        return e
    }

    /// The stored state after the frame.
    func state(frame t: Int, _ e: Entry) throws -> [ObjectSnapshot] {
        try read(t, e).state
    }

    /// The stored answers by object id (a keyframe's own answer for an object keyed here), soft
    /// alpha restored.
    func answers(frame t: Int, _ e: Entry) throws -> [Int: (answer: ObjectFrame, recovered: Bool)] {
        var out: [Int: (ObjectFrame, Bool)] = [:]
        for a in try read(t, e).answers {
            var answer = ObjectFrame(a.record)
            answer.logits = StoredAlpha.readLogits(folder.appendingPathComponent(alphaName(t, link: e.link, id: a.record.id)),
                                                   mask: answer.mask)
            out[a.record.id] = (answer, a.recovered)
        }
        return out
    }

    private func read(_ t: Int, _ e: Entry) throws -> Frame {
        let u = url(t, e)
        do {
            return try store.decoder.decode(Frame.self, from: Data(contentsOf: u))
        } catch {
            throw OutputFolderError(path: u.path, reason: "a stored frame is missing or unreadable (\(error)); rerun with --update")
        }
    }

    /// Removes every stored frame the finished sweep did not use.
    func prune(keeping used: [Int: Entry]) {
        for (t, list) in files {
            let link = used[t]?.link
            let isKept = { (name: String) in link != nil && name.split(separator: ".").dropFirst().first.map(String.init) == link }
            for f in list where !isKept(f.name) { try? FileManager.default.removeItem(at: folder.appendingPathComponent(f.name)) }
            files[t] = list.filter { isKept($0.name) }
        }
    }
}
