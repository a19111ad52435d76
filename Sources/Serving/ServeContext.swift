import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage, plus the connection, so a
/// refusal of an oversized body can close it instead of reading the body to the end.
struct ServeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// JSON bodies are a keyframe at most: a few hundred bytes. Anything near this is not ours.
    var maxUploadSize: Int { AccessGuard.maxBody }
}
