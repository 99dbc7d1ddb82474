#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a buffer on `\n` with `memchr`.
public enum LineSplitter {
    /// Calls `body` for every complete, non-empty line and returns how many bytes it consumed
    /// (the start of an unterminated last line, or `bytes.count`).
    @discardableResult
    public static func forEachLine(in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var start = 0
        let count = bytes.count
        while start < count {
            guard let hit = memchr(base + start, 0x0A, count - start) else { break }
            let end = base.distance(to: UnsafeRawPointer(hit))
            if end > start { body(UnsafeRawBufferPointer(start: base + start, count: end - start)) }
            start = end + 1
        }
        return start
    }

    /// Every line including an unterminated last one.
    public static func forEachLineIncludingLast(in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        let consumed = forEachLine(in: bytes, body)
        if consumed < bytes.count { body(UnsafeRawBufferPointer(rebasing: bytes[consumed...])) }
    }
}

/// Lines from a stream read in chunks (a pipe, stdout of a child): complete lines go to `body` as they
/// arrive, a line cut by a chunk boundary is kept until its end comes. Empty lines are skipped.
public struct LineBuffer: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func append(_ chunk: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !pending.isEmpty else {
            let consumed = LineSplitter.forEachLine(in: chunk, body)
            if consumed < chunk.count { pending.append(contentsOf: chunk[consumed...]) }
            return
        }
        // Complete the line the previous chunk left open.
        guard let base = chunk.baseAddress, let hit = memchr(base, 0x0A, chunk.count) else {
            pending.append(contentsOf: chunk)
            return
        }
        let newline = base.distance(to: UnsafeRawPointer(hit))
        pending.append(contentsOf: chunk[..<newline])
        pending.withUnsafeBytes { if !$0.isEmpty { body($0) } }
        pending.removeAll(keepingCapacity: true)
        append(UnsafeRawBufferPointer(rebasing: chunk[(newline + 1)...]), body)
    }

    /// The end of the stream: an unterminated last line, if any.
    public mutating func finish(_ body: (UnsafeRawBufferPointer) -> Void) {
        pending.withUnsafeBytes { if !$0.isEmpty { body($0) } }
        pending.removeAll()
    }
}
