import ArgumentParser
import Tensor
import VideoIO

/// The outputs and run settings `track` and `serve` share: both write the same run folder.
struct RunOutputOptions: ParsableArguments {
    @Option(help: "Number of the first frame's matte and palette file (VFX convention: 1001).")
    var startNumber = 0

    @Flag(help: "Also write matte.mov: ProRes 4444, source colour with all objects as alpha.")
    var matteVideo = false

    @OptionGroup(title: "Soft mattes") var softOptions: SoftMatteOptions

    @Option(help: "Frame rate of an image folder.")
    var fps = 24.0

    @Option(help: "Threads for BLAS and the element-wise kernels.")
    var threads: Int = Parallel.workers

    func validate() throws {
        guard startNumber >= 0 else { throw ValidationError("--start-number must be 0 or more") }
        guard fps > 0, fps.isFinite else { throw ValidationError("--fps must be positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    /// `--fps` as the reader's rate for image folders (milli-frames exact).
    var folderFrameRate: Rational { Rational(Int((fps * 1000).rounded()), 1000) }
}
