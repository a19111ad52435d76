import Foundation
import FuzzTargets
import Testing
import TestSupport

/// Every input the fuzzer (Scripts/fuzz) ever crashed a parser with, and the hand-made ones of
/// issue 17's root causes, kept under Fixtures/fuzz/<target>/: each must now end in a clean error
/// (or load), and an error must name the file. A crash here kills the suite, which is the point.
@Suite("Fuzz regression corpus")
struct FuzzRegressionTests {
    static let root = Fixtures.url("fuzz")

    static var cases: [(FuzzTarget, String)] {
        FuzzTarget.allCases.flatMap { target in
            let folder = root.appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { (target, $0) }
        }
    }

    @Test("the corpus is there: every target has kept inputs")
    func corpusPresent() {
        let targets = Set(Self.cases.map(\.0))
        #expect(targets == Set(FuzzTarget.allCases), "targets without inputs: \(Set(FuzzTarget.allCases).subtracting(targets))")
    }

    @Test("each kept input gets a clean error naming the file, or loads", arguments: cases)
    func replay(target: FuzzTarget, name: String) throws {
        let file = Self.root.appendingPathComponent(target.rawValue).appendingPathComponent(name)
        let data = try Data(contentsOf: file)
        do {
            try target.run(data, name: file.path)
        } catch {
            let text = String(describing: error)
            // Parsers of whole files name them; a raw pickle stream has no file to name.
            if target != .pickle && target != .rle {
                #expect(text.contains(file.path) || text.contains(name), "\(target)/\(name): \(text.prefix(300))")
            }
            #expect(text.count < 4_000, "\(target)/\(name): a \(text.count)-character message")
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(target)/\(name): control characters in the message")
        }
    }
}
