import Foundation

// One error enum per concern: the archive container, the pickle stream, the safetensors
// container, turning a checkpoint into tensors, and matching tensors to a layer. Each message
// ends with what to do next.

private func name(_ url: URL) -> String { url.path }

/// A name read from the file, escaped and cut (`UntrustedText`).
private func q(_ text: String) -> String { UntrustedText.quoted(text) }

/// The ZIP container of a `.pth` file.
public enum ZipArchiveError: Error, Equatable, Sendable {
    case unreadable(file: URL, reason: String)
    case noEndOfCentralDirectory(file: URL, size: Int)
    case truncated(file: URL, what: String, offset: Int, needed: Int, available: Int)
    case badSignature(file: URL, what: String, offset: Int, found: UInt32)
    case multiDisk(file: URL)
    case compressedEntry(file: URL, entry: String, method: UInt16)
    case encryptedEntry(file: URL, entry: String)
    case entryOutOfRange(file: URL, entry: String, start: Int, length: Int, fileSize: Int)
    case missingEntry(file: URL, entry: String)
}

extension ZipArchiveError: CustomStringConvertible, LocalizedError {
    public var description: String {
        let redownload = "the file is damaged or incomplete: download or save it again"
        switch self {
        case let .unreadable(f, reason):
            return "\(name(f)): cannot read (\(reason)); check the path and permissions"
        case let .noEndOfCentralDirectory(f, size):
            return "\(name(f)): not a complete ZIP archive (no end-of-central-directory record in \(size) bytes); \(redownload)"
        case let .truncated(f, what, offset, needed, available):
            return "\(name(f)): \(what) at byte \(offset) needs \(needed) bytes but only \(available) remain; \(redownload)"
        case let .badSignature(f, what, offset, found):
            return "\(name(f)): expected \(what) at byte \(offset), found signature 0x\(String(found, radix: 16)); \(redownload)"
        case let .multiDisk(f):
            return "\(name(f)): multi-volume ZIP archives are not supported; join the parts into one file"
        case let .compressedEntry(f, entry, method):
            return "\(name(f)): entry \(q(entry)) is compressed (method \(method)); torch.save writes stored entries, so re-save the checkpoint with torch.save instead of re-zipping it"
        case let .encryptedEntry(f, entry):
            return "\(name(f)): entry \(q(entry)) is encrypted; re-save the checkpoint with torch.save"
        case let .entryOutOfRange(f, entry, start, length, size):
            // Both numbers come from the file: no arithmetic on them here (start + length overflowed).
            return "\(name(f)): entry \(q(entry)) starts at byte \(start) and is \(length) bytes long, but the file has \(size); \(redownload)"
        case let .missingEntry(f, entry):
            return "\(name(f)): no entry \(q(entry)) in the archive; is this a PyTorch checkpoint?"
        }
    }

    public var errorDescription: String? { description }
}

/// The pickle stream inside a `.pth` file.
public enum UnpicklingError: Error, Equatable, Sendable {
    /// A global outside the allow-list: the file asks to import (and usually call) arbitrary code.
    case forbiddenGlobal(module: String, name: String, offset: Int)
    case unknownOpcode(UInt8, offset: Int)
    case unsupportedProtocol(Int, offset: Int)
    case truncated(offset: Int)
    case stackUnderflow(opcode: String, offset: Int)
    case missingMark(opcode: String, offset: Int)
    case missingMemo(index: Int, offset: Int)
    case malformed(opcode: String, offset: Int, reason: String)
    case noStop
}

extension UnpicklingError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .forbiddenGlobal(module, name, offset):
            return "refusing global \(q(module + "." + name)) (pickle byte \(offset)): a checkpoint must never be able to run code, and only tensor and storage rebuilders are allowed. Do not load this file with torch.load either; if you trust its origin, re-save just the state dict with torch.save(model.state_dict(), path)"
        case let .unknownOpcode(op, offset):
            return "unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(offset); a state dict saved with torch.save(model.state_dict(), path) uses only supported opcodes"
        case let .unsupportedProtocol(p, offset):
            return "pickle protocol \(p) at byte \(offset) is not supported (2-5 are); re-save with torch.save"
        case let .truncated(offset):
            return "pickle stream ends early at byte \(offset); the checkpoint is damaged: save or download it again"
        case let .stackUnderflow(op, offset):
            return "pickle opcode \(op) at byte \(offset) found too few values on the stack; the checkpoint is damaged"
        case let .missingMark(op, offset):
            return "pickle opcode \(op) at byte \(offset) has no matching MARK; the checkpoint is damaged"
        case let .missingMemo(index, offset):
            return "pickle byte \(offset) refers to memo slot \(index), which was never stored; the checkpoint is damaged"
        case let .malformed(op, offset, reason):
            return "pickle opcode \(op) at byte \(offset): \(UntrustedText.sanitized(reason)); re-save the plain state dict with torch.save(model.state_dict(), path)"
        case .noStop:
            return "pickle stream has no STOP opcode; the checkpoint is damaged: save or download it again"
        }
    }

    public var errorDescription: String? { description }
}

/// The safetensors container.
public enum SafetensorsError: Error, Equatable, Sendable {
    case unreadable(file: URL, reason: String)
    case badHeaderLength(file: URL, length: UInt64, fileSize: Int)
    case badHeaderJSON(file: URL, reason: String)
    case unsupportedDType(file: URL, tensor: String, dtype: String)
    case offsetsOutOfRange(file: URL, tensor: String, start: Int, end: Int, dataSize: Int)
    case overlappingOffsets(file: URL, tensor: String, other: String)
    case gapInData(file: URL, at: Int)
    case sizeMismatch(file: URL, tensor: String, shape: [Int], dtype: String, bytes: Int)
    case missingTensor(file: URL, tensor: String)
    case wrongElementType(file: URL, tensor: String, expected: ElementType, found: ElementType)
    case writeFailed(file: URL, reason: String)
}

