import Foundation

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
        guard state.objects == request.objects, state.startFrame == request.startFrame,
              URL(fileURLWithPath: state.input).standardized == request.video.standardized else {
            throw TrackError.cannotResume(path: layout.root.path, reason: "it was started with another video, objects or --start-frame")
        }
        guard state.softMatte == request.softMatte else {
            throw TrackError.cannotResume(path: layout.root.path,
                                          reason: "it was started with other soft-matte options (--soft, --fill-holes, --grow, --feather, --exr...)")
        }
        return state
    }
}
