import Bybit
import Market

/// What one `orderbook.{depth}.{symbol}` topic has published, and what it publishes next.
///
/// Each call to `publish` compares the engine's current best `depth` levels with the levels last
/// published: a change becomes one delta with `u` one higher, carrying the new sizes and a `"0"` for
/// every level that left the top `depth` — so a client applying the deltas keeps exactly `depth`
/// levels. A new subscriber starts from `snapshot()`, the last published state at the current `u`.
/// Depth 1 is snapshot-only and re-sent unchanged every `resendInterval`. Pure.
public struct BookTopicPublisher: Sendable {
    public let topic: BybitBookTopic
    public let depth: Int
    /// Starts well above 1: on Bybit, `u == 1` means a service restart, which only the `restart` fault sends.
    public private(set) var updateId: Int64 = BookTopicPublisher.firstUpdateId - 1
    public static let firstUpdateId: Int64 = 100_001
    public private(set) var bids: [PriceLevel] = []
    public private(set) var asks: [PriceLevel] = []
    private var lastSent: Int64 = 0
    private var published = false
    private var skipNext = false
    /// Depth 1 re-sends its snapshot this often when nothing changed (Bybit: 3 s).
    public var resendInterval: Int64 = 3_000_000_000

    public init(topic: BybitBookTopic) {
        self.topic = topic
        depth = topic.depth ?? 1_000
    }

    /// A message for subscribers, and whether any subscriber should get it (`false` for a skipped delta).
    public struct Message: Sendable, Equatable {
        public var kind: DepthUpdate.Kind
        public var bids: [PriceLevel]
        public var asks: [PriceLevel]
        public var updateId: Int64
        public var deliver: Bool
    }

    /// The state a new subscriber starts from.
    public func snapshot() -> Message {
        Message(kind: .snapshot, bids: bids, asks: asks, updateId: updateId, deliver: true)
    }

    /// Compares the current book with the last published one; `nil` when nothing is to be sent.
    public mutating func publish(bids currentBids: [PriceLevel], asks currentAsks: [PriceLevel], now: Int64) -> Message? {
        let newBids = Array(currentBids.prefix(depth))
        let newAsks = Array(currentAsks.prefix(depth))
        let changedBids = BookTopicPublisher.changes(from: bids, to: newBids, descending: true)
        let changedAsks = BookTopicPublisher.changes(from: asks, to: newAsks, descending: false)
        if changedBids.isEmpty && changedAsks.isEmpty {
            guard depth == 1, published, now - lastSent >= resendInterval else { return nil }
            lastSent = now
            return snapshot()
        }
        bids = newBids
        asks = newAsks
        updateId += 1
        lastSent = now
        published = true
        let deliver = !skipNext
        skipNext = false
        if depth == 1 { return Message(kind: .snapshot, bids: bids, asks: asks, updateId: updateId, deliver: deliver) }
        return Message(kind: .delta, bids: changedBids, asks: changedAsks, updateId: updateId, deliver: deliver)
    }

    /// Fault `gap`: the next delta is counted but sent to nobody, so clients see `u` jump.
    public mutating func skipNextDelta() {
        skipNext = true
    }

    /// Fault `restart`: Bybit restarted its service; the topic starts again at `u == 1` with a snapshot.
    public mutating func restart(now: Int64) -> Message {
        updateId = 1
        lastSent = now
        return snapshot()
    }

    /// Levels whose size changed between two best-first lists, deletions as size 0, best first:
    /// one merge over both sorted lists.
    static func changes(from old: [PriceLevel], to new: [PriceLevel], descending: Bool) -> [PriceLevel] {
        var result: [PriceLevel] = []
        var i = 0
        var j = 0
        let zero = Quantity(mantissa: 0, scale: 0)
        while i < old.count || j < new.count {
            if j == new.count {
                result.append(PriceLevel(price: old[i].price, qty: zero))
                i += 1
            } else if i == old.count {
                result.append(new[j])
                j += 1
            } else if old[i].price == new[j].price {
                if old[i].qty != new[j].qty { result.append(new[j]) }
                i += 1
                j += 1
            } else if (old[i].price > new[j].price) == descending {
                // `old[i]` is better than anything left in `new`: it left the book.
                result.append(PriceLevel(price: old[i].price, qty: zero))
                i += 1
            } else {
                result.append(new[j])
                j += 1
            }
        }
        return result
    }
}
