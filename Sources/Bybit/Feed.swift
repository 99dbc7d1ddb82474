import Market

/// Bybit public market data replayed into books: one `BybitBookSync` per orderbook topic (a symbol
/// may have several depths, each with its own `u` sequence), with counters for every message.
public struct BybitFeed: MarketFeed {
    public static let exchange = "bybit"

    private var decoder = BybitDecoder()
    private var books: [BybitBookTopic: BybitBookSync] = [:]
    public private(set) var stats = FeedStats()
    public private(set) var symbols: [String] = []

    public init() {}

    public mutating func ingest(_ message: UnsafeRawBufferPointer, receiveTime: Int64) {
        stats.messages += 1
        let decoded: BybitPublicMessage
        do throws(JSONError) {
            decoded = try decoder.decode(message, receiveTime: receiveTime)
        } catch {
            stats.errors += 1
            return
        }
        switch decoded {
        case .depth(let depth):
            if depth.update.kind == .delta && depth.update.lastUpdateId != 1 { stats.deltas += 1 }
            if books[depth.topic] == nil {
                books[depth.topic] = BybitBookSync(depth: depth.topic.depth)
                if !symbols.contains(depth.topic.symbol) { symbols.append(depth.topic.symbol) }
            }
            switch books[depth.topic]!.apply(depth.update) {
            case .snapshotApplied, .restartApplied: stats.snapshots += 1
            case .deltaApplied, .ignored: break
            case .invalidated(let fault): stats.record(fault)
            }
        case .trades(let trades):
            stats.trades += trades.count
        case .response:
            stats.responses += 1
        case .request, .other:
            stats.unknown += 1
        }
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
