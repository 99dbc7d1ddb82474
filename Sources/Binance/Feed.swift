import Market

/// Binance USD-M market data replayed into books, one `BinanceBookSync` per symbol.
///
/// A REST depth snapshot names no symbol: it is applied to `snapshotSymbol` when given, otherwise to
/// the first symbol that sent depth diffs (a snapshot before any diff waits for that symbol).
public struct BinanceFeed: MarketFeed {
    public static let exchange = "binance-usdm"

    private var decoder = BinanceDecoder()
    private var books: [String: BinanceBookSync] = [:]
    private var pendingSnapshot: DepthUpdate?
    public let snapshotSymbol: String?
    public private(set) var stats = FeedStats()
    public private(set) var symbols: [String] = []
    /// Off-book trades (insurance fund, ADL) seen; not counted in `stats.trades`.
    public private(set) var offBookTrades = 0

    public init(snapshotSymbol: String? = nil) {
        self.snapshotSymbol = snapshotSymbol
    }

    public mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64) {
        stats.messages += 1
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
            if books[diff.symbol] == nil {
                books[diff.symbol] = BinanceBookSync()
                symbols.append(diff.symbol)
                if let pending = pendingSnapshot, snapshotSymbol == nil || snapshotSymbol == diff.symbol {
                    pendingSnapshot = nil
                    applySnapshot(pending, to: diff.symbol)
                }
            }
            count(books[diff.symbol]!.apply(diff))
        case .snapshot(let snapshot):
            if let symbol = snapshotSymbol ?? symbols.first {
                applySnapshot(snapshot, to: symbol)
            } else {
                pendingSnapshot = snapshot
            }
        case .trade:
            stats.trades += 1
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

    private mutating func applySnapshot(_ snapshot: DepthUpdate, to symbol: String) {
        if books[symbol] == nil {
            books[symbol] = BinanceBookSync()
            symbols.append(symbol)
        }
        let result = books[symbol]!.applySnapshot(snapshot)
        if result.outcome == .applied { stats.snapshots += 1 } else { count(result.outcome) }
        for outcome in result.replayed { count(outcome) }
    }

    private mutating func count(_ outcome: BinanceBookSync.Outcome) {
        if case .invalidated(let fault) = outcome { stats.record(fault) }
    }

    public func sync(for symbol: String) -> BinanceBookSync? { books[symbol] }

    public func bookState(symbol: String) -> BookState? {
        guard let sync = books[symbol] else { return nil }
        return BookState(symbol: symbol, book: sync.book, isValid: sync.isValid, lastUpdateId: sync.lastUpdateId)
    }
}
