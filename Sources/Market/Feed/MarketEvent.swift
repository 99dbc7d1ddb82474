/// What an exchange's feed makes of its public data, the same for every consumer: the connector's
/// public session, `keel book`, the sim's replay and the backtester. A depth update only goes out
/// once the exchange's sync rules trust the book after it; a broken book says why. Pure values:
/// the time is the one each update or trade carries.
public enum MarketEvent: Sendable {
    case depth(TrustedDepth)
    case trade(TradeTick)
    case bookInvalid(BookInvalid)

    // Inlinable: a caller's look into its event is then projected in place, not a copy of the whole
    // event made for the call (the backtester and the strategy look at every event).

    /// The symbol the event is about.
    @inlinable
    public var symbol: String {
        switch self {
        case .depth(let depth): return depth.update.symbol
        case .trade(let trade): return trade.symbol
        case .bookInvalid(let invalid): return invalid.symbol
        }
    }

    /// The exchange's time of the event.
    @inlinable
    public var exchangeTime: Int64 {
        switch self {
        case .depth(let depth): return depth.update.exchangeTime
        case .trade(let trade): return trade.exchangeTime
        case .bookInvalid(let invalid): return invalid.exchangeTime
        }
    }

    /// Whether it is a trusted book.
    @inlinable
    public var isDepth: Bool {
        if case .depth = self { true } else { false }
    }
}

/// A book the exchange's rules trust, right after the update that made it so.
public struct TrustedDepth: Sendable {
    public enum Cause: Sendable, Equatable {
        /// A delta applied on a synced book.
        case delta
        /// A snapshot (the first, or the one after a fault) replaced the book.
        case snapshot
        /// The exchange restarted its stream and overwrote the book (Bybit `u == 1`).
        case restart
    }

    /// The update as the exchange sent it (for a snapshot after buffered diffs, the snapshot).
    public var update: DepthUpdate
    public var cause: Cause
    /// The whole book after the update.
    public var book: OrderBook
    /// The stream's depth limit (Bybit `orderbook.50`: 50 levels a side); nil when unlimited.
    public var depthLimit: Int?

    public init(update: DepthUpdate, cause: Cause, book: OrderBook, depthLimit: Int?) {
        self.update = update
        self.cause = cause
        self.book = book
        self.depthLimit = depthLimit
    }

    /// The whole trusted book as one snapshot update, stamped with this update's ids and times.
    public var asSnapshot: DepthUpdate {
        var snapshot = update
        snapshot.kind = .snapshot
        snapshot.bids = book.levels(.bid)
        snapshot.asks = book.levels(.ask)
        return snapshot
    }
}

/// A book the exchange's rules stopped trusting, until its next snapshot.
public struct BookInvalid: Sendable, Equatable {
    public var symbol: String
    public var fault: BookFault
    /// Exchange and local time of the message that broke it, UTC ns.
    public var exchangeTime: Int64
    public var receiveTime: Int64

    public init(symbol: String, fault: BookFault, exchangeTime: Int64, receiveTime: Int64) {
        self.symbol = symbol
        self.fault = fault
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
    }
}
