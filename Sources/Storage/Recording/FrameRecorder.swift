#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import Logging
import Market
import Foundation

/// Where and how `keel record` (and a connector with `recording.enabled`) writes raw frames.
public struct RecorderConfiguration: Sendable, Equatable {
    public var directory: String
    /// Every this often each open file's gzip member is finished, so a `kill -9` loses at most this
    /// much and leaves a file every gzip reader opens (`recording.flush_interval`, default 5 s).
    public var flushInterval: Int64 = 5_000_000_000
    /// Recording stops (with a log line) once the files it wrote reach this many bytes; 0: no limit
    /// (`recording.max_bytes`, default 10 GiB).
    public var maxBytes: Int64 = 10 << 30
    /// Recording stops once the disk has less free space than this (`recording.min_free_bytes`,
    /// default 1 GiB).
    public var minFreeBytes: Int64 = 1 << 30

    public init(directory: String) {
        self.directory = directory
    }
}

/// What a recorder has done so far.
public struct RecorderStats: Sendable, Equatable {
    /// Frames written.
    public var frames = 0
    /// Frames not written because recording had stopped.
    public var dropped = 0
    /// Frames that name no symbol (subscription answers, pongs): not market data, not filed.
    public var unfiled = 0
    /// Uncompressed bytes written (lines with their time stamps and newlines).
    public var rawBytes: Int64 = 0
    /// Bytes the recorder's files grew on disk (compressed), as of the last flush.
    public var bytesOnDisk: Int64 = 0
    /// Files opened (one per symbol per UTC day, and again after a restart of the same day).
    public var files = 0
    /// Why recording stopped (the size cap, the free-space guard, a write that failed); nil while recording.
    public var stopped: String?

    public init() {}
}

/// The raw-data recorder: every frame exactly as received, as hftbacktest's collector writes it — one
/// `<local_ns> <json>` line per frame, gzip, one file per symbol per UTC day named `SYMBOL_YYYYMMDD.gz`,
/// rolled at UTC midnight by the frames' own receive times (so a test injects the clock by the times it
/// passes). Each flush finishes the gzip member and starts a new one on the next write: a file is a run
/// of complete members plus, after a crash, at most one cut member that `RecordingReader` reads up to
/// the cut. Safe to call from any thread.
public final class FrameRecorder: @unchecked Sendable {
    public let configuration: RecorderConfiguration
    private let logger: Logger
    // Guarded by `lock` (the zlib handles are not Sendable, so no Mutex).
    private let lock = NSLock()
    private var state = State()

    private struct OpenFile {
        var handle: gzFile?
        var day: Int
        var path: String
        var sizeAtOpen: Int64
        var unflushed = false
    }

    private struct State {
        var files: [String: OpenFile] = [:]
        var stats = RecorderStats()
        var lastFlush: Int64?
    }

    /// Creates the directory (and its parents) when missing; a directory that cannot be made is a clear error.
    public init(configuration: RecorderConfiguration, logger: Logger) throws(RecordingError) {
        self.configuration = configuration
        self.logger = logger
        try Self.makeDirectory(configuration.directory)
    }

    /// The file a frame of `symbol` received at `receiveTime` goes to.
    public static func fileName(symbol: String, receiveTime: Int64) -> String {
        "\(symbol)_\(UTCTime.dayStamp(day: UTCTime.day(receiveTime))).gz"
    }

    /// Writes one frame as `<receiveTime> <frame>\n` to its symbol's file of the frame's UTC day.
    public func record(_ frame: UnsafeRawBufferPointer, symbol: String, receiveTime: Int64) {
        withState { state in
            guard !symbol.isEmpty else {
                state.stats.unfiled += 1
                return
            }
            guard state.stats.stopped == nil else {
                state.stats.dropped += 1
                return
            }
            if state.lastFlush == nil { state.lastFlush = receiveTime }
            let day = UTCTime.day(receiveTime)
            if let open = state.files[symbol], open.day != day {
                finish(symbol, in: &state, reason: "UTC day ended")
                state.files[symbol] = nil
            }
            if state.files[symbol]?.handle == nil, !openFile(symbol, day: day, in: &state) { return }
            var prefix = String(receiveTime)
            prefix.append(" ")
            let handle = state.files[symbol]!.handle
            let ok = prefix.withUTF8 { write(handle, UnsafeRawBufferPointer($0)) } && write(handle, frame)
                && withUnsafeBytes(of: UInt8(0x0A)) { write(handle, $0) }
            guard ok else {
                stop("a write to \(state.files[symbol]!.path) failed", in: &state)
                return
            }
            state.files[symbol]!.unflushed = true
            state.stats.frames += 1
            state.stats.rawBytes += Int64(prefix.utf8.count + frame.count + 1)
        }
    }

