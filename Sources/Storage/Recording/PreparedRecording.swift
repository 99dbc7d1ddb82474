#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Market

/// A recording's market events in a binary form a backtest replays without gunzip, JSON or the
/// exchange's sync rules: what the feed made of it, written once (`keel backtest --cache DIR`) and
/// reused while the recordings it came from are unchanged. Parameter sweeps replay this.
///
/// The file, little-endian throughout:
///
///     "KEELPREP" u32 version   u32 n   n bytes of identity (what it was made from, as text)
///     records: u32 length, then `length` bytes: u8 tag, then the tag's fields
///       0 symbol   the name's bytes; symbols are numbered 0, 1, … in the order they come
///       1 depth    u16 symbol, i64 stamp, u8 cause, u8 kind, u8 flags, i64 first/last/previous update id,
///                  i64 sequence, i64 exchange time, i64 receive time, i32 depth limit, u32 bids, u32 asks,
///                  the levels; with flag 8 (`whole book`) u32 + u32 + the levels of the book after it
///       2 trade    u16 symbol, i64 stamp, price, qty, u8 aggressor, i64 exchange time, i64 receive time, id bytes
///       3 invalid  u16 symbol, i64 stamp, i64 exchange time, i64 receive time, u8 fault, i64 + i64, price, qty
///       9 end      u64 events: the file is complete (a run cut short leaves none and is rebuilt)
///
/// A decimal is i64 mantissa + u8 scale; a level is price + qty (18 bytes). A depth record carries its
/// update; the replay applies it to the book it keeps (and cuts it to the stream's depth), so most
/// records hold only the levels that changed. The whole book is written when the feed replaced it (a
/// snapshot, a restart) and whenever the replayed book would not match the feed's, checked as it is
/// written: its level counts and best levels.
public enum PreparedRecording {
    public static let version: UInt32 = 1
    static let magic: [UInt8] = Array("KEELPREP".utf8)

    /// The identity of a set of recordings for `kind` (the exchange and the symbol the feed was told):
    /// each file's absolute path, size, modification time and inode, in order. Any change to a file
    /// (appended to, rewritten, replaced) changes it.
    public static func identity(files: [String], kind: String) throws(RecordingError) -> String {
        var text = "keel-prepared \(version)\n\(kind)\n"
        for file in files {
            var info = stat()
            guard stat(file, &info) == 0 else { throw .cannotOpen(path: file, reason: String(cString: strerror(errno))) }
            let absolute = realpath(file, nil).map { pointer in defer { free(pointer) }; return String(cString: pointer) } ?? file
            text += "\(absolute)\t\(info.st_size)\t\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\t\(info.st_dev):\(info.st_ino)\n"
        }
        return text
    }

    /// The cache file for an identity in `directory`: its name is a hash of the identity.
    public static func path(directory: String, identity: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return directory + "/" + String(repeating: "0", count: 16 - hex.count) + hex + ".keelprep"
    }
}

// MARK: Writing

/// Writes a prepared recording as the feed's events come: into a temporary file beside `path`,
/// renamed into place by `finish` (so a reader never sees half a file).
public final class PreparedRecordingWriter {
    public let path: String
    private let temporary: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var record: [UInt8] = []
    private var symbols: [String: UInt16] = [:]
    /// The books as the replay will rebuild them, to know when a record must carry the whole book.
    private var books: [OrderBook] = []
    private var events: UInt64 = 0
    private var failed: String?
    private var finished = false

    public init(path: String, identity: String) throws(RecordingError) {
        self.path = path
        temporary = path + ".\(getpid()).tmp"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: temporary, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(1 << 20)
        buffer += PreparedRecording.magic
        buffer.appendLE(PreparedRecording.version)
        let bytes = Array(identity.utf8)
        buffer.appendLE(UInt32(bytes.count))
        buffer += bytes
    }

    deinit {
        if fd >= 0 { close(fd) }
        unlink(temporary)
    }

