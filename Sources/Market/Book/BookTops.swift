/// The best levels of each side of a book, copied flat: what a simulated venue keeps of the last book
/// for orders arriving between book events. `OrderBook.copyTops(limit:into:)` refills it in place,
/// reusing its storage, so keeping the touch of every book event allocates nothing.
public struct BookTops: Sendable {
    /// Bids best first (descending keys), asks best first (ascending keys); keys are prices in units of
    /// `10^-priceScale`.
    @usableFromInline var bidKeys: [Int64] = []
    @usableFromInline var bidSizes: [Quantity] = []
    @usableFromInline var askKeys: [Int64] = []
    @usableFromInline var askSizes: [Quantity] = []
    @usableFromInline var priceScale: UInt8 = 0

    public init() {}

    public var bestBid: Price? { bidKeys.first.map { Price(mantissa: $0, scale: priceScale) } }
    public var bestAsk: Price? { askKeys.first.map { Price(mantissa: $0, scale: priceScale) } }

    /// How many levels of `side` are kept.
    public func count(_ side: BookSide) -> Int { side == .bid ? bidKeys.count : askKeys.count }

    /// The size kept at `price` on `side`: zero when no kept level has that price (off the grid, or
    /// deeper than the levels kept).
    public func size(_ side: BookSide, at price: Price) -> Quantity {
        guard price.mantissa >= 0, let key = price.units(atScale: priceScale) else { return .zero }
        let keys = side == .bid ? bidKeys : askKeys
        // Best first: bids descend, asks ascend; the first level at or past the price is the only candidate.
        guard let index = side == .bid ? keys.firstIndex(where: { $0 <= key }) : keys.firstIndex(where: { $0 >= key }),
              keys[index] == key
        else { return .zero }
        return side == .bid ? bidSizes[index] : askSizes[index]
    }

    /// The kept levels of `side`, best first.
    public func levels(_ side: BookSide) -> [PriceLevel] {
        let (keys, sizes) = side == .bid ? (bidKeys, bidSizes) : (askKeys, askSizes)
        return zip(keys, sizes).map { PriceLevel(price: Price(mantissa: $0, scale: priceScale), qty: $1) }
    }
}

extension OrderBook {
    /// Writes the best `limit` levels of each side into `tops`, replacing what it held.
    public func copyTops(limit: Int, into tops: inout BookTops) {
        tops.priceScale = priceScale
        bidLadder.copyBest(limit, negate: false, keys: &tops.bidKeys, sizes: &tops.bidSizes)
        askLadder.copyBest(limit, negate: true, keys: &tops.askKeys, sizes: &tops.askSizes)
    }
}

extension Ladder {
    /// The best `limit` levels, best first, into `keys` and `sizes` (their storage reused); `negate`
    /// turns the asks' stored keys back into prices.
    func copyBest(_ limit: Int, negate: Bool, keys outKeys: inout [Int64], sizes outSizes: inout [Quantity]) {
        let n = Swift.min(Swift.max(limit, 0), count)
        outKeys.removeAll(keepingCapacity: true)
        outSizes.removeAll(keepingCapacity: true)
        outKeys.reserveCapacity(n)
        outSizes.reserveCapacity(n)
        let sign: Int64 = negate ? -1 : 1
        var left = n
        for block in order.reversed() {
            guard left > 0 else { break }
            let base = block &* Ladder.blockCapacity
            let taken = Swift.min(left, counts[block])
            let top = base &+ counts[block]
            keys.withUnsafeBufferPointer { keys in
                for slot in stride(from: top &- 1, through: top &- taken, by: -1) { outKeys.append(sign &* keys[slot]) }
            }
            sizes.withUnsafeBufferPointer { sizes in
                for slot in stride(from: top &- 1, through: top &- taken, by: -1) { outSizes.append(sizes[slot]) }
            }
            left &-= taken
        }
    }
}