    /// Finishes every file's member when `flushInterval` has passed since the last flush; then checks
    /// the size cap and the disk's free space. Call it on a timer (frames alone do not flush a quiet file).
    public func flushIfDue(now: Int64) {
        withState { state in
            guard let last = state.lastFlush else {
                state.lastFlush = now
                return
            }
            guard now - last >= configuration.flushInterval else { return }
            flush(in: &state, now: now)
        }
    }

    /// Finishes every open member now.
    public func flush(now: Int64) {
        withState { state in flush(in: &state, now: now) }
    }

    /// Finishes and closes every file; later frames are dropped.
    public func close() {
        withState { state in
            for symbol in Array(state.files.keys) { finish(symbol, in: &state, reason: "closed") }
            state.files.removeAll()
            if state.stats.stopped == nil { state.stats.stopped = "closed" }
        }
    }

    public var stats: RecorderStats { withState { $0.stats } }

    private func withState<Result>(_ body: (inout State) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }

    // MARK: Files

    private func flush(in state: inout State, now: Int64) {
        state.lastFlush = now
        for symbol in Array(state.files.keys) where state.files[symbol]!.unflushed {
            finish(symbol, in: &state, reason: "flush")
        }
        guard state.stats.stopped == nil else { return }
        if configuration.maxBytes > 0, state.stats.bytesOnDisk >= configuration.maxBytes {
            stop("recording.max_bytes reached: \(state.stats.bytesOnDisk) bytes written (limit \(configuration.maxBytes))", in: &state)
        } else if let free = Self.freeBytes(configuration.directory), free < configuration.minFreeBytes {
            stop("the disk has \(free) bytes free, under recording.min_free_bytes \(configuration.minFreeBytes)", in: &state)
        }
    }

    private func openFile(_ symbol: String, day: Int, in state: inout State) -> Bool {
        let path = configuration.directory + "/" + "\(symbol)_\(UTCTime.dayStamp(day: day)).gz"
        let size = Self.size(path) ?? 0
        // "ab": a new gzip member after whatever the file already holds (a restart the same day).
        guard let handle = gzopen(path, "ab") else {
            stop("cannot open \(path): \(String(cString: strerror(errno)))", in: &state)
            return false
        }
        if state.files[symbol] == nil {
            state.stats.files += 1
            logger.info("keel_record_file_opened", metadata: ["path": "\(path)", "symbol": "\(symbol)"])
        }
        state.files[symbol] = OpenFile(handle: handle, day: day, path: path, sizeAtOpen: size)
        return true
    }

    /// Closes the file's gzip member (complete on disk) and counts what it added; the next write opens a new one.
    private func finish(_ symbol: String, in state: inout State, reason: String) {
        guard var open = state.files[symbol], let handle = open.handle else { return }
        if gzclose(handle) != Z_OK {
            logger.error("keel_record_close_failed", metadata: ["path": "\(open.path)", "reason": "\(reason)"])
        }
        let size = Self.size(open.path) ?? open.sizeAtOpen
        state.stats.bytesOnDisk += size - open.sizeAtOpen
        open.handle = nil
        open.sizeAtOpen = size
        open.unflushed = false
        state.files[symbol] = open
    }

    private func stop(_ reason: String, in state: inout State) {
        for symbol in Array(state.files.keys) { finish(symbol, in: &state, reason: "stopped") }
        state.stats.stopped = reason
        logger.error("keel_record_stopped", metadata: ["reason": "\(reason)", "frames": "\(state.stats.frames)",
                                                       "bytes": "\(state.stats.bytesOnDisk)"])
    }

    private func write(_ handle: gzFile?, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0 else { return true }
        return gzwrite(handle, bytes.baseAddress, UInt32(bytes.count)) == Int32(bytes.count)
    }

    private static func size(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    private static func freeBytes(_ directory: String) -> Int64? {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    private static func makeDirectory(_ path: String) throws(RecordingError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw .cannotOpen(path: path, reason: "cannot create the directory: \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .cannotOpen(path: path, reason: "not a directory")
        }
    }
}
