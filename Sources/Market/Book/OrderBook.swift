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
/// formatting a key back gives the exchange's own string). Each side is a sorted contiguous array
/// whose best level is at the end, so the common change — near the touch — touches the end of the
/// array; books of thousands of levels stay correct with binary search.
public struct OrderBook: Sendable, Equatable {
    public private(set) var priceScale: UInt8 = 0
    @usableFromInline var bidLadder = Ladder()
    /// Asks are stored under negated keys, so both ladders ascend towards their best level.
    @usableFromInline var askLadder = Ladder()

    public init() {}

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

    @inlinable
    mutating func key(for price: Price) throws(BookError) -> Int64 {
        if price.mantissa < 0 { throw .negativePrice(price) }
        if price.scale <= priceScale, let key = price.units(atScale: priceScale) { return key }
        try accommodate(price)
        guard let key = price.units(atScale: priceScale) else { throw .priceOutOfRange(price) }
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
        priceScale = needed
    }

    // MARK: Reading

    @inlinable
    func price(ofKey key: Int64) -> Price { Price(mantissa: key, scale: priceScale) }

    public var bestBid: PriceLevel? {
        guard let last = bidLadder.keys.last else { return nil }
        return PriceLevel(price: price(ofKey: last), qty: bidLadder.sizes[bidLadder.count - 1])
    }

    public var bestAsk: PriceLevel? {
        guard let last = askLadder.keys.last else { return nil }
        return PriceLevel(price: price(ofKey: -last), qty: askLadder.sizes[askLadder.count - 1])
    }

    /// The best `limit` levels of `side`, best first.
    public func levels(_ side: BookSide, limit: Int = .max) -> [PriceLevel] {
        let ladder = side == .bid ? bidLadder : askLadder
        let sign: Int64 = side == .bid ? 1 : -1
        let n = Swift.min(Swift.max(limit, 0), ladder.count)
        var result: [PriceLevel] = []
        result.reserveCapacity(n)
        var index = ladder.count - 1
        while result.count < n {
            result.append(PriceLevel(price: price(ofKey: sign * ladder.keys[index]), qty: ladder.sizes[index]))
            index -= 1
        }
        return result
    }

    /// The size resting at `price` on `side` (zero when there is no level).
    public func size(_ side: BookSide, at price: Price) -> Quantity {
        guard let key = price.units(atScale: priceScale) else { return .zero }
        let ladder = side == .bid ? bidLadder : askLadder
        let (found, index) = ladder.search(side == .bid ? key : -key)
        return found ? ladder.sizes[index] : .zero
    }

    /// Best bid at or above best ask: the book cannot be trusted.
    public var isCrossed: Bool {
        guard let bid = bidLadder.keys.last, let ask = askLadder.keys.last else { return false }
        return bid >= -ask
    }

    /// Best ask minus best bid.
    public var spread: Price? {
        guard let bid = bestBid, let ask = bestAsk else { return nil }
        return ask.price - bid.price
    }

    /// (best bid + best ask) / 2, exact (one more decimal than the grid when needed).
    public var mid: Price? {
        guard let bid = bidLadder.keys.last, let ask = askLadder.keys.last else { return nil }
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

/// One side of the book: keys ascending so the best level is last; sizes parallel to keys.
@usableFromInline
struct Ladder: Sendable, Equatable {
    @usableFromInline var keys: [Int64] = []
    @usableFromInline var sizes: [Quantity] = []

    @usableFromInline init() {}

    @inlinable var count: Int { keys.count }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        sizes.removeAll(keepingCapacity: true)
    }

    /// Finds `key`: whether it is present and the index where it is, or would be inserted.
    /// Checks the few levels nearest the touch first, then bisects.
    @inlinable
    func search(_ key: Int64) -> (found: Bool, index: Int) {
        keys.withUnsafeBufferPointer { keys in
            var high = keys.count
            // Near the touch: a short scan from the best end.
            var probes = 0
            while high > 0 && probes < 8 {
                let candidate = keys[high - 1]
                if candidate == key { return (true, high - 1) }
                if candidate < key { return (false, high) }
                high -= 1
                probes += 1
            }
            var low = 0
            while low < high {
                let middle = (low &+ high) >> 1
                let candidate = keys[middle]
                if candidate < key {
                    low = middle + 1
                } else if candidate > key {
                    high = middle
                } else {
                    return (true, middle)
                }
            }
            return (false, low)
        }
    }

    @inlinable
    mutating func set(key: Int64, qty: Quantity) {
        let (found, index) = search(key)
        if qty.mantissa == 0 {
            if found {
                keys.remove(at: index)
                sizes.remove(at: index)
            }
        } else if found {
            sizes[index] = qty
        } else if index == keys.count {
            keys.append(key)
            sizes.append(qty)
        } else {
            keys.insert(key, at: index)
            sizes.insert(qty, at: index)
        }
    }

    mutating func rebuild(from levels: [PriceLevel], scale: UInt8, negate: Bool) throws(BookError) {
        removeAll()
        var pairs: [(key: Int64, qty: Quantity)] = []
        pairs.reserveCapacity(levels.count)
        for level in levels where !level.qty.isZero {
            if level.qty.mantissa < 0 { throw .negativeQuantity(price: level.price, qty: level.qty) }
            guard let key = level.price.units(atScale: scale) else { throw .priceOutOfRange(level.price) }
            pairs.append((negate ? -key : key, level.qty))
        }
        // Stable sort keeps the last size given for a repeated price at the end of its run.
        var sorted = true
        for index in pairs.indices.dropFirst() where pairs[index - 1].key >= pairs[index].key {
            sorted = false
            break
        }
        if !sorted {
            let order = pairs.indices.sorted { pairs[$0].key < pairs[$1].key || (pairs[$0].key == pairs[$1].key && $0 < $1) }
            pairs = order.map { pairs[$0] }
        }
        keys.reserveCapacity(pairs.count)
        sizes.reserveCapacity(pairs.count)
        for pair in pairs {
            if let last = keys.last, last == pair.key {
                sizes[sizes.count - 1] = pair.qty
            } else {
                keys.append(pair.key)
                sizes.append(pair.qty)
            }
        }
    }

    mutating func keepBest(_ depth: Int) {
        let excess = keys.count - Swift.max(depth, 0)
        guard excess > 0 else { return }
        keys.removeFirst(excess)
        sizes.removeFirst(excess)
    }

    func canMultiplyKeys(by factor: Int64) -> Bool {
        guard let first = keys.first, let last = keys.last else { return true }
        return !first.multipliedReportingOverflow(by: factor).overflow
            && !last.multipliedReportingOverflow(by: factor).overflow
    }

    mutating func multiplyKeys(by factor: Int64) {
        for index in keys.indices { keys[index] *= factor }
    }

    func totalSize(best depth: Int) -> Quantity {
        var total = Quantity.zero
        var index = keys.count - 1
        var taken = 0
        while index >= 0 && taken < depth {
            total += sizes[index]
            index -= 1
            taken += 1
        }
        return total
    }
}
