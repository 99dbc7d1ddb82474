/// The best levels of each side of a book, copied flat: what a simulated venue keeps of the last book
/// for orders arriving between book events. `OrderBook.copyTops(limit:into:)` refills it in place,
/// reusing its storage, so keeping the touch of every book event allocates nothing;
/// `copyTops(limit:bidsThrough:asksThrough:into:)` copies each side only as deep as the prices asked for.
public struct BookTops: Sendable {
    /// Bids best first (descending keys), asks best first (ascending keys); keys are prices in units of
    /// `10^-priceScale`.
    @usableFromInline var bidKeys: [Int64] = []
    @usableFromInline var bidSizes: [Quantity] = []
    @usableFromInline var askKeys: [Int64] = []
    @usableFromInline var askSizes: [Quantity] = []
    @usableFromInline var priceScale: UInt8 = 0
    /// A side copied only as deep as a price asked for, with more levels behind the last one kept: past
    /// that level the book is not known (`covers`).
    @usableFromInline var bidsCut = false
    @usableFromInline var asksCut = false

    public init() {}

    /// Whether `size(side, at: price)` answers for the book: the side was copied to its full depth, or
    /// the price is no deeper than the last level kept.
    public func covers(_ side: BookSide, _ price: Price) -> Bool {
        let (cut, last) = side == .bid ? (bidsCut, bidKeys.last) : (asksCut, askKeys.last)
        guard cut else { return true }
        guard let last, price.mantissa >= 0, let key = price.units(atScale: priceScale) else { return false }
        return side == .bid ? key >= last : key <= last
    }

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
        tops.bidsCut = false
        tops.asksCut = false
    }

    /// Like `copyTops(limit:into:)`, each side only as deep as a price asked for: the bids down to
    /// `bidsThrough`, the asks up to `asksThrough` (every level at that price or better, at most `limit`),
    /// the best level at least; nil: the best level only. `tops.covers` then says which prices it answers for.
    public func copyTops(limit: Int, bidsThrough bid: Price?, asksThrough ask: Price?, into tops: inout BookTops) {
        tops.priceScale = priceScale
        tops.bidsCut = bidLadder.copyBest(limit, through: storedKey(bid, negate: false), negate: false, keys: &tops.bidKeys, sizes: &tops.bidSizes)
        tops.asksCut = askLadder.copyBest(limit, through: storedKey(ask, negate: true), negate: true, keys: &tops.askKeys, sizes: &tops.askSizes)
    }

    /// A side's bound as its ladder stores keys (better is higher): nil → above every level (the best
    /// only); a price off the book's grid → below every level (the whole depth).
    private func storedKey(_ price: Price?, negate: Bool) -> Int64 {
        guard let price else { return .max }
        guard price.mantissa >= 0, let units = price.units(atScale: priceScale) else { return .min }
        return negate ? -units : units
    }
}
