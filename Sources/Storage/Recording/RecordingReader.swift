#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import Foundation
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

    /// Decompressed bytes of the file, chunk by chunk (zlib reads plain files through unchanged). The
    /// inflating runs on a thread of its own, a few chunks ahead, so that gunzip and `body` share the
    /// machine's cores rather than take turns.
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
        let inflater = Inflater(file: file, path: path, strict: strict)
        let thread = Thread { inflater.run() }
        thread.name = "keel-gunzip"
        thread.start()
        defer { inflater.finish() }
        while let chunk = inflater.next() {
            body(UnsafeRawBufferPointer(rebasing: chunk.bytes))
            progress?(chunk.offset, Int64(info.st_size))
            inflater.release()
        }
        return try inflater.end()
    }
}

/// The gunzip thread of `RecordingReader.stream`: inflates into a ring of chunks, each handed to the
/// reader in order and given back once read. The reader waits only when the ring is empty, the thread
/// only when it is full.
private final class Inflater: @unchecked Sendable {
    static let chunkSize = 1 << 20
    static let ring = 4

    private let file: gzFile
    private let path: String
    private let strict: Bool
    private let buffers: [UnsafeMutableRawBufferPointer]
    /// Chunk `n` lives in `buffers[n % ring]`: its length and the file offset after it.
    private var lengths: [Int]
    private var offsets: [Int64]
    private let condition = NSCondition()
    private var produced = 0
    private var consumed = 0
    private var outcome: Result<RecordingEnd, RecordingError>?
    private var stopped = false
    private var finished = false

    init(file: gzFile, path: String, strict: Bool) {
        self.file = file
        self.path = path
        self.strict = strict
        buffers = (0..<Inflater.ring).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: Inflater.chunkSize, alignment: 16) }
        lengths = Array(repeating: 0, count: Inflater.ring)
        offsets = Array(repeating: 0, count: Inflater.ring)
        gzbuffer(file, UInt32(Inflater.chunkSize))
    }

    /// The thread: chunks until the end, an error, or the reader leaving.
    func run() {
        var ending: Result<RecordingEnd, RecordingError>
        while true {
            condition.lock()
            while produced - consumed == Inflater.ring, !stopped { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop {
                ending = .success(.complete)
                break
            }
            let slot = produced % Inflater.ring
            let read = gzread(file, buffers[slot].baseAddress, UInt32(Inflater.chunkSize))
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
                ending = .failure(.corrupt(path: path, reason: message))
                break
            }
            if read == 0 {
                var code: Int32 = 0
                _ = gzerror(file, &code)
                // A truncated gzip stream ends with Z_BUF_ERROR instead of a clean end.
                if code != Z_OK && code != Z_STREAM_END {
                    ending = strict || code != Z_BUF_ERROR
                        ? .failure(.corrupt(path: path, reason: "compressed stream ends early"))
                        : .success(.truncated(reason: "the last gzip member is cut (unexpected end of file)"))
                } else {
                    ending = .success(.complete)
                }
                break
            }
            let offset = Int64(gzoffset(file))
            condition.lock()
            lengths[slot] = Int(read)
            offsets[slot] = offset
            produced += 1
            condition.signal()
            condition.unlock()
        }
        gzclose(file)
        condition.lock()
        outcome = ending
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk in order, waiting for it; nil once the thread is done and every chunk was read.
    func next() -> (bytes: Slice<UnsafeMutableRawBufferPointer>, offset: Int64)? {
        condition.lock()
        defer { condition.unlock() }
        while produced == consumed, !finished { condition.wait() }
        guard produced > consumed else { return nil }
        let slot = consumed % Inflater.ring
        return (buffers[slot][0..<lengths[slot]], offsets[slot])
    }

    /// The chunk `next()` gave is read: its buffer goes back to the thread.
    func release() {
        condition.lock()
        consumed += 1
        condition.signal()
        condition.unlock()
    }

    /// How the file ended (after `next()` returned nil).
    func end() throws(RecordingError) -> RecordingEnd {
        condition.lock()
        defer { condition.unlock() }
        switch outcome! {
        case .success(let end): return end
        case .failure(let error): throw error
        }
    }

    /// The reader is leaving (done, or thrown out): the thread stops, and its buffers are freed once it has.
    func finish() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        for buffer in buffers { buffer.deallocate() }
    }
}
