#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import Market

/// Why a recording could not be read. Says which file and what to do.
public enum RecordingError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .corrupt(let path, let reason): return "cannot read \(path): \(reason) (is it a complete .gz or text file?)"
        }
    }
}

/// How a recording ended: whole, or cut inside its last gzip member (a recorder killed mid-write).
public enum RecordingEnd: Sendable, Equatable {
    case complete
    /// Everything before the cut was read; the unfinished last line was dropped.
    case truncated(reason: String)
}

/// Reads market-data recordings, plain or gzip-compressed (told apart by content, not name; a gzip
/// file may hold many members, as `keel record` writes them), as lines: one message per line,
/// `\n`-separated, the raw-data recorder's format.
public enum RecordingReader {
    /// The whole file, decompressed, in memory.
    public static func readAll(path: String) throws(RecordingError) -> [UInt8] {
        var data: [UInt8] = []
        _ = try stream(path: path, strict: true) { chunk in data.append(contentsOf: chunk) }
        return data
    }

    /// Calls `body` with each line (without its `\n`), reading the file in chunks so a recording
    /// larger than memory can be replayed. An empty line is skipped. A file cut inside its last gzip
    /// member (a recorder killed between flushes) gives every line before the cut and says so; corrupt
    /// data elsewhere is an error.
    /// `progress` hears (bytes of the file read, its size) after each chunk.
    @discardableResult
    public static func forEachLine(path: String, progress: ((Int64, Int64) -> Void)? = nil,
                                   _ body: (UnsafeRawBufferPointer) -> Void) throws(RecordingError) -> RecordingEnd {
        var lines = LineBuffer()
        let end = try stream(path: path, progress: progress) { chunk in lines.append(chunk, body) }
        if end == .complete { lines.finish(body) }
        return end
    }

    /// Decompressed bytes of the file, chunk by chunk (zlib reads plain files through unchanged).
    private static func stream(path: String, strict: Bool = false, progress: ((Int64, Int64) -> Void)? = nil,
                               _ body: (UnsafeRawBufferPointer) -> Void) throws(RecordingError) -> RecordingEnd {
        // Open with open(2) first for a clear errno message; zlib's own errors are vaguer.
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .cannotOpen(path: path, reason: "is a directory")
        }
        guard let file = gzdopen(fd, "rb") else {
            close(fd)
            throw .cannotOpen(path: path, reason: "zlib could not open it")
        }
        defer { gzclose(file) }
        let chunkSize = 1 << 20
        gzbuffer(file, UInt32(chunkSize))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let read = gzread(file, chunk.baseAddress, UInt32(chunkSize))
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
                throw .corrupt(path: path, reason: message)
            }
            if read == 0 {
                var code: Int32 = 0
                _ = gzerror(file, &code)
                // A truncated gzip stream ends with Z_BUF_ERROR instead of a clean end.
                if code != Z_OK && code != Z_STREAM_END {
                    if strict || code != Z_BUF_ERROR { throw .corrupt(path: path, reason: "compressed stream ends early") }
                    return .truncated(reason: "the last gzip member is cut (unexpected end of file)")
                }
                return .complete
            }
            body(UnsafeRawBufferPointer(rebasing: chunk[0..<Int(read)]))
            progress?(Int64(gzoffset(file)), Int64(info.st_size))
        }
    }
}
