import Market

/// Bybit public market data → books and market events: one `BybitBookSync` per orderbook topic (a
/// symbol may have several depths, each with its own `u` sequence), with counters for every message.
/// The one path from a raw Bybit message to market events: the connector's public session, `keel book`,
/// the sim's replay and the backtester all read Bybit through it.
///
/// Market events of a symbol's book come from one topic, the first plain (non-RPI) one seen for it;
/// other topics of the symbol are synced and counted too (`bookState` picks among them), but do not
/// drive events, so a consumer sees one book per symbol.
public struct BybitFeed: MarketFeed, Sendable {
    public static let exchange = "bybit"

    /// What one message was, for a session's own accounting (per-topic counters, pongs, resyncs).
    public enum Received: Sendable, Equatable {
        /// A book message of `topic` with its `u`, and what the sync rules made of it.
        case depth(BybitBookTopic, BybitBookSync.Outcome, updateId: Int64)
        case trades(symbol: String, count: Int)
        case response(BybitResponse)
        case malformed(JSONError)
        /// A request shape or a topic Keel does not model.
        case other
    }

    private var decoder = BybitDecoder()
    private var books: [BybitBookTopic: BybitBookSync] = [:]
    private var driving: [String: BybitBookTopic] = [:]
    public private(set) var stats = FeedStats()
    public private(set) var symbols: [String] = []

    public init() {}

    public mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64, _ events: (MarketEvent) -> Void) {
        receive(message, receiveTime: receiveTime, events)
    }

    /// `ingest`, telling what the message was.
    @discardableResult
    public mutating func receive(_ message: UnsafeRawBufferPointer, receiveTime: Int64, _ events: (MarketEvent) -> Void) -> Received {
        stats.messages += 1
        let decoded: BybitPublicMessage
        do throws(JSONError) {
            decoded = try decoder.decode(message, receiveTime: receiveTime)
        } catch {
            stats.errors += 1
            return .malformed(error)
        }
        switch decoded {
        case .depth(let depth):
            return .depth(depth.topic, apply(depth, events), updateId: depth.update.lastUpdateId)
        case .trades(let trades):
            stats.trades += trades.count
            for trade in trades { events(.trade(trade)) }
            return .trades(symbol: trades.first?.symbol ?? "", count: trades.count)
        case .response(let response):
            stats.responses += 1
            return .response(response)
        case .request, .other:
            stats.unknown += 1
            return .other
        }
    }

    private mutating func apply(_ depth: BybitDepthMessage, _ events: (MarketEvent) -> Void) -> BybitBookSync.Outcome {
        let topic = depth.topic
        if depth.update.kind == .delta && depth.update.lastUpdateId != 1 { stats.deltas += 1 }
        if books[topic] == nil {
            books[topic] = BybitBookSync(depth: topic.depth)
            if !symbols.contains(topic.symbol) { symbols.append(topic.symbol) }
            if !topic.isRPI && driving[topic.symbol] == nil { driving[topic.symbol] = topic }
        }
        let outcome = books[topic]!.apply(depth.update)
        switch outcome {
        case .snapshotApplied, .restartApplied: stats.snapshots += 1
        case .deltaApplied, .ignored: break
        case .invalidated(let fault): stats.record(fault)
        }
        guard driving[topic.symbol] == topic else { return outcome }
        let cause: TrustedDepth.Cause
        switch outcome {
        case .deltaApplied: cause = .delta
        case .snapshotApplied: cause = .snapshot
        case .restartApplied: cause = .restart
        case .invalidated(let fault):
            events(.bookInvalid(BookInvalid(symbol: topic.symbol, fault: fault, exchangeTime: depth.update.exchangeTime,
                                            receiveTime: depth.update.receiveTime)))
            return outcome
        case .ignored:
            return outcome
        }
        events(.depth(TrustedDepth(update: depth.update, cause: cause, book: books[topic]!.book, depthLimit: topic.depth)))
        return outcome
    }

    /// Forgets every book (a new connection: each topic starts again from its snapshot).
    public mutating func reset() {
        books.removeAll()
        driving.removeAll()
    }

    /// Forgets one topic's book (unsubscribed).
    public mutating func forget(_ topic: BybitBookTopic) {
        books[topic] = nil
        if driving[topic.symbol] == topic { driving[topic.symbol] = nil }
    }

    /// The sync state of one topic.
    public func sync(for topic: BybitBookTopic) -> BybitBookSync? { books[topic] }

    public func bookState(symbol: String) -> BookState? {
        // A valid book before an invalid one; then the deepest plain topic (unlimited counts as
        // deepest); RPI books only when nothing else.
        let candidates = books.filter { $0.key.symbol == symbol }
        guard let best = candidates.max(by: { ($0.value.isValid ? 1 : 0, rank($0.key)) < ($1.value.isValid ? 1 : 0, rank($1.key)) })
        else { return nil }
        return BookState(symbol: symbol, book: best.value.book, isValid: best.value.isValid,
                         lastUpdateId: best.value.lastUpdateId)
    }

    private func rank(_ topic: BybitBookTopic) -> Int {
        if topic.isRPI { return -1 }
        return topic.depth ?? Int.max
    }
}
