import Foundation
import FuzzTargets

// libFuzzer calls `fuzzOneInput` once per input. The target comes from STABLESAM_FUZZ_TARGET
// (zip, pickle, pth, safetensors, config, rle, objects, prompts); a thrown error is a clean
// rejection, and anything else (trap, ASan report, timeout, allocation over the limit) a crash.
// SwiftPM owns `main` in an executable, so it hands over to libFuzzer's driver
// (LLVMFuzzerRunDriver, in the runtime `-sanitize=fuzzer` links) instead of linking libFuzzer's main.
nonisolated(unsafe) var target: FuzzTarget = .zip

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
enum Fuzz {
    static func main() {
        let name = ProcessInfo.processInfo.environment["STABLESAM_FUZZ_TARGET"] ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set STABLESAM_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        target = t
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
            let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
            _ = try? target.run(data)
            return 0
        })
    }
}
