import Market

/// `DATA_SOURCE=stub`: a deterministic market for tests and dry runs — the same seed gives the same
/// events, byte for byte. Each symbol has a ladder of `levels` a side, one tick apart, around a mid
/// that walks by a tick; every step changes a few sizes, may move the mid, and may print a trade at
/// the touch. Steps come out as exchange-shaped depth deltas (changed levels, removed ones at size 0)
/// after an initial snapshot, so the bot's book code is exercised exactly as on a live feed. Pure:
/// time comes in with each call.
public struct StubMarket: Sendable {
    public struct Configuration: Sendable {
        public var symbols: [String]
        public var seed: UInt64 = 42
        public var levels = 25
        /// The first mid of each symbol: BTC 50,000, ETH 3,000, anything else 100.
        public var tickSize = Price(mantissa: 1, scale: 1)
        public var lotSize = Quantity(mantissa: 1, scale: 3)

        public init(symbols: [String]) {
            self.symbols = symbols
        }
    }

    private struct Ladder: Sendable {
        var bestBidTick: Int64
        var bids: [Int64: Int64] = [:]   // tick → lots
        var asks: [Int64: Int64] = [:]
        var updateId: Int64 = 100_000
        var trades = 0
    }

    public let configuration: Configuration
    private var random: SeededRandom
    private var ladders: [Ladder]

    public init(configuration: Configuration) {
        self.configuration = configuration
        random = SeededRandom(seed: configuration.seed)
        ladders = configuration.symbols.map { symbol in
            let mid: Int64 = symbol.hasPrefix("BTC") ? 500_000 : symbol.hasPrefix("ETH") ? 30_000 : 1_000
            return Ladder(bestBidTick: mid)
        }
        for index in ladders.indices { rebuild(index, changes: configuration.levels * 2) }
    }

    /// One snapshot per symbol: what a subscriber gets first.
    public func snapshots(at time: Int64) -> [DepthUpdate] {
        ladders.indices.map { index in
            let ladder = ladders[index]
            return DepthUpdate(symbol: configuration.symbols[index], kind: .snapshot,
                               bids: levels(ladder.bids, descending: true), asks: levels(ladder.asks, descending: false),
                               firstUpdateId: ladder.updateId, lastUpdateId: ladder.updateId, exchangeTime: time, receiveTime: time)
        }
    }

    /// One step for every symbol: a delta each, and a trade when one printed.
    public mutating func step(at time: Int64) -> (depth: [DepthUpdate], trades: [TradeTick]) {
        var depth: [DepthUpdate] = []
        var trades: [TradeTick] = []
        for index in ladders.indices {
            let before = ladders[index]
            let roll = random.unit()
            if roll < 0.15 { ladders[index].bestBidTick += 1 } else if roll < 0.30 { ladders[index].bestBidTick -= 1 }
            rebuild(index, changes: 3)
            ladders[index].updateId += 1
            let after = ladders[index]
            let symbol = configuration.symbols[index]
            depth.append(DepthUpdate(symbol: symbol, kind: .delta,
                                     bids: difference(before.bids, after.bids, descending: true),
                                     asks: difference(before.asks, after.asks, descending: false),
                                     firstUpdateId: after.updateId, lastUpdateId: after.updateId,
                                     previousUpdateId: before.updateId, exchangeTime: time, receiveTime: time))
            if random.unit() < 0.4 {
                let buy = random.unit() < 0.5
                let tick = buy ? after.bestBidTick + 1 : after.bestBidTick
                let lots = Int64(1 + random.next() % 50)
                ladders[index].trades += 1
                trades.append(TradeTick(symbol: symbol, price: price(tick), qty: quantity(lots), aggressor: buy ? .buy : .sell,
                                        tradeId: "stub-\(symbol)-\(ladders[index].trades)", exchangeTime: time, receiveTime: time))
            }
        }
        return (depth, trades)
    }

    // MARK: The ladder

    /// The ladder around the current best bid (spread one tick), keeping sizes that stay and drawing
    /// new ones for new levels and for `changes` random levels.
    private mutating func rebuild(_ index: Int, changes: Int) {
        let count = configuration.levels
        let bestBid = ladders[index].bestBidTick
        var bids: [Int64: Int64] = [:]
        var asks: [Int64: Int64] = [:]
        for level in 0 ..< Int64(count) {
            bids[bestBid - level] = ladders[index].bids[bestBid - level] ?? lots()
            asks[bestBid + 1 + level] = ladders[index].asks[bestBid + 1 + level] ?? lots()
        }
        for _ in 0 ..< changes {
            let level = Int64(random.next() % UInt64(count))
            if random.unit() < 0.5 { bids[bestBid - level] = lots() } else { asks[bestBid + 1 + level] = lots() }
        }
        ladders[index].bids = bids
        ladders[index].asks = asks
    }

    private mutating func lots() -> Int64 { Int64(1 + random.next() % 2_000) }

    private func price(_ tick: Int64) -> Price { Price(mantissa: tick * configuration.tickSize.mantissa, scale: configuration.tickSize.scale) }
    private func quantity(_ lots: Int64) -> Quantity { Quantity(mantissa: lots * configuration.lotSize.mantissa, scale: configuration.lotSize.scale) }

    private func levels(_ side: [Int64: Int64], descending: Bool) -> [PriceLevel] {
        side.keys.sorted(by: descending ? (>) : (<)).map { PriceLevel(price: price($0), qty: quantity(side[$0]!)) }
    }

    /// Changed and new levels at their size, removed ones at size 0, in book order.
    private func difference(_ old: [Int64: Int64], _ new: [Int64: Int64], descending: Bool) -> [PriceLevel] {
        let ticks = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }
        return ticks.sorted(by: descending ? (>) : (<)).map { PriceLevel(price: price($0), qty: quantity(new[$0] ?? 0)) }
    }
}
