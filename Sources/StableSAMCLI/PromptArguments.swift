import ArgumentParser
import Foundation
import Imaging
import SegmentAnything

/// `--box x0,y0,x1,y1` in pixels.
struct BoxArgument: ExpressibleByArgument {
    var box: Box

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let a = parts[0], let b = parts[1], let c = parts[2], let d = parts[3] else { return nil }
        box = Box(x0: a, y0: b, x1: c, y1: d)
    }

    static var defaultValueDescription: String { "x0,y0,x1,y1" }
}

/// `--point x,y[,label]`: label 1 (foreground, default) or 0 (background).
struct PointArgument: ExpressibleByArgument {
    var point: Prompt.Point

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 || parts.count == 3, let x = Double(parts[0]), let y = Double(parts[1]) else { return nil }
        var positive = true
        if parts.count == 3 {
            guard parts[2] == "0" || parts[2] == "1" else { return nil }
            positive = parts[2] == "1"
        }
        point = Prompt.Point(x: x, y: y, positive: positive)
    }
}

