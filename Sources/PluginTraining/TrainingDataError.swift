// Everything bad training data can be, each case naming the file and saying what to do.
import Foundation

public enum TrainingDataError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case missingData(path: String)
    case unknownLayout(path: String)
    case missingFolder(path: String, layout: String)
    case noImages(folder: String)
    case imageWithoutMask(image: String, expected: String)
    case frameWithoutImage(annotation: String, expected: String)
    case emptyMask(file: String)
    case noObjects(path: String)
    case sizeMismatch(image: String, width: Int, height: Int, mask: String, maskWidth: Int, maskHeight: Int)
    case unreadable(file: String, reason: String)
    case badCOCO(file: String, reason: String)
    case cocoImageMissing(json: String, fileName: String, searched: [String])
    case emptyAnnotation(json: String, annotation: Int, image: String)

    public var description: String {
        switch self {
        case .missingData(let p):
            return "\(p): no such file or folder; give --data a folder with images/ + masks/, a DAVIS folder (JPEGImages/ + Annotations/) or a COCO instances JSON"
        case .unknownLayout(let p):
            return "\(p) is not a training data layout: expected images/ + masks/ (image + instance-id PNG per stem), "
                + "JPEGImages/ + Annotations/ (DAVIS clips) or a COCO instances .json file"
        case let .missingFolder(p, layout):
            return "\(p) is missing: the \(layout) layout needs it"
        case .noImages(let f): return "\(f) holds no images (.png, .jpg, .jpeg)"
        case let .imageWithoutMask(image, expected):
            return "\(image) has no mask: expected \(expected) (an instance-id PNG, 0 = background); add it or remove the image"
        case let .frameWithoutImage(annotation, expected):
            return "\(annotation) has no frame: expected \(expected); add the frame or remove the annotation"
        case .emptyMask(let f):
            return "\(f) has no object (every pixel is 0): draw the object's mask or remove the image and its mask"
        case .noObjects(let p): return "no objects found under \(p): every mask is empty"
        case let .sizeMismatch(image, w, h, mask, mw, mh):
            return "\(mask) is \(mw)x\(mh) but its image \(image) is \(w)x\(h): a mask must have its image's size"
        case let .unreadable(file, reason): return "cannot read \(file): \(reason)"
        case let .badCOCO(file, reason): return "\(file) is not a COCO instances file: \(reason)"
        case let .cocoImageMissing(json, name, searched):
            return "\(json) names image \(name), found in none of \(searched.joined(separator: ", ")); give --images DIR (the folder holding the COCO images)"
        case let .emptyAnnotation(json, id, image):
            return "\(json): annotation \(id) of \(image) covers no pixel; fix or remove it"
        }
    }

    public var errorDescription: String? { description }
}