    /// One event of the feed, with the stamp the backtest saw it at.
    public func append(_ event: MarketEvent, stamp: Int64) {
        let symbol = index(of: event.symbol)
        record.removeAll(keepingCapacity: true)
        switch event {
        case .depth(let depth):
            var whole = depth.cause != .delta
            if !whole {
                do throws(BookError) {
                    try books[Int(symbol)].apply(depth.update)
                    if let limit = depth.depthLimit { books[Int(symbol)].truncate(depth: limit) }
                    whole = !Self.alike(books[Int(symbol)], depth.book)
                } catch {
                    whole = true
                }
            }
            if whole { books[Int(symbol)] = depth.book }
            let update = depth.update
            begin(1, symbol: symbol, stamp: stamp)
            record.append(depth.cause.code)
            record.append(update.kind == .snapshot ? 0 : 1)
            var flags: UInt8 = 0
            if update.previousUpdateId != nil { flags |= 1 }
            if update.sequence != nil { flags |= 2 }
            if depth.depthLimit != nil { flags |= 4 }
            if whole { flags |= 8 }
            record.append(flags)
            record.appendLE(update.firstUpdateId)
            record.appendLE(update.lastUpdateId)
            record.appendLE(update.previousUpdateId ?? 0)
            record.appendLE(update.sequence ?? 0)
            record.appendLE(update.exchangeTime)
            record.appendLE(update.receiveTime)
            record.appendLE(Int32(clamping: depth.depthLimit ?? 0))
            record.appendLevels(update.bids, update.asks)
            if whole { record.appendLevels(depth.book.levels(.bid), depth.book.levels(.ask)) }
        case .trade(let trade):
            begin(2, symbol: symbol, stamp: stamp)
            record.appendDecimal(trade.price)
            record.appendDecimal(trade.qty)
            record.append(trade.aggressor == .buy ? 0 : 1)
            record.appendLE(trade.exchangeTime)
            record.appendLE(trade.receiveTime)
            record += trade.tradeId.utf8
        case .bookInvalid(let invalid):
            begin(3, symbol: symbol, stamp: stamp)
            record.appendLE(invalid.exchangeTime)
            record.appendLE(invalid.receiveTime)
            var numbers: (Int64, Int64) = (0, 0)
            var price = Price.zero, qty = Quantity.zero
            let code: UInt8
            switch invalid.fault {
            case .gap(let expected, let received): code = 0; numbers = (expected, received)
            case .crossed: code = 1
            case .rejected(.priceOutOfRange(let value)): code = 2; price = value
            case .rejected(.negativeQuantity(let value, let size)): code = 3; price = value; qty = size
            case .rejected(.negativePrice(let value)): code = 4; price = value
            }
            record.append(code)
            record.appendLE(numbers.0)
            record.appendLE(numbers.1)
            record.appendDecimal(price)
            record.appendDecimal(qty)
        }
        events += 1
        emit()
    }

    /// The end record, then the file renamed into place. Throws when any write failed.
    public func finish() throws(RecordingError) {
        guard !finished else { return }
        finished = true
        record.removeAll(keepingCapacity: true)
        record.append(9)
        record.appendLE(events)
        emit()
        flush()
        if let failed { throw .cannotOpen(path: temporary, reason: failed) }
        guard fsync(fd) == 0, rename(temporary, path) == 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// A market record's first fields: its tag, the symbol's number and the stamp.
    private func begin(_ tag: UInt8, symbol: UInt16, stamp: Int64) {
        record.append(tag)
        record.appendLE(symbol)
        record.appendLE(stamp)
    }

    private func index(of symbol: String) -> UInt16 {
        if let index = symbols[symbol] { return index }
        let index = UInt16(symbols.count)
        symbols[symbol] = index
        books.append(OrderBook())
        record.removeAll(keepingCapacity: true)
        record.append(0)
        record += symbol.utf8
        emit()
        return index
    }

    private func emit() {
        buffer.appendLE(UInt32(record.count))
        buffer += record
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        guard failed == nil else { buffer.removeAll(keepingCapacity: true); return }
        var written = 0
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                failed = String(cString: strerror(errno))
                break
            }
            written += result
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The replayed book against the feed's: the same level counts and the same five best levels a side.
    private static func alike(_ replayed: OrderBook, _ fed: OrderBook) -> Bool {
        replayed.bidCount == fed.bidCount && replayed.askCount == fed.askCount
            && replayed.levels(.bid, limit: 5) == fed.levels(.bid, limit: 5) && replayed.levels(.ask, limit: 5) == fed.levels(.ask, limit: 5)
    }
}

// MARK: Reading

/// Replays a prepared recording: the feed's events, each with its stamp, the books rebuilt as it goes.
/// Streams the file in 1 MiB reads: memory is the books, not the recording.
public enum PreparedRecordingReader {
    public enum Outcome: Sendable, Equatable {
        /// Every event was replayed.
        case replayed(events: UInt64)
        /// No usable file (missing, made from other recordings, an older format, or cut short): nothing was
        /// replayed.
        case unusable(reason: String)
    }

