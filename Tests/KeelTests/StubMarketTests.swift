import Market
import Service
import Testing

/// `DATA_SOURCE=stub`: deterministic, and a book rebuilt from its deltas is always its own truth.
struct StubMarketTests {
    @Test func theSameSeedGivesTheSameEventsAndAnotherSeedDoesNot() {
        func run(_ seed: UInt64) -> [String] {
            var configuration = StubMarket.Configuration(symbols: ["BTCUSDT", "ETHUSDT"])
            configuration.seed = seed
            var market = StubMarket(configuration: configuration)
            var out = market.snapshots(at: 0).map { "\($0)" }
            for step in 1 ... 200 {
                let (depth, trades) = market.step(at: Int64(step))
                out += depth.map { "\($0)" } + trades.map { "\($0)" }
            }
            return out
        }
        #expect(run(7) == run(7))
        #expect(run(7) != run(8))
    }

    @Test func deltasKeepTheBookExactUncrossedAndFull() throws {
        var market = StubMarket(configuration: .init(symbols: ["BTCUSDT"]))
        var book = OrderBook()
        try book.apply(market.snapshots(at: 0)[0])
        var trades = 0
        var previous = market.snapshots(at: 0)[0].lastUpdateId
        for step in 1 ... 2_000 {
            let (depth, printed) = market.step(at: Int64(step))
            let delta = depth[0]
            #expect(delta.previousUpdateId == previous)
            previous = delta.lastUpdateId
            try book.apply(delta)
            #expect(!book.isCrossed)
            for trade in printed {
                trades += 1
                // Trades print at the touch: buys at the ask, sells at the bid.
                #expect(trade.price == (trade.aggressor == .buy ? book.bestAsk?.price : book.bestBid?.price))
            }
        }
        // The book built from 2,000 deltas equals a fresh snapshot, level for level.
        var truth = OrderBook()
        try truth.apply(market.snapshots(at: 0)[0])
        #expect(book.levels(.bid) == truth.levels(.bid))
        #expect(book.levels(.ask) == truth.levels(.ask))
        #expect(book.bidCount == 25 && book.askCount == 25)
        #expect(trades > 500 && trades < 1_100)
    }
}
