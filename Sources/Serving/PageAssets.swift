import Foundation
import Hummingbird

/// The page's three files, shipped as package resources; served by fixed name only. The page
/// names its script and style sheet with the token (`__TOKEN__`, filled in here), since a
/// browser loads them without the page's header.
enum PageAssets {
    static let types = ["index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                        "style.css": "text/css; charset=utf-8"]

    static func response(_ name: String, token: String) throws -> Response {
        guard let type = types[name], let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Page") else {
            throw ServeError(status: .internalServerError, message: "the page's \(name) is missing from the package resources (Serving/Page)")
        }
        var data = try Data(contentsOf: url)
        if name == "index.html" { data = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "__TOKEN__", with: token).utf8) }
        return ServeResponse.bytes(data, type: type)
    }
}
