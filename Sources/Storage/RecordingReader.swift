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

/// Reads market-data recordings, plain or gzip-compressed (told apart by content, not name), as
/// lines: one message per line, `\n`-separated, the raw-data recorder's format.
public enum RecordingReader {
    /// The whole file, decompressed, in memory.
    public static func readAll(path: String) throws(RecordingError) -> [UInt8] {
        var data: [UInt8] = []
        try stream(path: path) { chunk in data.append(contentsOf: chunk) }
        return data
    }

    /// Calls `body` with each line (without its `\n`), reading the file in chunks so a recording
    /// larger than memory can be replayed. An empty line is skipped.
    public static func forEachLine(path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(RecordingError) {
        var lines = LineBuffer()
        try stream(path: path) { chunk in lines.append(chunk, body) }
        lines.finish(body)
    }

    /// Decompressed bytes of the file, chunk by chunk (zlib reads plain files through unchanged).
    private static func stream(path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(RecordingError) {
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
                    throw .corrupt(path: path, reason: "compressed stream ends early")
                }
                return
            }
            body(UnsafeRawBufferPointer(rebasing: chunk[0..<Int(read)]))
        }
    }
}
