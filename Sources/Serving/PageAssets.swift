import Foundation
import Hummingbird

/// The page's three files, shipped as package resources; served by fixed name only.
enum PageAssets {
    static let types = ["index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                        "style.css": "text/css; charset=utf-8"]

    static func response(_ name: String) throws -> Response {
        guard let type = types[name], let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Page") else {
            throw ServeError(status: .internalServerError, message: "the page's \(name) is missing from the package resources (Serving/Page)")
        }
        return ServeResponse.bytes(try Data(contentsOf: url), type: type)
    }
}
