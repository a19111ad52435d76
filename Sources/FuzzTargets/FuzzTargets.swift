import Foundation
import Metrics
import NN
import SegmentAnything
import Tensor
import VideoTracking

/// The tool's parsers of untrusted files, one entry each, as the fuzzer drives them
/// (`Scripts/fuzz/`) and as the suite replays every input the fuzzer ever crashed
/// (`Tests/TestSupport/Fixtures/fuzz/<target>/`). An entry either returns or throws a clean
/// error; a trap, an overflow, a stack overflow or an allocation past what the input can back
/// is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `ZipArchive`: the central directory and every entry's bytes.
    case zip
    /// `RestrictedUnpickler` on a raw pickle stream.
    case pickle
    /// A whole `.pth`: archive, pickle, tensor views, then the SAM architecture it implies.
    case pth
    /// A whole safetensors file, then the SAM architecture it implies.
    case safetensors
    /// Config inference and the layout check on a shape table `{"key": [dims], ...}`, with
    /// optional `"__metadata__"`; nothing is allocated beyond the shapes.
    case config
    /// COCO RLE JSON (`{"size": [h, w], "counts": ...}`), decoded.
    case rle
    /// `track --objects` JSON.
    case objects
    /// `track --prompts` JSON (masks are named, not read).
    case prompts

    /// Runs the parser on `data`; `name` stands for the file in errors.
    public func run(_ data: Data, name: String = "fuzz-input") throws {
        let url = URL(fileURLWithPath: name)
        switch self {
        case .zip:
            let archive = try ZipArchive(data: data, url: url)
            for entry in archive.entries { _ = try archive.withBytes(of: entry) { $0.count } }
        case .pickle:
            _ = try RestrictedUnpickler(Array(data)).load()
        case .pth:
            let dict = try TorchCheckpoint.read(ZipArchive(data: data, url: url))
            _ = try SamLoader.naming(url) { try SamLoader.checkedConfig(for: dict) }
        case .safetensors:
            let dict = try SafetensorsFile(data: data, url: url).stateDict()
            _ = try SamLoader.naming(url) { try SamLoader.checkedConfig(for: dict) }
        case .config:
            let dict = try Self.shapeTable(data, name: name)
            _ = try SamLoader.naming(url) { try SamLoader.checkedConfig(for: dict) }
        case .rle:
            _ = try JSONDecoder().decode(RLE.self, from: data).decode()
        case .objects:
            _ = try ObjectList.parse(data, path: name)
        case .prompts:
            _ = try KeyframePlan.parse(data, path: name)
        }
    }

    /// `{"key": [dims], "__metadata__": {"img_size": "1024"}}` as a state dict of storage-less
    /// tensors (`Tensor.shapesOnly`): the shapes are all inference reads.
    static func shapeTable(_ data: Data, name: String) throws -> StateDict {
        struct Table: Decodable {
            var shapes: [String: [Int]] = [:]
            var metadata: [String: String] = [:]
            struct Key: CodingKey {
                let stringValue: String
                init(stringValue: String) { self.stringValue = stringValue }
                var intValue: Int? { nil }
                init?(intValue: Int) { nil }
            }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                for key in c.allKeys {
                    if key.stringValue == "__metadata__" {
                        metadata = try c.decode([String: String].self, forKey: key)
                    } else {
                        shapes[key.stringValue] = try c.decode([Int].self, forKey: key)
                    }
                }
            }
        }
        let table = try JSONDecoder().decode(Table.self, from: data)
        let tensors = Tensor.$shapesOnly.withValue(true) { table.shapes.mapValues { Tensor(zeros: $0) } }
        return StateDict(tensors: tensors, metadata: table.metadata)
    }
}
