/// Text that came out of a file (a pickle global's name, a tensor key, a ZIP entry name), made
/// safe to put in a message: a hostile file must not be able to send terminal escapes to the
/// user's terminal or turn one error into a 5 MB line.
public enum UntrustedText {
    /// Quoted, with control characters, quotes, backslashes and anything outside printable ASCII
    /// escaped (`\x1b`, `\u{e9}`), and cut after `limit` characters with the full length said.
    public static func quoted(_ text: String, limit: Int = 120) -> String {
        "'" + escaped(text, limit: limit, quote: true)
    }

    /// A message part that may hold file text (a decoder's reason): escaped and cut as `quoted`,
    /// without the quotes.
    public static func sanitized(_ text: String, limit: Int = 400) -> String {
        escaped(text, limit: limit, quote: false)
    }

    private static func escaped(_ text: String, limit: Int, quote: Bool) -> String {
        var out = ""
        var shown = 0
        let close = quote ? "'" : ""
        for scalar in text.unicodeScalars {
            if shown == limit { return out + "..." + close + " (\(text.utf8.count) bytes)" }
            shown += 1
            switch scalar.value {
            case 0x27 where quote: out += "\\'"
            case 0x5C where quote: out += "\\\\"
            case 0x20 ..< 0x7F: out.unicodeScalars.append(scalar)
            case 0 ..< 0x20, 0x7F: out += "\\x" + hex(scalar.value, width: 2)
            default: out += "\\u{" + hex(scalar.value, width: 1) + "}"
            }
        }
        return out + close
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
