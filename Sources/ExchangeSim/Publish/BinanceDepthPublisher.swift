import Market

/// Binance USD-M's diff depth streams of one symbol, as the sim publishes them.
///
/// Every step `observe` compares the engine's best `depth` levels with those last observed; each
/// changed level takes one update id, so an event covers ids `U`…`u`. Each stream speed (`@0ms`,
/// `@100ms`, `@depth` = 250 ms, `@500ms`) gathers the changes since its last event and sends them as
/// one diff whose `pu` is the `u` of its previous event: a client that applies them keeps exactly the
/// top `depth` levels, and the REST snapshot (`lastUpdateId` = the newest id) syncs with any speed by
/// Binance's rules. Pure.
public struct BinanceDepthPublisher: Sendable {
    public enum Speed: Int, Sendable, CaseIterable, Comparable {
        case realTime = 0, fast = 100, normal = 250, slow = 500

        /// The stream name's suffix: `@depth@0ms`, `@depth@100ms`, `@depth`, `@depth@500ms`.
        public var suffix: String { self == .normal ? "@depth" : "@depth@\(rawValue)ms" }

        public init?(streamSuffix: Substring) {
            guard let speed = Speed.allCases.first(where: { $0.suffix == streamSuffix }) else { return nil }
            self = speed
        }

        public static func < (a: Speed, b: Speed) -> Bool { a.rawValue < b.rawValue }
    }

    /// One diff to send on a stream.
    public struct Diff: Sendable, Equatable {
        public var firstUpdateId: Int64
        public var lastUpdateId: Int64
        public var previousUpdateId: Int64
        public var bids: [PriceLevel]
        public var asks: [PriceLevel]
    }

    private struct Pending: Sendable {
        var first: Int64?
        var last: Int64
        /// The `u` of the stream's previous event: the next event's `pu`.
        var previous: Int64
        var bids: [Price: Quantity] = [:]
        var asks: [Price: Quantity] = [:]
        var skipNext = false
    }

    public let symbol: String
    public let depth: Int
    /// The newest update id (the REST snapshot's `lastUpdateId`).
    public private(set) var updateId: Int64
    public private(set) var bids: [PriceLevel] = []
    public private(set) var asks: [PriceLevel] = []
    private var pending: [Speed: Pending] = [:]

    public init(symbol: String, depth: Int = 1_000, firstUpdateId: Int64 = 7_000_000_000) {
        self.symbol = symbol
        self.depth = depth
        updateId = firstUpdateId - 1
        for speed in Speed.allCases { pending[speed] = Pending(last: updateId, previous: updateId) }
    }

    /// Takes the engine's current book; returns whether anything changed (and so the ids moved).
    @discardableResult
    public mutating func observe(bids currentBids: [PriceLevel], asks currentAsks: [PriceLevel]) -> Bool {
        let newBids = Array(currentBids.prefix(depth))
        let newAsks = Array(currentAsks.prefix(depth))
        let changedBids = BookTopicPublisher.changes(from: bids, to: newBids, descending: true)
        let changedAsks = BookTopicPublisher.changes(from: asks, to: newAsks, descending: false)
        let count = changedBids.count + changedAsks.count
        guard count > 0 else { return false }
        bids = newBids
        asks = newAsks
        let first = updateId + 1
        updateId += Int64(count)
        for speed in Speed.allCases {
            var entry = pending[speed]!
            if entry.first == nil { entry.first = first }
            entry.last = updateId
            for level in changedBids { entry.bids[level.price] = level.qty }
            for level in changedAsks { entry.asks[level.price] = level.qty }
            pending[speed] = entry
        }
        return true
    }

    /// The diff `speed` sends now (its changes since its last event), or nil when it has none. A diff
    /// marked by `breakNext` is counted but not returned: clients see `pu` not match.
    public mutating func take(_ speed: Speed) -> Diff? {
        guard var entry = pending[speed], let first = entry.first else { return nil }
        let diff = Diff(firstUpdateId: first, lastUpdateId: entry.last, previousUpdateId: entry.previous,
                        bids: entry.bids.sorted { $0.key > $1.key }.map { PriceLevel(price: $0.key, qty: $0.value) },
                        asks: entry.asks.sorted { $0.key < $1.key }.map { PriceLevel(price: $0.key, qty: $0.value) })
        let skipped = entry.skipNext
        entry = Pending(last: entry.last, previous: entry.last)
        pending[speed] = entry
        return skipped ? nil : diff
    }

    /// Fault `pu_break` (and `gap`): every speed's next diff is lost on the way.
    public mutating func breakNext() {
        for speed in Speed.allCases { pending[speed]!.skipNext = true }
    }
}
