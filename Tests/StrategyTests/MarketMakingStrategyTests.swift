import Market
import Strategy
import Testing
import TestSupport

/// The decision on scripted event sequences: no process, no socket, no venue — market events and
/// ticks with their times in, intents out; the orders' states come in as the venue would leave them.
struct MarketMakingStrategyTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
    private let start: Int64 = 1_700_000_000_000_000_000
    private let second: Int64 = 1_000_000_000

    private func strategy(_ configure: (inout MarketMakingStrategy.Policy) -> Void = { _ in }) -> MarketMakingStrategy {
        var policy = MarketMakingStrategy.Policy()
        policy.model.mode = .fixed
        policy.model.fixedSpreadBps = 4
        policy.model.fixedSkewBps = 0
        policy.quoteInterval = 0
        policy.staleAfter = 5 * second
        configure(&policy)
        let instrument = Instrument(symbol: "BTCUSDT", tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"))
        return MarketMakingStrategy(symbol: "BTCUSDT", instrument: instrument, policy: policy, clientIdPrefix: "kT-")
    }

    private func depth(bid: String, ask: String, time: Int64) -> MarketEvent {
        ScriptedBook.depth("BTCUSDT", bid: bid, ask: ask, time: time)
    }

    /// What a venue would leave after these intents: placed orders working.
    private func working(_ intents: [OrderIntent], time: Int64) -> [TrackedOrder] {
        intents.compactMap { intent in
            guard case .place(let request, _) = intent else { return nil }
            return TrackedOrder(clientId: request.orderLinkId, symbol: request.symbol, side: request.side, price: request.price!,
                                qty: request.qty, status: .new, createdTime: time, updatedTime: time)
        }
    }

    @Test func aTrustedBookGivesOnePostOnlyQuoteEachSideOnTheGrid() {
        var mm = strategy()
        #expect(mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents.isEmpty)
        mm.onMarket(depth(bid: "50000.0", ask: "50000.2", time: start), time: start)
        let intents = mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents
        let requests = intents.compactMap { if case .place(let request, _) = $0 { request } else { nil } }
        #expect(requests.count == 2)
        #expect(requests.map(\.orderLinkId) == ["kT-1", "kT-2"])
        #expect(requests.allSatisfy { $0.timeInForce == .postOnly && $0.qty == d("0.001") })
        let bid = requests.first { $0.side == .buy }!.price!
        let ask = requests.first { $0.side == .sell }!.price!
        #expect(bid < d("50000.2") && ask > d("50000.0") && bid < ask)
        #expect(mm.levels["kT-1"] == 0)
    }

    @Test func aBrokenBookQuotesNothingUntilATrustedOneComesAgain() {
        var mm = strategy()
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        mm.onMarket(.bookInvalid(BookInvalid(symbol: "BTCUSDT", fault: .crossed, exchangeTime: start, receiveTime: start)), time: start)
        for step in 1...10 {
            #expect(mm.decide(time: start + Int64(step) * second / 10, ledger: PositionLedger(), live: [], conditions: .init()).intents.isEmpty)
        }
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start + second), time: start + second)
        #expect(mm.decide(time: start + second, ledger: PositionLedger(), live: [], conditions: .init()).intents.count == 2)
    }

    @Test func aWorkingQuoteFarFromTheLadderIsAmendedANearOneIsLeft() {
        var mm = strategy()
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        let placed = mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents
        let live = working(placed, time: start)
        // One tick up: inside the tolerance of two ticks, nothing to do.
        mm.onMarket(depth(bid: "100.1", ask: "100.3", time: start + second), time: start + second)
        #expect(mm.decide(time: start + second, ledger: PositionLedger(), live: live, conditions: .init()).intents.isEmpty)
        // Ten ticks up: both quotes move, by amending, keeping their ids.
        mm.onMarket(depth(bid: "101.0", ask: "101.2", time: start + 2 * second), time: start + 2 * second)
        let moved = mm.decide(time: start + 2 * second, ledger: PositionLedger(), live: live, conditions: .init()).intents
        #expect(moved.count == 2)
        #expect(moved.allSatisfy { if case .amend(let id, _, let price) = $0 { live.contains { $0.clientId == id } && price > d("100.9") } else { false } })
    }

    @Test func anOldQuoteIsReplacedAndAFullSideGetsNoMore() {
        var mm = strategy { $0.maxOrderAge = 10 * 1_000_000_000; $0.maxActivePerSide = 1 }
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        let live = working(mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents, time: start)
        let later = start + 11 * second
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: later), time: later)
        let intents = mm.decide(time: later, ledger: PositionLedger(), live: live, conditions: .init()).intents
        // Both cancelled for age; with one order a side allowed, the cancelling ones still count, so no new place yet.
        #expect(intents.count == 2 && intents.allSatisfy { if case .cancel = $0 { true } else { false } })
    }

    @Test func aSilentFeedHaltsOnATickAndAHaltCancelsEverythingLive() {
        var mm = strategy()
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        let live = working(mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents, time: start)
        #expect(mm.tick(time: start + 4 * second, ledger: PositionLedger(), live: live, conditions: .init()).transition == nil)
        let halted = mm.tick(time: start + 6 * second, ledger: PositionLedger(), live: live, conditions: .init())
        #expect(halted.transition?.to == .halted)
        #expect(halted.intents == [.cancelAll(symbol: "BTCUSDT", reason: "halted")])
        // Events again: the condition is gone, quoting resumes.
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start + 7 * second), time: start + 7 * second)
        let resumed = mm.decide(time: start + 7 * second, ledger: PositionLedger(), live: [], conditions: .init())
        #expect(resumed.transition?.to == .active && resumed.intents.count == 2)
    }

    @Test func noPlaceWithoutDurableIdsAndNoneWhileTheShellIsNotReady() {
        var mm = strategy()
        mm.idsAvailableThrough = 1
        mm.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        #expect(mm.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init()).intents.count == 1)
        var other = strategy()
        other.onMarket(depth(bid: "100.0", ask: "100.2", time: start), time: start)
        let decision = other.decide(time: start, ledger: PositionLedger(), live: [], conditions: .init(connectorUp: true, ready: false))
        #expect(decision.intents.isEmpty && decision.transition?.to == .halted)
    }

    @Test func theSameEventsGiveTheSameIntents() {
        func run() -> [OrderIntent] {
            var mm = strategy { $0.orderLevels = 3 }
            var all: [OrderIntent] = []
            var live: [TrackedOrder] = []
            var rng = SeededRandom(seed: 11)
            var mid: Int64 = 1_000_000
            for step in 0..<200 {
                mid += Int64.random(in: -3...3, using: &rng)
                let time = start + Int64(step) * second / 4
                mm.onMarket(depth(bid: "\(mid / 10).\(mid % 10)", ask: "\((mid + 2) / 10).\((mid + 2) % 10)", time: time), time: time)
                let intents = mm.decide(time: time, ledger: PositionLedger(), live: live, conditions: .init()).intents
                live += working(intents, time: time)
                all += intents
            }
            return all
        }
        #expect(run() == run())
        #expect(run().count > 6)
    }

    /// The bot keeps the market context (it shows it); a backtest turns that off, and then the context takes no
    /// trade unless the decision reads it (volatility from 1m candles). The decisions are the same either way.
    @Test func theContextTakesTradesWhenShownOrReadAndTheDecisionsAreTheSame() {
        func run(shown: Bool, source: MarketMakingStrategy.VolatilitySource) -> (trades: Int, candles: Int, intents: [OrderIntent]) {
            var mm = strategy { $0.shown = shown; $0.volatilitySource = source }
            var all: [OrderIntent] = []
            var live: [TrackedOrder] = []
            for step in 0..<240 {
                let time = start + Int64(step) * second / 2
                let mid = 1_000_000 + Int64(step % 7)
                mm.onMarket(depth(bid: "\(mid / 10).\(mid % 10)", ask: "\((mid + 2) / 10).\((mid + 2) % 10)", time: time), time: time)
                let trade = TradeTick(symbol: "BTCUSDT", price: d("\(mid / 10).\(mid % 10)"), qty: d("0.002"),
                                      aggressor: step % 3 == 0 ? .buy : .sell, tradeId: "\(step)", exchangeTime: time, receiveTime: time)
                mm.onMarket(.trade(trade), time: time)
                let intents = mm.decide(time: time, ledger: PositionLedger(), live: live, conditions: .init()).intents
                live += working(intents, time: time)
                all += intents + mm.tick(time: time, ledger: PositionLedger(), live: live, conditions: .init()).intents
            }
            return (mm.context.trades, mm.context.candles[.m1]!.closed.count, all)
        }
        let shown = run(shown: true, source: .book), off = run(shown: false, source: .book), read = run(shown: false, source: .candles1m)
        #expect(shown.trades == 240 && shown.candles >= 1, "\(shown.trades) trades, \(shown.candles) closed minutes")
        #expect(off.trades == 0 && off.candles == 0)
        #expect(read.trades == 240 && read.candles == shown.candles)
        #expect(off.intents == shown.intents && shown.intents.count > 2)
    }

    /// Likewise the fill-intensity estimate: kept when shown, or when GLFT reads it (no configured A or k).
    @Test func theFillIntensityIsEstimatedWhenShownOrRead() {
        var policy = MarketMakingStrategy.Policy()
        #expect(policy.intensityKept)
        policy.shown = false
        #expect(policy.intensityKept, "GLFT without A and k reads the estimate")
        policy.model.a = 1.2
        policy.model.k = 0.4
        #expect(!policy.intensityKept)
        policy.model.k = nil
        policy.model.mode = .touch
        #expect(!policy.intensityKept)
        policy.shown = true
        #expect(policy.intensityKept)
    }
}