    /// Replays the file at `path` if it was made from `identity` and is complete; otherwise calls nothing.
    public static func replay(path: String, identity: String,
                              _ body: (MarketEvent, Int64) -> Void) throws(RecordingError) -> Outcome {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .unusable(reason: errno == ENOENT ? "none yet" : String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unusable(reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        // The header and the end record are checked before the first event goes out.
        let identityBytes = Array(identity.utf8)
        let headerSize = 16 + identityBytes.count
        var header = [UInt8](repeating: 0, count: headerSize)
        guard size >= headerSize + 13, readFully(fd, &header, at: 0) else { return .unusable(reason: "cut short") }
        guard Array(header[0..<8]) == PreparedRecording.magic else { return .unusable(reason: "not a prepared recording") }
        guard header.loadLE(UInt32.self, at: 8) == PreparedRecording.version else { return .unusable(reason: "an older format") }
        guard header.loadLE(UInt32.self, at: 12) == UInt32(identityBytes.count), Array(header[16...]) == identityBytes else {
            return .unusable(reason: "made from other recordings")
        }
        var tail = [UInt8](repeating: 0, count: 13)
        guard readFully(fd, &tail, at: size - 13), tail.loadLE(UInt32.self, at: 0) == 9, tail[4] == 9 else {
            return .unusable(reason: "cut short")
        }
        let expected = tail.loadLE(UInt64.self, at: 5)

        var replay = Replay()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var start = 0, end = 0
        var offset = headerSize
        let stop = size - 13
        while true {
            // Whole records in the buffer are replayed; a record cut by the chunk waits for the next read.
            while end - start >= 4 {
                let length = Int(buffer.loadLE(UInt32.self, at: start))
                if length + 4 > buffer.count { buffer += [UInt8](repeating: 0, count: length + 4 - buffer.count + chunk) }
                guard end - start >= 4 + length else { break }
                let ok = buffer.withUnsafeBytes { bytes in
                    replay.record(UnsafeRawBufferPointer(rebasing: bytes[(start + 4)..<(start + 4 + length)]), body)
                }
                guard ok else { throw .corrupt(path: path, reason: "a malformed record at byte \(offset - (end - start))") }
                start += 4 + length
            }
            guard offset < stop else { break }
            if start > 0 {
                buffer.withUnsafeMutableBytes { bytes in
                    bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            let want = min(buffer.count - end, stop - offset)
            let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + end, want, off_t(offset)) }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { throw .corrupt(path: path, reason: "read failed: \(String(cString: strerror(errno)))") }
            end += read
            offset += read
        }
        guard start == end, replay.events == expected else {
            throw .corrupt(path: path, reason: "\(replay.events) events replayed of \(expected)")
        }
        return .replayed(events: expected)
    }

    private static func readFully(_ fd: Int32, _ bytes: inout [UInt8], at offset: Int) -> Bool {
        bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(offset)) == $0.count }
    }

    /// The replay's state: the symbols and their books.
    private struct Replay {
        var symbols: [String] = []
        var books: [OrderBook] = []
        var events: UInt64 = 0
        /// A depth record's levels, read into the same storage each time: the update that carries them is
        /// handed back after its event (the backtester keeps no event).
        var bids: [PriceLevel] = []
        var asks: [PriceLevel] = []

