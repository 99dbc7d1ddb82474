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
        // Clustering: the realised variance of 0.2 s windows (10 steps) is positively autocorrelated. (Step by
        // step the book also bounces between levels, which leaves single returns slightly anti-correlated.)
        let windows = stride(from: 0, to: returns.count - 9, by: 10).map { start in returns[start..<start + 10].map { $0 * $0 }.reduce(0, +) }
        let mean = windows.reduce(0, +) / Double(windows.count)
        let centred = windows.map { $0 - mean }
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

/// The informed share is what makes a maker's fills toxic. A fixed quoter joins the touch on the same market
/// (0.01 BTC a side, re-placed when the mid moves or a side has filled); its mean markout 1 s after each
/// fill, with every market order noise and with every one informed.
@Suite(.offThePool)
struct InformedFlowTests {
    struct Run { var markoutBps: Double; var fills: Int; var sigmaBps: Double }

    private func fixedQuoter(informedShare: Double, steps: Int) throws -> Run {
        var engine = MatchingEngine(instruments: [btc], seed: 5)
        engine.addAccount(SimAccount(apiKey: "mm", walletBalance: FixedDecimal(1_000_000_000), makerFeeRate: .zero, takerFeeRate: .zero))
        var parameters = FlowParameters(startPrice: 60_000)
        parameters.informedShare = informedShare
        var flow = FlowGenerator(instrument: btc, parameters: parameters, seed: 5)
        var mids: [Double?] = []
        var fills: [(step: Int, side: Side, price: Double)] = []
        var quotedMid: Double?
        for step in 0..<steps {
            let now = Int64(step) * 20_000_000
            for execution in flow.step(&engine, now: now).executions where execution.owner == .account("mm") {
                fills.append((step, execution.side, execution.price.doubleValue))
            }
            let bid = engine.depth("BTCUSDT", side: .buy, limit: 1).first?.price
            let ask = engine.depth("BTCUSDT", side: .sell, limit: 1).first?.price
            guard let bid, let ask else { mids.append(nil); continue }
            let mid = (bid.doubleValue + ask.doubleValue) / 2
            mids.append(mid)
            guard step >= 250 else { continue }
            var resting = Set(engine.orders.values.filter { $0.owner == .account("mm") && $0.status.isOpen }.map(\.side))
            if mid != quotedMid {
                quotedMid = mid
                _ = engine.cancelAll(apiKey: "mm", symbol: "BTCUSDT", now: now)
                resting = []
            }
            for (side, price) in [(Side.buy, bid), (.sell, ask)] where !resting.contains(side) {
                _ = try engine.place(PlaceRequest(symbol: "BTCUSDT", side: side, type: .limit, qty: d("0.01"), price: price, timeInForce: .postOnly),
                                     owner: .account("mm"), now: now)
            }
        }
        var markouts: [Double] = []
        for fill in fills where fill.step + 50 < steps {
            guard let later = mids[fill.step + 50] else { continue }
            markouts.append((fill.side == .buy ? later - fill.price : fill.price - later) / fill.price * 10_000)
        }
        // σ per √s of the mid sampled each second (50 steps) after the warm-up.
        let seconds = stride(from: 250, to: steps, by: 50).compactMap { mids[$0] }
        let returns = zip(seconds.dropFirst(), seconds).map { log($0 / $1) }
        let sigma = (returns.map { $0 * $0 }.reduce(0, +) / Double(Swift.max(1, returns.count))).squareRoot() * 10_000
        return Run(markoutBps: markouts.reduce(0, +) / Double(Swift.max(1, markouts.count)), fills: markouts.count, sigmaBps: sigma)
    }

    @Test func aFixedQuotersMarkoutsArePositiveWithNoiseOnlyAndNegativeWithInformedOnly() throws {
        let noise = try fixedQuoter(informedShare: 0, steps: 3_000)
        let informed = try fixedQuoter(informedShare: 1, steps: 3_000)
        print("fixed quoter at the touch, 1 min of sim time, markout 1 s: informed share 0 \(noise.markoutBps) bp over \(noise.fills) fills; "
              + "share 1 \(informed.markoutBps) bp over \(informed.fills) fills")
        #expect(noise.fills >= 50 && informed.fills >= 50)
        #expect(noise.markoutBps > 0, "noise flow pays the quoter its half-spread")
        #expect(informed.markoutBps < 0, "informed flow takes from the quoter what the next second brings")
    }

    /// With the calibrated share and impact the sim's mid moves as the capture's did: σ per √s within 35 %
    /// of `keel calibrate`'s 1.2245 bp (100 s of sim time: about 90 one-second returns).
    @Test func theDefaultMarketsVolatilityIsTheCalibratedOne() throws {
        let run = try fixedQuoter(informedShare: FlowParameters.calibrated.informedShare, steps: 5_250)
        let calibrated = FlowParameters.calibrated.volatilityPerStep * 50.0.squareRoot() * 10_000
        print("default market: σ \(run.sigmaBps) bp/√s (calibrated \(calibrated)), fixed quoter markout \(run.markoutBps) bp over \(run.fills) fills")
        #expect(abs(run.sigmaBps - calibrated) / calibrated < 0.35)
    }
}
