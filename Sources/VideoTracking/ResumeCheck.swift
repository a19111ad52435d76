import Foundation
import VideoIO

extension ResumeState {
    /// Without `resume` an earlier run is never overwritten; with it, the earlier run must be of
    /// the same input and objects. Nil: nothing to continue from (a fresh run).
    static func check(_ request: TrackRequest, layout: TrackLayout) throws -> ResumeState? {
        let fm = FileManager.default
        guard request.resume else {
            if fm.fileExists(atPath: layout.summary.path) || fm.fileExists(atPath: layout.resumeState.path) {
                throw TrackError.previousRun(path: layout.root.path)
            }
            return nil
        }
        guard !request.backward else {
            throw TrackError.cannotResume(path: layout.root.path, reason: "--resume supports forward runs only")
        }
        // A killed run (kill -9, power cut) leaves the temporary files of the writes it was in.
        AtomicFile.removeLeftovers(in: layout.root)
        guard fm.fileExists(atPath: layout.resumeState.path) else {
            // Nothing was completed: start afresh.
            return nil
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let state: ResumeState
        do { state = try decoder.decode(ResumeState.self, from: Data(contentsOf: layout.resumeState)) } catch {
            throw TrackError.cannotResume(path: layout.root.path, reason: "unreadable .resume.json (\(error))")
        }
        // Paths compared absolute: the run may have been started as `track clip.mp4` from the
        // video's folder, and the state records the absolute path.
        guard state.objects == request.objects, state.startFrame == request.startFrame,
              URL(fileURLWithPath: state.input).absoluteURL.standardizedFileURL.path
                == request.video.absoluteURL.standardizedFileURL.path else {
            throw TrackError.cannotResume(path: layout.root.path, reason: "it was started with another video, objects or --start-frame")
        }
        guard state.softMatte == request.softMatte else {
            throw TrackError.cannotResume(path: layout.root.path,
                                          reason: "it was started with other soft-matte options (--soft, --fill-holes, --grow, --feather, --exr...)")
        }
        return state
    }
}
