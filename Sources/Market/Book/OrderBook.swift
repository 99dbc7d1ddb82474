/// Why the book refused a change.
public enum BookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The price cannot be represented as integer units of the book's price grid in 64 bits.
    case priceOutOfRange(Price)
    case negativeQuantity(price: Price, qty: Quantity)
    case negativePrice(Price)

    public var description: String {
        switch self {
        case .priceOutOfRange(let price): return "price \(price) does not fit the book's integer price grid"
        case .negativeQuantity(let price, let qty): return "negative quantity \(qty) at price \(price)"
        case .negativePrice(let price): return "negative price \(price)"
        }
    }
}

/// An L2 order book: aggregated size per price level, both sides sorted, keyed by integer ticks.
///
/// A level's key is its price in units of `10^-priceScale`, where `priceScale` is the largest number
/// of decimals the exchange has written a price with (so keys are exact ticks of the finest grid the exchange uses, and
/// formatting a key back gives the exchange's own string). Each side is a `Ladder` of sorted blocks
/// whose best level comes last, so a change near the touch stays in the last block and a change deep
/// in a book of thousands of levels moves at most one block.
public struct OrderBook: Sendable {
    /// Both sides and the grid in one box. Every market event carries a copy of its book: a copy of the box
    /// is one word and one reference count, where the sides themselves were 240 bytes and sixteen arrays
    /// to count. A change first makes the box this book's own (copy on write), so a book is still a value.
    @usableFromInline
    final class Sides: @unchecked Sendable {
        // Unchecked: a box is changed only through the one book that holds it (`makeUnique()` first) and
        // read while shared, so accesses never overlap; the compiler would otherwise check each one at run time.
        @exclusivity(unchecked) @usableFromInline var bid: Ladder
        /// Asks are stored under negated keys, so both ladders ascend towards their best level.
        @exclusivity(unchecked) @usableFromInline var ask: Ladder
        @exclusivity(unchecked) @usableFromInline var priceScale: UInt8

        @usableFromInline
        init(bid: Ladder, ask: Ladder, priceScale: UInt8) {
            self.bid = bid
            self.ask = ask
            self.priceScale = priceScale
        }
    }

    @usableFromInline var sides = Sides(bid: Ladder(), ask: Ladder(), priceScale: 0)

    public init() {}

    public var priceScale: UInt8 { sides.priceScale }

    @usableFromInline var bidLadder: Ladder {
        @inlinable _read { yield sides.bid }
        @inlinable _modify {
            makeUnique()
            yield &sides.bid
        }
    }

    @usableFromInline var askLadder: Ladder {
        @inlinable _read { yield sides.ask }
        @inlinable _modify {
            makeUnique()
            yield &sides.ask
        }
    }

