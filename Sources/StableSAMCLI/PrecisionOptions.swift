import ArgumentParser
import Tensor

extension Precision: ExpressibleByArgument {}

/// `--precision fp32|bf16` for the commands that run the model.
struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Arithmetic of the large products (linear layers, attention, convolutions): fp32 (default; the path the parity tests pin) or bf16 (operands rounded to bf16, fp32 accumulation, about twice the product rate; needs AVX512_BF16).",
        valueName: "fp32|bf16"))
    var precision: Precision = .fp32

    func validate() throws {
        do { try BLAS.check(precision) } catch { throw ValidationError("\(error)") }
    }

    /// Runs `body` with the products in this precision.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        try BLAS.$precision.withValue(precision, operation: body)
    }
}
