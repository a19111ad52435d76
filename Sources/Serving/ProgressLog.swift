import Foundation

/// What the page hears on /api/progress: numbered events (server-sent events' `id:`), the last
/// few hundred kept, so a page that reconnects catches up from where it was.
final class ProgressLog: Sendable {
    struct Event: Sendable {
        var seq: Int
        var name: String
        /// JSON text of the event's data.
        var data: String
    }

    private let events = Locked<(next: Int, list: [Event])>((1, []))
    private static let kept = 500

    func publish(_ name: String, _ fields: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        events.update { e in
            e.list.append(Event(seq: e.next, name: name, data: data))
            e.next += 1
            if e.list.count > Self.kept { e.list.removeFirst(e.list.count - Self.kept) }
        }
    }

    /// Events after `seq`.
    func after(_ seq: Int) -> [Event] { events.read { e in e.list.filter { $0.seq > seq } } }

    var lastSeq: Int { events.read { $0.next - 1 } }

    /// The number of the newest event called `name` still kept.
    func last(_ name: String) -> Int? { events.read { e in e.list.last { $0.name == name }?.seq } }
}