    /// The box is this book's own before any change: copied when another book (an event's) shares it.
    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&sides) { sides = Sides(bid: sides.bid, ask: sides.ask, priceScale: sides.priceScale) }
    }

    public var bidCount: Int { bidLadder.count }
    public var askCount: Int { askLadder.count }
    public var isEmpty: Bool { bidLadder.count == 0 && askLadder.count == 0 }

    // MARK: Changes

    /// Empties both sides.
    public mutating func clear() {
        bidLadder.removeAll()
        askLadder.removeAll()
    }

    /// Applies a snapshot (replaces the book) or a delta (sets absolute sizes; zero deletes).
    public mutating func apply(_ update: DepthUpdate) throws(BookError) {
        if update.kind == .snapshot {
            try replace(bids: update.bids, asks: update.asks)
        } else {
            for level in update.bids { try set(.bid, price: level.price, qty: level.qty) }
            for level in update.asks { try set(.ask, price: level.price, qty: level.qty) }
        }
    }

    /// Replaces the whole book with these levels (zero sizes are skipped; a repeated price keeps
    /// the last size given).
    public mutating func replace(bids: [PriceLevel], asks: [PriceLevel]) throws(BookError) {
        for level in bids { try accommodate(level.price) }
        for level in asks { try accommodate(level.price) }
        try bidLadder.rebuild(from: bids, scale: priceScale, negate: false)
        try askLadder.rebuild(from: asks, scale: priceScale, negate: true)
    }

    /// Sets the absolute size at one price; a zero size deletes the level (absent is fine).
    @inlinable
    public mutating func set(_ side: BookSide, price: Price, qty: Quantity) throws(BookError) {
        if qty.mantissa < 0 { throw .negativeQuantity(price: price, qty: qty) }
        let key = try key(for: price)
        if side == .bid {
            bidLadder.set(key: key, qty: qty)
        } else {
            askLadder.set(key: -key, qty: qty)
        }
    }

    /// Keeps the best `depth` levels of each side, dropping the rest.
    public mutating func truncate(depth: Int) {
        bidLadder.keepBest(depth)
        askLadder.keepBest(depth)
    }

    /// The largest key magnitude a book holds, so two keys subtract without overflow.
    @usableFromInline static let maxKey: Int64 = 1 << 62

    @inlinable
    mutating func key(for price: Price) throws(BookError) -> Int64 {
        if price.mantissa < 0 { throw .negativePrice(price) }
        if price.scale <= priceScale, let key = price.units(atScale: priceScale), key < OrderBook.maxKey { return key }
        try accommodate(price)
        guard let key = price.units(atScale: priceScale), key < OrderBook.maxKey else { throw .priceOutOfRange(price) }
        return key
    }

    /// Widens the price grid when a price is written with more decimals than the book has seen
    /// (so `"61659.70"` keeps its two decimals when formatted back).
    @usableFromInline
    mutating func accommodate(_ price: Price) throws(BookError) {
        let needed = price.scale
        guard needed > priceScale else {
            if price.units(atScale: priceScale) == nil { throw .priceOutOfRange(price) }
            return
        }
        let factor = FixedDecimal.pow10(Int(needed - priceScale))
        guard bidLadder.canMultiplyKeys(by: factor), askLadder.canMultiplyKeys(by: factor),
              price.units(atScale: needed) != nil
        else { throw .priceOutOfRange(price) }
        bidLadder.multiplyKeys(by: factor)
        askLadder.multiplyKeys(by: factor)
        makeUnique()
        sides.priceScale = needed
    }

    // MARK: Reading

    @inlinable
    func price(ofKey key: Int64) -> Price { Price(mantissa: key, scale: priceScale) }

    public var bestBid: PriceLevel? {
        guard let key = bidLadder.bestKey, let size = bidLadder.bestSize else { return nil }
        return PriceLevel(price: price(ofKey: key), qty: size)
    }

    public var bestAsk: PriceLevel? {
        guard let key = askLadder.bestKey, let size = askLadder.bestSize else { return nil }
        return PriceLevel(price: price(ofKey: -key), qty: size)
    }

    /// The best `limit` levels of `side`, best first.
    public func levels(_ side: BookSide, limit: Int = .max) -> [PriceLevel] {
        let ladder = side == .bid ? bidLadder : askLadder
        let sign: Int64 = side == .bid ? 1 : -1
        let n = Swift.min(Swift.max(limit, 0), ladder.count)
        var result: [PriceLevel] = []
        result.reserveCapacity(n)
        ladder.forEachFromBest { key, size in
            guard result.count < n else { return false }
            result.append(PriceLevel(price: price(ofKey: sign * key), qty: size))
            return true
        }
        return result
    }

    /// The size resting at `price` on `side` (zero when there is no level).
    public func size(_ side: BookSide, at price: Price) -> Quantity {
        guard let key = price.units(atScale: priceScale) else { return .zero }
        let ladder = side == .bid ? bidLadder : askLadder
        return ladder.size(at: side == .bid ? key : -key) ?? .zero
    }

    /// Best bid at or above best ask: the book cannot be trusted.
    public var isCrossed: Bool {
        guard let bid = bidLadder.bestKey, let ask = askLadder.bestKey else { return false }
        return bid >= -ask
    }

    /// Best ask minus best bid.
    public var spread: Price? {
        guard let bid = bestBid, let ask = bestAsk else { return nil }
        return ask.price - bid.price
    }

    /// (best bid + best ask) / 2, exact (one more decimal than the grid when needed).
    public var mid: Price? {
        guard let bid = bidLadder.bestKey, let ask = askLadder.bestKey else { return nil }
        let sum = Int128(bid) - Int128(ask)
        if sum % 2 == 0, let mantissa = Int64(exactly: sum / 2) {
            return Price(mantissa: mantissa, scale: priceScale)
        }
        guard priceScale < FixedDecimal.maxScale, let mantissa = Int64(exactly: sum * 5) else { return nil }
        return Price(mantissa: mantissa, scale: priceScale + 1)
    }

    /// Size-weighted mid of the touch, `(bid·askQty + ask·bidQty) / (bidQty + askQty)`, rounded
    /// half-even to `extraDecimals` beyond the price grid.
    public func microprice(extraDecimals: UInt8 = 4) -> Price? {
        guard let bid = bestBid, let ask = bestAsk else { return nil }
        let totalQty = bid.qty + ask.qty
        guard !totalQty.isZero,
              let weightedBid = bid.price.multipliedReportingOverflow(by: ask.qty),
              let weightedAsk = ask.price.multipliedReportingOverflow(by: bid.qty),
              let numerator = weightedBid.addingReportingOverflow(weightedAsk)
        else { return nil }
        let scale = Swift.min(FixedDecimal.maxScale, priceScale + extraDecimals)
        return numerator.divided(by: totalQty, scale: scale, rounding: .halfEven)
    }

    /// Order-book imbalance over the best `depth` levels: (bidQty − askQty) / (bidQty + askQty),
    /// in [-1, 1]; a signal for analytics, hence `Double`.
    public func imbalance(depth: Int = 1) -> Double? {
        let bidQty = bidLadder.totalSize(best: depth)
        let askQty = askLadder.totalSize(best: depth)
        let total = bidQty + askQty
        guard !total.isZero else { return nil }
        return (bidQty - askQty).doubleValue / total.doubleValue
    }
}

extension OrderBook: Equatable {
    /// Same levels on both sides, whatever price grid each book reached them on.
    public static func == (lhs: OrderBook, rhs: OrderBook) -> Bool {
        if lhs.priceScale == rhs.priceScale { return lhs.bidLadder == rhs.bidLadder && lhs.askLadder == rhs.askLadder }
        return lhs.levels(.bid) == rhs.levels(.bid) && lhs.levels(.ask) == rhs.levels(.ask)
    }
}
