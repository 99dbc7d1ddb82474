/// Counters of a market-data feed as it is replayed or received.
public struct FeedStats: Sendable, Equatable {
    /// Messages handed to the feed.
    public var messages = 0
    /// Messages that failed to parse (malformed JSON or a wrong shape).
    public var errors = 0
    /// Book snapshots applied.
    public var snapshots = 0
    /// Depth delta messages seen.
    public var deltas = 0
    /// Individual trades (one message may carry many).
    public var trades = 0
    /// Sequence breaks detected; each invalidates a book until its next snapshot.
    public var gaps = 0
    /// Books found crossed after an update; each invalidates the book until its next snapshot.
    public var crossed = 0
    /// Well-formed messages of topics or kinds the feed does not model (counted, never fatal).
    public var unknown = 0
    /// Control answers: subscription acks, pongs, error answers.
    public var responses = 0

    public init() {}
}

/// The state of one book at the end of a replay or at a checkpoint.
public struct BookState: Sendable {
    public var symbol: String
    public var book: OrderBook
    /// Whether the book can be trusted: synced from a snapshot, no gap or crossing since.
    public var isValid: Bool
    /// The id of the last applied update (or the snapshot's).
    public var lastUpdateId: Int64?

    public init(symbol: String, book: OrderBook, isValid: Bool, lastUpdateId: Int64?) {
        self.symbol = symbol
        self.book = book
        self.isValid = isValid
        self.lastUpdateId = lastUpdateId
    }
}

/// An exchange's public market data turned into books and market events: decode a message, apply
/// the exchange's sync rules, count what happened, and hand every trusted depth, trade and broken
/// book to `events`. One conformance per exchange, the one path from raw message to market events;
/// pure (time comes with the message).
public protocol MarketFeed {
    /// The exchange's name as Keel's command line spells it (`bybit`, `binance-usdm`).
    static var exchange: String { get }

    /// Decodes and applies one JSON message received at `receiveTime` (UTC ns, 0 when unknown), and
    /// passes the market events it makes to `events`. Malformed input is counted in `stats.errors`,
    /// never thrown.
    mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64, _ events: (MarketEvent) -> Void)

    var stats: FeedStats { get }

    /// Symbols with a book, in the order they first appeared.
    var symbols: [String] { get }

    /// The book of `symbol` (for an exchange with several depth topics per symbol, the deepest).
    func bookState(symbol: String) -> BookState?
}

extension MarketFeed {
    /// Books and counters only, the events dropped (`keel book`).
    @inlinable
    public mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64) {
        ingest(message, receiveTime: receiveTime) { _ in }
    }
}
