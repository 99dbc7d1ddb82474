import ConnectorWire
import Foundation
import Market

/// What the bot holds from its connector's events: one book per symbol (a `depth` snapshot replaces
/// it, a delta applies; a book that fails to apply, whose depth was dropped (`depth_dropped`), or
/// that came from an earlier connector (`connector_started`) is invalid until the next snapshot),
/// counts by event type, and the tick-to-bot latency of market events.
public actor MarketState {
    public struct BookSummary: Sendable, Equatable {
        public var valid: Bool
        public var bids: Int
        public var asks: Int
        public var lastUpdateId: Int64
        public var bestBid: Price?
        public var bestAsk: Price?
    }

    private var books: [String: OrderBook] = [:]
    private var valid: [String: Bool] = [:]
    private var lastUpdate: [String: Int64] = [:]
    private(set) var eventsByType: [String: Int] = [:]
    private var latencies: [Int64] = []
    /// The last public trades of each symbol, newest last (the dashboard's tape).
    private var tape: [String: [TradeTick]] = [:]
    static let tapeLength = 30
    /// Connector statuses by kind since start (reconnects, resyncs…), and the resyncs that mended a gap.
    private(set) var statuses: [ConnectorEvent.StatusKind: Int] = [:]
    private(set) var gaps = 0
    private let onLatency: @Sendable (Int64) -> Void

    public init(onLatency: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.onLatency = onLatency
    }

    public func apply(_ event: ConnectorEvent, now: Int64) {
        let type = ConnectorEvent.typeName(event)
        eventsByType[type, default: 0] += 1
        if case .status(let status) = event {
            statuses[status.status, default: 0] += 1
            // Every resync but an exchange's restart mends a book whose sequence broke: a gap.
            if status.status == .resynced, status.reason?.contains("exchange restart") != true { gaps += 1 }
        }
        switch event {
        case .depth(let depth):
            let update = depth.update
            onLatency(now - update.receiveTime)
            if update.kind == .snapshot {
                var book = OrderBook()
                valid[update.symbol] = (try? book.apply(update)) != nil
                books[update.symbol] = book
            } else if valid[update.symbol] == true, var book = books[update.symbol] {
                books[update.symbol] = nil
                valid[update.symbol] = (try? book.apply(update)) != nil
                books[update.symbol] = book
            }
            lastUpdate[update.symbol] = update.lastUpdateId
        case .trade(let trade):
            onLatency(now - trade.receiveTime)
            tape[trade.symbol, default: []].append(trade)
            if tape[trade.symbol]!.count > Self.tapeLength { tape[trade.symbol]!.removeFirst() }
        case .status(let status) where status.status == .connectorStarted && status.session != "inactive":
            invalidateAll()
        case .status(let status) where status.status == .dataSource:
            // Another source's books: each waits for its snapshot from there.
            invalidateAll()
        case .status(let status) where status.status == .depthDropped:
            if let symbol = status.topic { invalidate([symbol]) }
        default:
            break
        }
    }

    /// A symbol whose depth was dropped on the way: its book cannot be trusted until a snapshot.
    func invalidate(_ symbols: Set<String>) {
        for symbol in symbols where valid[symbol] != nil { valid[symbol] = false }
    }

    /// Books that are no longer current after the connector restarted: each waits for its snapshot.
    func invalidateAll() {
        for symbol in valid.keys { valid[symbol] = false }
    }

    public func summary() -> [String: BookSummary] {
        var result: [String: BookSummary] = [:]
        for (symbol, book) in books {
            result[symbol] = BookSummary(valid: valid[symbol] ?? false, bids: book.bidCount, asks: book.askCount,
                                         lastUpdateId: lastUpdate[symbol] ?? 0, bestBid: book.bestBid?.price, bestAsk: book.bestAsk?.price)
        }
        return result
    }

    public func counts() -> [String: Int] { eventsByType }

    /// The connector's reconnects (its sessions' `reconnecting`), resyncs, and the resyncs that mended a gap, since start.
    public func incidents() -> (reconnects: Int, resyncs: Int, gaps: Int) {
        (statuses[.reconnecting] ?? 0, statuses[.resynced] ?? 0, gaps)
    }

    /// The last public trades of `symbol`, newest last.
    public func trades(_ symbol: String) -> [TradeTick] { tape[symbol] ?? [] }

    /// The book of `symbol` and whether it can be trusted.
    public func book(_ symbol: String) -> (book: OrderBook, valid: Bool)? {
        guard let book = books[symbol] else { return nil }
        return (book, valid[symbol] == true)
    }
}

extension ConnectorEvent {
    /// The wire's `type` of an event.
    public static func typeName(_ event: ConnectorEvent) -> String {
        switch event {
        case .status: return "status"
        case .trade: return "trade"
        case .depth: return "depth"
        case .order, .orderUnknown: return "order"
        case .fill: return "fill"
        case .position: return "position"
        case .wallet: return "wallet"
        case .pong: return "pong"
        case .ack: return "ack"
        case .openOrders: return "open_orders"
        case .instrument: return "instrument"
        case .candles: return "candles"
        case .backfill: return "backfill"
        case .error: return "error"
        case .stats: return "stats"
        }
    }
}
