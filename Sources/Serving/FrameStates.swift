import Foundation
import VideoTracking

/// Each frame's state per object (tracked / occluded / lost), for the scrubber's colours: read
/// from the run folder's frames/NNNNNN.json, overridden by a running propagation's answers.
struct FrameStates: Sendable {
    /// frame -> id -> state
    var byFrame: [Int: [Int: String]] = [:]

    /// Reads every frames/NNNNNN.json of the run folder (a frame without a file has no state).
    static func read(layout: TrackLayout, frameCount: Int) -> FrameStates {
        var states = FrameStates()
        for t in 0..<frameCount {
            guard let data = try? Data(contentsOf: layout.frameFile(t)),
                  let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let objects = root["objects"] as? [[String: Any]] else { continue }
            var row: [Int: String] = [:]
            for o in objects {
                if let id = o["id"] as? Int, let state = o["state"] as? String { row[id] = state }
            }
            states.byFrame[t] = row
        }
        return states
    }

    /// `[{"1": "tracked", ...}, ...]`, one entry per frame.
    func json(frameCount: Int) -> [[String: String]] {
        (0..<frameCount).map { t in
            Dictionary(uniqueKeysWithValues: (byFrame[t] ?? [:]).map { (String($0.key), $0.value) })
        }
    }
}
