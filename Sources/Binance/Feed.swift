import Market

/// Binance USD-M market data → books and market events, one `BinanceBookSync` per symbol: the one
/// path from a raw Binance message to market events (`keel book`, the sim's replay, the backtester).
///
/// A REST depth snapshot names no symbol: it is applied to `snapshotSymbol` when given, otherwise to
/// the first symbol that sent depth diffs (a snapshot before any diff waits for that symbol).
public struct BinanceFeed: MarketFeed, Sendable {
    public static let exchange = "binance-usdm"

    private var decoder = BinanceDecoder()
    /// Each symbol's book, in `symbols`' order; `places` finds a symbol's.
    private var books: [BinanceBookSync] = []
    private var places: [String: Int] = [:]
    private var pendingSnapshot: DepthUpdate?
    public let snapshotSymbol: String?
    public private(set) var stats = FeedStats()
    public private(set) var symbols: [String] = []
    /// Off-book trades (insurance fund, ADL) seen; not counted in `stats.trades`.
    public private(set) var offBookTrades = 0

    public init(snapshotSymbol: String? = nil) {
        self.snapshotSymbol = snapshotSymbol
    }

    public mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64, _ events: (MarketEvent) -> Void) {
        stats.messages += 1
        // A book ticker on the combined stream: nothing downstream uses it (the exact book comes from the diffs),
        // so it is known by its stream name and not parsed — on the shared capture, 47 % of the bytes.
        if Self.isCombinedBookTicker(message) { return }
        let decoded: BinanceMessage
        do throws(JSONError) {
            decoded = try decoder.decode(message, receiveTime: receiveTime)
        } catch {
            stats.errors += 1
            return
        }
        switch decoded {
        case .depth(let diff):
            stats.deltas += 1
            // The symbol's place is looked up once (each lookup hashes the symbol) and its book changed in place.
            let place = places[diff.symbol] ?? addBook(diff.symbol, events)
            let outcome = books[place].apply(diff)
            count(outcome)
            switch outcome {
            case .applied:
                events(.depth(TrustedDepth(update: diff, cause: .delta, book: books[place].book, depthLimit: nil)))
            case .invalidated(let fault):
                events(.bookInvalid(BookInvalid(symbol: diff.symbol, fault: fault, exchangeTime: diff.exchangeTime, receiveTime: diff.receiveTime)))
            case .buffered, .dropped:
                break
            }
        case .snapshot(let snapshot):
            if let symbol = snapshotSymbol ?? symbols.first {
                applySnapshot(snapshot, to: symbol, events)
            } else {
                pendingSnapshot = snapshot
            }
        case .trade(let trade):
            stats.trades += 1
            events(.trade(trade))
        case .offBookTrade:
            offBookTrades += 1
        case .bookTicker:
            break
        case .response:
            stats.responses += 1
        case .other:
            stats.unknown += 1
        }
    }

    /// A book for a symbol's first diff, with the snapshot that waited for it; its place in `books`.
    private mutating func addBook(_ symbol: String, _ events: (MarketEvent) -> Void) -> Int {
        let place = newBook(symbol)
        if let pending = pendingSnapshot, snapshotSymbol == nil || snapshotSymbol == symbol {
            pendingSnapshot = nil
            applySnapshot(pending, to: symbol, events)
        }
        return place
    }

    private mutating func newBook(_ symbol: String) -> Int {
        books.append(BinanceBookSync())
        symbols.append(symbol)
        places[symbol] = books.count - 1
        return books.count - 1
    }

    /// A REST depth snapshot of `symbol` (the connector knows which it asked for): applied with the
    /// diffs buffered since; one event, the book after them all (or the fault). False when the bytes
    /// are not a snapshot (counted as an error).
    @discardableResult
    public mutating func ingestSnapshot(_ message: UnsafeRawBufferPointer, symbol: String, receiveTime: Int64, _ events: (MarketEvent) -> Void) -> Bool {
        stats.messages += 1
        guard case .snapshot(let snapshot)? = try? decoder.decode(message, receiveTime: receiveTime) else {
            stats.errors += 1
            return false
        }
        applySnapshot(snapshot, to: symbol, events)
        return true
    }

    /// The snapshot and the buffered diffs it lets through make one event: the book after them all.
    private mutating func applySnapshot(_ snapshot: DepthUpdate, to symbol: String, _ events: (MarketEvent) -> Void) {
        let place = places[symbol] ?? newBook(symbol)
        var named = snapshot
        named.symbol = symbol
        let result = books[place].applySnapshot(named)
        if result.outcome == .dropped { return }
        if result.outcome == .applied { stats.snapshots += 1 } else { count(result.outcome) }
        for outcome in result.replayed { count(outcome) }
        let sync = books[place]
        if sync.isValid {
            events(.depth(TrustedDepth(update: named, cause: .snapshot, book: sync.book, depthLimit: nil)))
        } else if case .invalid(let fault) = sync.state {
            events(.bookInvalid(BookInvalid(symbol: symbol, fault: fault, exchangeTime: named.exchangeTime, receiveTime: named.receiveTime)))
        }
    }

    /// `{"stream":"<name>@bookTicker",…`: the combined stream's envelope naming a book ticker.
    static func isCombinedBookTicker(_ message: UnsafeRawBufferPointer) -> Bool {
        var scanner = JSONScanner(message)
        guard scanner.consume("{\"stream\":"), let name = try? scanner.readString() else { return false }
        return name.hasSuffix("@bookTicker")
    }

    private mutating func count(_ outcome: BinanceBookSync.Outcome) {
        if case .invalidated(let fault) = outcome { stats.record(fault) }
    }

    public func sync(for symbol: String) -> BinanceBookSync? { places[symbol].map { books[$0] } }

    public func bookState(symbol: String) -> BookState? {
        guard let sync = sync(for: symbol) else { return nil }
        return BookState(symbol: symbol, book: sync.book, isValid: sync.isValid, lastUpdateId: sync.lastUpdateId)
    }
}