        /// One record; false when it cannot be read.
        mutating func record(_ bytes: UnsafeRawBufferPointer, _ body: (MarketEvent, Int64) -> Void) -> Bool {
            var reader = ByteReader(bytes)
            guard let tag = reader.u8() else { return false }
            switch tag {
            case 0:
                symbols.append(String(decoding: bytes[1...], as: UTF8.self))
                books.append(OrderBook())
                return true
            case 1:
                guard let symbol = reader.symbol(of: symbols), let stamp = reader.i64(), let causeCode = reader.u8(), let kind = reader.u8(),
                      let flags = reader.u8(), let first = reader.i64(), let last = reader.i64(), let previous = reader.i64(),
                      let sequence = reader.i64(), let exchangeTime = reader.i64(), let receiveTime = reader.i64(), let limit = reader.i32(),
                      let cause = TrustedDepth.Cause(code: causeCode), reader.levels(into: &bids), reader.levels(into: &asks)
                else { return false }
                var update = DepthUpdate(symbol: symbols[symbol], kind: kind == 0 ? .snapshot : .delta, bids: [], asks: [],
                                         firstUpdateId: first, lastUpdateId: last, previousUpdateId: flags & 1 != 0 ? previous : nil,
                                         sequence: flags & 2 != 0 ? sequence : nil, exchangeTime: exchangeTime, receiveTime: receiveTime)
                swap(&update.bids, &bids)
                swap(&update.asks, &asks)
                // The level storage comes back for the next record however this one ends.
                defer {
                    swap(&update.bids, &bids)
                    swap(&update.asks, &asks)
                }
                let depthLimit = flags & 4 != 0 ? Int(limit) : nil
                do throws(BookError) {
                    if flags & 8 != 0 {
                        guard let bookBids = reader.levels(), let bookAsks = reader.levels() else { return false }
                        try books[symbol].replace(bids: bookBids, asks: bookAsks)
                    } else {
                        try books[symbol].apply(update)
                        if let depthLimit { books[symbol].truncate(depth: depthLimit) }
                    }
                } catch {
                    return false
                }
                events += 1
                body(.depth(TrustedDepth(update: update, cause: cause, book: books[symbol], depthLimit: depthLimit)), stamp)
                return true
            case 2:
                guard let symbol = reader.symbol(of: symbols), let stamp = reader.i64(), let price = reader.decimal(), let qty = reader.decimal(),
                      let aggressor = reader.u8(), let exchangeTime = reader.i64(), let receiveTime = reader.i64() else { return false }
                let id = String(decoding: reader.rest, as: UTF8.self)
                events += 1
                body(.trade(TradeTick(symbol: symbols[symbol], price: price, qty: qty, aggressor: aggressor == 0 ? .buy : .sell,
                                      tradeId: id, exchangeTime: exchangeTime, receiveTime: receiveTime)), stamp)
                return true
            case 3:
                guard let symbol = reader.symbol(of: symbols), let stamp = reader.i64(), let exchangeTime = reader.i64(),
                      let receiveTime = reader.i64(), let code = reader.u8(), let first = reader.i64(), let second = reader.i64(),
                      let price = reader.decimal(), let qty = reader.decimal() else { return false }
                let fault: BookFault
                switch code {
                case 0: fault = .gap(expected: first, received: second)
                case 1: fault = .crossed
                case 2: fault = .rejected(.priceOutOfRange(price))
                case 3: fault = .rejected(.negativeQuantity(price: price, qty: qty))
                case 4: fault = .rejected(.negativePrice(price))
                default: return false
                }
                events += 1
                body(.bookInvalid(BookInvalid(symbol: symbols[symbol], fault: fault, exchangeTime: exchangeTime,
                                              receiveTime: receiveTime)), stamp)
                return true
            case 9:
                return true
            default:
                return false
            }
        }
    }
}

extension TrustedDepth.Cause {
    var code: UInt8 {
        switch self {
        case .delta: return 0
        case .snapshot: return 1
        case .restart: return 2
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .delta
        case 1: self = .snapshot
        case 2: self = .restart
        default: return nil
        }
    }
}

// MARK: Bytes

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ value: FixedDecimal) {
        appendLE(value.mantissa)
        append(value.scale)
    }

    mutating func appendLevels(_ bids: [PriceLevel], _ asks: [PriceLevel]) {
        appendLE(UInt32(bids.count))
        for level in bids { appendDecimal(level.price); appendDecimal(level.qty) }
        appendLE(UInt32(asks.count))
        for level in asks { appendDecimal(level.price); appendDecimal(level.qty) }
    }

    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

/// Reads a record's fields in order; nil past its end (a malformed record, never a crash).
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[offset...]) }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        guard bytes.count - offset >= MemoryLayout<T>.size else { return nil }
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func u8() -> UInt8? { load(UInt8.self) }
    mutating func i32() -> Int32? { load(Int32.self) }
    mutating func i64() -> Int64? { load(Int64.self) }

    mutating func symbol(of symbols: [String]) -> Int? {
        guard let index = load(UInt16.self), Int(index) < symbols.count else { return nil }
        return Int(index)
    }

    mutating func decimal() -> FixedDecimal? {
        guard let mantissa = i64(), let scale = u8(), scale <= FixedDecimal.maxScale else { return nil }
        return FixedDecimal(mantissa: mantissa, scale: scale)
    }

    mutating func levels() -> [PriceLevel]? {
        var levels: [PriceLevel] = []
        return self.levels(into: &levels) ? levels : nil
    }

    /// The levels into `levels`, its storage reused; false when they cannot be read.
    mutating func levels(into levels: inout [PriceLevel]) -> Bool {
        levels.removeAll(keepingCapacity: true)
        guard let count = load(UInt32.self), Int(count) * 18 <= bytes.count - offset else { return false }
        levels.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            guard let price = decimal(), let qty = decimal() else { return false }
            levels.append(PriceLevel(price: price, qty: qty))
        }
        return true
    }
}
