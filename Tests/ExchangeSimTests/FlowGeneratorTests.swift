import ExchangeSim
import Foundation
import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

private let btc = Instrument(symbol: "BTCUSDT", tickSize: d("0.10"), qtyStep: d("0.001"), minQty: d("0.001"))

@Suite(.offThePool)
struct FlowGeneratorTests {
    private func run(seed: UInt64, steps: Int, check: (MatchingEngine, EngineEvents) -> Void = { _, _ in }) -> (MatchingEngine, FlowGenerator, Int) {
        var engine = MatchingEngine(instruments: [btc], seed: seed)
        var flow = FlowGenerator(instrument: btc, parameters: FlowParameters(startPrice: 60_000), seed: seed)
        var trades = 0
        for step in 0..<steps {
            let events = flow.step(&engine, now: Int64(step) * 20_000_000)
            trades += events.trades.count
            check(engine, events)
        }
        return (engine, flow, trades)
    }

    @Test func bookIsNeverCrossedAndKeepsItsDepth() {
        var crossed = 0
        var thin = 0
        let (_, flow, trades) = run(seed: 11, steps: 5_000) { engine, _ in
            let bid = engine.depth("BTCUSDT", side: .buy, limit: 60)
            let ask = engine.depth("BTCUSDT", side: .sell, limit: 60)
            if let b = bid.first, let a = ask.first, b.price >= a.price { crossed += 1 }
            if bid.count < 60 || ask.count < 60 { thin += 1 }
        }
        #expect(crossed == 0)
        #expect(thin == 0)
        #expect(trades > 1_000)
        #expect(flow.restingOrderCount < 20_000)   // cancels keep the book bounded
    }

    @Test func pricesAndSizesStayOnTheGrid() {
        _ = run(seed: 5, steps: 1_000) { _, events in
            for trade in events.trades {
                #expect(btc.isOnTick(trade.price))
                #expect(trade.qty.rounded(toMultipleOf: btc.qtyStep, .down) == trade.qty && trade.qty >= btc.minQty)
            }
        }
    }

    @Test func theSameSeedReplaysTheSameMarket() {
        let a = run(seed: 99, steps: 800)
        let b = run(seed: 99, steps: 800)
        let c = run(seed: 100, steps: 800)
        #expect(a.0.depth("BTCUSDT", side: .buy, limit: 100) == b.0.depth("BTCUSDT", side: .buy, limit: 100))
        #expect(a.2 == b.2)
        #expect(a.0.depth("BTCUSDT", side: .buy, limit: 100) != c.0.depth("BTCUSDT", side: .buy, limit: 100))
    }

    @Test func theMidMovesWithClusteredVolatility() {
        var mids: [Double] = []
        _ = run(seed: 3, steps: 6_000) { engine, _ in
            if let bid = engine.depth("BTCUSDT", side: .buy, limit: 1).first, let ask = engine.depth("BTCUSDT", side: .sell, limit: 1).first {
                mids.append((bid.price.doubleValue + ask.price.doubleValue) / 2)
            }
        }
        let returns = zip(mids.dropFirst(), mids).map { log($0 / $1) }
        #expect(Set(mids).count > 100)                          // it moves
        #expect(abs(mids.last! / mids.first! - 1) < 0.2)          // but not absurdly over 2 simulated minutes
        // Clustering: absolute returns are positively autocorrelated.
        let absolute = returns.map { abs($0) }
        let mean = absolute.reduce(0, +) / Double(absolute.count)
        let centred = absolute.map { $0 - mean }
        let lag1 = zip(centred.dropFirst(), centred).map { $0 * $1 }.reduce(0, +)
        #expect(lag1 > 0)
    }
}

@Suite(.offThePool)
struct FlowAroundAccountOrdersTests {
    /// An account's bid far below the market must never trade: the flow builds its depth near the
    /// touch, not beyond the worst resting order.
    @Test func farAwayAccountOrderIsNeverReached() throws {
        var engine = MatchingEngine(instruments: [btc], seed: 8)
        engine.addAccount(SimAccount(apiKey: "alice", walletBalance: FixedDecimal(1_000_000), makerFeeRate: .zero, takerFeeRate: .zero))
        let (far, _) = try engine.place(PlaceRequest(symbol: "BTCUSDT", side: .buy, type: .limit, qty: FixedDecimal(1), price: FixedDecimal(1_000)),
                                        owner: .account("alice"), now: 0)
        var flow = FlowGenerator(instrument: btc, parameters: FlowParameters(startPrice: 60_000), seed: 8)
        for step in 1...3_000 { _ = flow.step(&engine, now: Int64(step) * 20_000_000) }
        #expect(engine.orders[far.orderId]?.status == .new)
        #expect(engine.depth("BTCUSDT", side: .buy, limit: 60).allSatisfy { $0.price > FixedDecimal(50_000) })
    }
}
