import Foundation

/// Locates committed test fixtures (written only by Scripts/make_fixtures.py and friends).
public enum Fixtures {
    public static func url(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("fixture \(name) missing: regenerate with Scripts/make_fixtures.py")
        }
        return url
    }
}