extension SafetensorsError: CustomStringConvertible, LocalizedError {
    public var description: String {
        let damaged = "the file is damaged or was not written by a safetensors writer: write it again"
        switch self {
        case let .unreadable(f, reason):
            return "\(name(f)): cannot read (\(reason)); check the path and permissions"
        case let .badHeaderLength(f, length, size):
            return "\(name(f)): header length \(length) does not fit in a \(size)-byte file; \(damaged)"
        case let .badHeaderJSON(f, reason):
            return "\(name(f)): header is not valid safetensors JSON (\(UntrustedText.sanitized(reason))); \(damaged)"
        case let .unsupportedDType(f, t, d):
            return "\(name(f)): tensor \(q(t)) has dtype \(q(d)); supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL. Convert it before saving"
        case let .offsetsOutOfRange(f, t, s, e, n):
            return "\(name(f)): tensor \(q(t)) data_offsets [\(s), \(e)] fall outside the \(n)-byte data section; \(damaged)"
        case let .overlappingOffsets(f, t, o):
            return "\(name(f)): tensors \(q(t)) and \(q(o)) overlap in the data section; \(damaged)"
        case let .gapInData(f, at):
            return "\(name(f)): data section has bytes at offset \(at) that belong to no tensor; \(damaged)"
        case let .sizeMismatch(f, t, shape, d, bytes):
            return "\(name(f)): tensor \(q(t)) has shape \(shape) of \(d) but \(bytes) data bytes; \(damaged)"
        case let .missingTensor(f, t):
            return "\(name(f)): no tensor named \(q(t)); the file holds other names (list them with `.names`)"
        case let .wrongElementType(f, t, expected, found):
            return "\(name(f)): tensor \(q(t)) is \(found.rawValue), not \(expected.rawValue); read it with tensor(named:) to get Float values"
        case let .writeFailed(f, reason):
            return "\(name(f)): cannot write (\(reason)); check free space and that the folder is writable"
        }
    }

    public var errorDescription: String? { description }
}

/// Turning a checkpoint file into a `StateDict`.
public enum CheckpointError: Error, Equatable, Sendable {
    case unreadable(file: URL, reason: String)
    case legacyTorchFormat(file: URL)
    case unknownFormat(file: URL, firstBytes: [UInt8])
    case bigEndian(file: URL)
    case pickle(file: URL, entry: String, UnpicklingError)
    case notAStateDict(file: URL, found: String)
    case notATensor(file: URL, key: String, found: String)
    case badTensor(file: URL, key: String, reason: String)
    case storageTooSmall(file: URL, key: String, storage: String, neededBytes: Int, bytes: Int)
}

extension CheckpointError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unreadable(f, reason):
            return "\(name(f)): cannot read (\(reason)); check the path and permissions"
        case let .legacyTorchFormat(f):
            return "\(name(f)): legacy (pre-1.6) PyTorch format, which is not supported; re-save it with torch>=1.6: torch.save(torch.load(path, weights_only=True), new_path)"
        case let .unknownFormat(f, bytes):
            let hex = bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
            return "\(name(f)): neither a PyTorch .pth (zip) nor a safetensors file (starts with \(hex)); pass a checkpoint saved by torch.save or safetensors"
        case let .bigEndian(f):
            return "\(name(f)): saved on a big-endian machine; re-save it on a little-endian one"
        case let .pickle(f, entry, e):
            return "\(name(f)) (\(entry)): \(e.description)"
        case let .notAStateDict(f, found):
            return "\(name(f)): top-level object is \(UntrustedText.sanitized(found)), not a state dict (or a dict holding one under 'model' or 'state_dict'); save model.state_dict()"
        case let .notATensor(f, key, found):
            return "\(name(f)): key \(q(key)) holds \(found), not a tensor; save only model.state_dict()"
        case let .badTensor(f, key, reason):
            return "\(name(f)): tensor \(q(key)): \(UntrustedText.sanitized(reason)); the checkpoint is damaged: save it again"
        case let .storageTooSmall(f, key, storage, needed, bytes):
            return "\(name(f)): tensor \(q(key)) needs \(needed) bytes of storage \(q(storage)) but it has \(bytes); the checkpoint is damaged: save or download it again"
        }
    }

    public var errorDescription: String? { description }
}

/// Matching a `StateDict` to a layer's parameters (strict loading).
public enum StateDictError: Error, Equatable, Sendable {
    case missingKey(key: String, expectedShape: [Int])
    case shapeMismatch(key: String, expectedShape: [Int], checkpointShape: [Int])
    case unexpectedKey(key: String, checkpointShape: [Int])
    /// More than one of the above; all are reported so one run shows every problem.
    case several([StateDictError])
}

extension StateDictError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .missingKey(key, shape):
            return "missing key \(q(key)): the model expects shape \(shape) but the checkpoint has no such tensor; check that the checkpoint matches the model type"
        case let .shapeMismatch(key, expected, found):
            return "key \(q(key)): the model expects shape \(expected) but the checkpoint has \(found); check the model size (e.g. vit_b vs vit_h) matches the checkpoint"
        case let .unexpectedKey(key, shape):
            return "unexpected key \(q(key)) (shape \(shape)): no layer reads it; check the model type, or ignore the key explicitly if it is known to be unused"
        case let .several(errors):
            let shown = errors.prefix(20).map { "  - " + $0.description }
            let more = errors.count > 20 ? ["  ... and \(errors.count - 20) more"] : []
            return "\(errors.count) mismatches between model and checkpoint:\n" + (shown + more).joined(separator: "\n")
        }
    }

    public var errorDescription: String? { description }
}
