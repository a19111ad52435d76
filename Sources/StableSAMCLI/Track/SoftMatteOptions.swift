import ArgumentParser
import VideoIO
import VideoTracking

extension EXRCompression: ExpressibleByArgument {}

/// `track`'s soft-matte flags: `--soft` and the roto options that need it.
struct SoftMatteOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Also write soft mattes: alpha = sigmoid of the model's frame-size logits, as masks_soft/<id>/NNNNNN.png (16-bit gray, straight alpha).",
        discussion: "The binary masks/ stay as without --soft. The options below apply in roto order: --fill-holes, then --grow, then --feather. With --matte-video, matte.mov's alpha is the soft mattes' union (ProRes keeps 10 bits)."))
    var soft = false

    @Flag(help: "With --soft: alpha 1 in the mask's enclosed holes (first step).")
    var fillHoles = false

    @Option(help: ArgumentHelp("With --fill-holes: fill only holes of at most this many pixels.", valueName: "pixels"))
    var maxHoleArea: Int?

    @Option(help: ArgumentHelp("With --soft: grow the matte by this many pixels with a disc (second step); negative shrinks (--grow=-2).",
                               valueName: "px"))
    var grow = 0

    @Option(help: ArgumentHelp("With --soft: feather (blur) the matte's edge over about this many pixels: Gaussian, sigma = px / 3 (last step).",
                               valueName: "px"))
    var feather = 0.0

    @Flag(help: "With --soft: also write exr/<name>.<number>.exr per frame (number = --start-number + frame, 4+ digits): half float, one layer per object, <name>.A (the object's name, else obj<id>).")
    var exr = false

    @Option(help: ArgumentHelp("With --exr: compression, zip (default), piz, dwaa, dwab or none; alpha stays lossless with all of them, dwaa and dwab are lossy on R, G, B only.",
                               valueName: "zip|piz|dwaa|dwab|none"))
    var exrCompression: EXRCompression?

    @Flag(name: [.customLong("exr-colour"), .customLong("exr-color")],
          help: "With --exr: also write the frame as R, G, B (sRGB decoded to linear) premultiplied by A, the union of the mattes.")
    var exrColour = false

    @Option(help: ArgumentHelp("With --exr: the files' name before the frame number (default matte: matte.1001.exr).", valueName: "name"))
    var exrName: String?

    func validate() throws {
        let needsSoft = [("--fill-holes", fillHoles), ("--max-hole-area", maxHoleArea != nil), ("--grow", grow != 0),
                         ("--feather", feather != 0), ("--exr", exr)]
        if !soft, let flag = needsSoft.first(where: \.1)?.0 {
            throw ValidationError("\(flag) shapes the soft mattes: give --soft too")
        }
        let needsEXR = [("--exr-compression", exrCompression != nil), ("--exr-colour", exrColour), ("--exr-name", exrName != nil)]
        if !exr, let flag = needsEXR.first(where: \.1)?.0 {
            throw ValidationError("\(flag) is an option of the EXR files: give --exr too")
        }
        do { try request?.check() } catch { throw ValidationError(error.description) }
    }

    /// The request's soft-matte part; nil without --soft.
    var request: SoftMatteRequest? {
        guard soft else { return nil }
        let files = exr ? EXRRequest(compression: exrCompression ?? .zip, colour: exrColour, name: exrName ?? "matte") : nil
        return SoftMatteRequest(fillHoles: fillHoles, maxHoleArea: maxHoleArea, grow: grow, feather: feather, exr: files)
    }
}
