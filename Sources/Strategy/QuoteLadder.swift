import Market

/// One order the strategy wants resting.
public struct DesiredQuote: Sendable, Equatable {
    public var side: Side
    public var level: Int
    public var price: Price
    public var qty: Quantity

    public init(side: Side, level: Int, price: Price, qty: Quantity) {
        self.side = side
        self.level = level
        self.price = price
        self.qty = qty
    }
}

/// Puts the model's depths on the exchange's grid: `levels` a side, `spacingTicks` apart, prices
/// rounded to the tick away from the touch (bids down, asks up) and kept post-only (a bid below the
/// best ask, an ask above the best bid), sizes rounded down to the lot and dropped below the minimum,
/// capped at the largest order, and trimmed so that every bid (ask) filling could not take the
/// position past ± `maxPosition`. Pure and exact: only the depths are `Double`.
public struct QuoteLadder: Sendable, Equatable {
    public struct Shape: Sendable, Equatable {
        public var levels = 1
        public var spacingTicks: Int64 = 1
        /// Sizes from the touch outwards; the last repeats for further levels.
        public var sizes: [Quantity]
        public var maxOrderQty: Quantity?
        public var maxPosition: Quantity?

        public init(sizes: [Quantity]) {
            self.sizes = sizes
        }
    }

    public var bids: [DesiredQuote]
    public var asks: [DesiredQuote]

    public init(bids: [DesiredQuote] = [], asks: [DesiredQuote] = []) {
        self.bids = bids
        self.asks = asks
    }

    public var all: [DesiredQuote] { bids + asks }

    /// `mid` exact; `bestBid` / `bestAsk` the touch (for post-only); `position` signed.
    public static func build(depths: QuoteModel.Depths, mid: Price, bestBid: Price?, bestAsk: Price?, instrument: Instrument,
                             shape: Shape, position: Quantity, sides: Set<Side> = [.buy, .sell]) -> QuoteLadder {
        let tick = instrument.tickSize
        guard tick.mantissa > 0, let midTicks = mid.divided(by: tick, scale: 1, rounding: .halfEven)?.doubleValue else { return QuoteLadder() }
        func price(ticks: Int64) -> Price { Price(mantissa: ticks * tick.mantissa, scale: tick.scale) }
        func ticks(of price: Price) -> Int64? { price.divided(by: tick, scale: 0, rounding: .floor).map { $0.mantissa } }
        // The touch of the first level, on the grid, away from the mid.
        var bidTop = Int64((midTicks - depths.bidTicks).rounded(.down))
        var askTop = Int64((midTicks + depths.askTicks).rounded(.up))
        if let bestAsk, let limit = ticks(of: bestAsk) { bidTop = min(bidTop, limit - 1) }
        if let bestBid, let limit = ticks(of: bestBid) { askTop = max(askTop, limit + 1) }
        if askTop <= bidTop { askTop = bidTop + 1 }
        var ladder = QuoteLadder()
        var roomLong = shape.maxPosition.map { $0 - position }
        var roomShort = shape.maxPosition.map { $0 + position }
        for level in 0 ..< max(0, shape.levels) {
            guard var size = shape.sizes.isEmpty ? nil : shape.sizes[min(level, shape.sizes.count - 1)] else { break }
            if let cap = shape.maxOrderQty, size > cap { size = cap }
            let offset = Int64(level) * max(1, shape.spacingTicks)
            let bid = price(ticks: bidTop - offset), ask = price(ticks: askTop + offset)
            if sides.contains(.buy), bidTop - offset > 0, let qty = fit(size, at: bid, room: &roomLong, instrument) {
                ladder.bids.append(DesiredQuote(side: .buy, level: level, price: bid, qty: qty))
            }
            if sides.contains(.sell), let qty = fit(size, at: ask, room: &roomShort, instrument) {
                ladder.asks.append(DesiredQuote(side: .sell, level: level, price: ask, qty: qty))
            }
        }
        return ladder
    }

    /// `size` within the room left to the position limit, on the lot grid; `nil` below the minimum
    /// quantity or, at `price`, the minimum notional.
    private static func fit(_ size: Quantity, at price: Price, room: inout Quantity?, _ instrument: Instrument) -> Quantity? {
        var wanted = size
        if let left = room {
            guard left > .zero else { return nil }
            if wanted > left { wanted = left }
        }
        guard let qty = instrument.tradableQuantity(wanted), instrument.meetsMinimumNotional(price: price, qty: qty) else { return nil }
        if let left = room { room = left - qty }
        return qty
    }
}
