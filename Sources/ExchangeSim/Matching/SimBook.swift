import Market

/// One symbol's book of resting orders in price-time priority: per side, price levels sorted with
/// the best last, each a FIFO queue of order ids with its total open quantity.
struct SimBook: Sendable {
    struct Level: Sendable {
        /// Price in ticks; negated on the ask side so both sides ascend towards their best.
        var key: Int64
        var orderIds: [String]
        var total: Quantity
    }

    let instrument: Instrument
    var bids: [Level] = []
    var asks: [Level] = []

    init(instrument: Instrument) {
        self.instrument = instrument
    }

    /// The price in ticks, or `nil` when it is not on the tick grid.
    func ticks(_ price: Price) -> Int64? {
        guard price.mantissa > 0, let steps = price.divided(by: instrument.tickSize, scale: 0, rounding: .down),
              steps.multipliedReportingOverflow(by: instrument.tickSize) == price else { return nil }
        return steps.mantissa
    }

    func price(ofTicks ticks: Int64) -> Price {
        let tick = instrument.tickSize
        return Price(mantissa: ticks * tick.mantissa, scale: tick.scale)
    }

    private func key(_ ticks: Int64, _ side: Side) -> Int64 { side == .buy ? ticks : -ticks }

    private static func find(_ key: Int64, in levels: [Level]) -> (found: Bool, index: Int) {
        var low = 0
        var high = levels.count
        while low < high {
            let middle = (low + high) / 2
            if levels[middle].key < key { low = middle + 1 } else { high = middle }
        }
        return (low < levels.count && levels[low].key == key, low)
    }

    /// Appends a resting order at the back of its price level's queue.
    mutating func rest(orderId: String, side: Side, ticks: Int64, qty: Quantity) {
        let key = key(ticks, side)
        withLevels(side) { levels in
            let (found, index) = SimBook.find(key, in: levels)
            if found {
                levels[index].orderIds.append(orderId)
                levels[index].total += qty
            } else {
                levels.insert(Level(key: key, orderIds: [orderId], total: qty), at: index)
            }
        }
    }

    /// Takes `qty` of a resting order off its level (a fill or a reduction); removes the order from
    /// the queue when `removeOrder`.
    mutating func reduce(orderId: String, side: Side, ticks: Int64, by qty: Quantity, removeOrder: Bool) {
        let key = key(ticks, side)
        withLevels(side) { levels in
            let (found, index) = SimBook.find(key, in: levels)
            guard found else { return }
            levels[index].total -= qty
            if removeOrder, let position = levels[index].orderIds.firstIndex(of: orderId) {
                levels[index].orderIds.remove(at: position)
            }
            if levels[index].orderIds.isEmpty { levels.remove(at: index) }
        }
    }

    private mutating func withLevels(_ side: Side, _ body: (inout [Level]) -> Void) {
        if side == .buy { body(&bids) } else { body(&asks) }
    }

    /// The best level on `side`: its price in ticks and queue.
    func best(_ side: Side) -> (ticks: Int64, orderIds: [String])? {
        let levels = side == .buy ? bids : asks
        guard let level = levels.last else { return nil }
        return (side == .buy ? level.key : -level.key, level.orderIds)
    }

    /// Aggregated levels of `side`, best first.
    func depth(_ side: Side, limit: Int) -> [PriceLevel] {
        let levels = side == .buy ? bids : asks
        var result: [PriceLevel] = []
        for level in levels.reversed().prefix(limit) {
            result.append(PriceLevel(price: price(ofTicks: side == .buy ? level.key : -level.key), qty: level.total))
        }
        return result
    }

    /// Open quantity on `side` at prices a taker with `limitTicks` may take (all when `nil`).
    func available(_ side: Side, upTo limitTicks: Int64?) -> Quantity {
        let levels = side == .buy ? bids : asks
        var total = Quantity.zero
        for level in levels.reversed() {
            let ticks = side == .buy ? level.key : -level.key
            if let limitTicks, side == .buy ? ticks < limitTicks : ticks > limitTicks { break }
            total += level.total
        }
        return total
    }
}
