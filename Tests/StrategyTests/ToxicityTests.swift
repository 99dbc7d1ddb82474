import Market
import Strategy
import Testing
import TestSupport

/// The response to toxic flow on scripted sequences: fills whose mid then runs against them.
struct ToxicityTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
    private let second: Int64 = 1_000_000_000

    private func strategy(_ action: Toxicity.Action) -> MarketMakingStrategy {
        var policy = MarketMakingStrategy.Policy()
        policy.model.mode = .fixed
        policy.model.fixedSpreadBps = 10
        policy.model.fixedSkewBps = 0
        policy.quoteInterval = 0
        policy.staleAfter = 600 * second
        policy.toxicity.thresholdBps = -2
        policy.toxicity.horizon = 0
        policy.toxicity.minimumFills = 3
        policy.toxicity.action = action
        policy.toxicity.widenBps = 10
        policy.toxicity.pause = 30 * second
        let instrument = Instrument(symbol: "X", tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"))
        return MarketMakingStrategy(symbol: "X", instrument: instrument, policy: policy, clientIdPrefix: "t-")
    }

    private func book(mid: String, at time: Int64) -> MarketEvent {
        ScriptedBook.depth("X", bid: "\(d(mid) - d("0.1"))", ask: "\(d(mid) + d("0.1"))", time: time)
    }

    private func quotes(_ decision: MarketMakingStrategy.Decision) -> (bid: Price?, ask: Price?) {
        let placed = decision.intents.compactMap { if case .place(let request, _) = $0 { request } else { nil } }
        return (placed.first { $0.side == .buy }?.price, placed.first { $0.side == .sell }?.price)
    }

    /// Three buys at 50,000, then the mid 50 lower a second later: −10 bp each, worse than −2 over three fills.
    private func poison(_ mm: inout MarketMakingStrategy) -> MarketMakingStrategy.Decision {
        mm.onMarket(book(mid: "50000.0", at: 0), time: 0)
        for index in 0..<3 { mm.onFill(id: "f\(index)", side: .buy, price: d("50000.0"), time: 0) }
        mm.onMarket(book(mid: "49950.0", at: second), time: second)
        return mm.decide(time: second, ledger: PositionLedger(), live: [], conditions: .init())
    }

    @Test func aToxicSideIsWidenedAndTheOtherIsNot() {
        var clean = strategy(.widen)
        clean.onMarket(book(mid: "49950.0", at: second), time: second)
        let plain = quotes(clean.decide(time: second, ledger: PositionLedger(), live: [], conditions: .init()))
        var mm = strategy(.widen)
        let decision = poison(&mm)
        #expect(decision.toxicity == [Toxicity.Change(side: .buy, toxic: true, markoutBps: -10, action: .widen)])
        let widened = quotes(decision)
        // 10 bp of 49,950 is 49.95: the bid 49.95 further down (to the grid), the ask where it was.
        #expect(widened.ask == plain.ask)
        #expect(plain.bid! - widened.bid! >= d("49.9") && plain.bid! - widened.bid! <= d("50.0"), "\(plain) \(widened)")
        #expect(mm.toxicity.toxic == [.buy])
    }

    @Test func aToxicSideIsPulledForThePauseThenJudgedOnlyOnNewFills() {
        var mm = strategy(.pause)
        let decision = poison(&mm)
        #expect(decision.toxicity.first?.toxic == true)
        #expect(quotes(decision).bid == nil && quotes(decision).ask != nil)
        #expect(mm.toxicity.pausedUntil[.buy] == 31 * second)
        // Still pulled at 20 s.
        mm.onMarket(book(mid: "49950.0", at: 20 * second), time: 20 * second)
        #expect(quotes(mm.decide(time: 20 * second, ledger: PositionLedger(), live: [], conditions: .init())).bid == nil)
        // Back after the pause, and not pulled again for the old fills.
        mm.onMarket(book(mid: "49950.0", at: 32 * second), time: 32 * second)
        let back = mm.decide(time: 32 * second, ledger: PositionLedger(), live: [], conditions: .init())
        #expect(back.toxicity == [Toxicity.Change(side: .buy, toxic: false, markoutBps: -10, action: .pause)])
        #expect(quotes(back).bid != nil)
        mm.onMarket(book(mid: "49950.0", at: 33 * second), time: 33 * second)
        #expect(mm.decide(time: 33 * second, ledger: PositionLedger(), live: [], conditions: .init()).toxicity.isEmpty)
        // A new losing fill after the pause makes it toxic again.
        mm.onFill(id: "late", side: .buy, price: d("49950.0"), time: 34 * second)
        mm.onMarket(book(mid: "49900.0", at: 35 * second), time: 35 * second)
        #expect(mm.decide(time: 35 * second, ledger: PositionLedger(), live: [], conditions: .init()).toxicity.first?.toxic == true)
    }

    @Test func offByDefault() {
        var policy = MarketMakingStrategy.Policy()
        policy.quoteInterval = 0
        #expect(policy.toxicity.thresholdBps == nil)
        var toxicity = Toxicity(parameters: policy.toxicity)
        var markouts = Markouts()
        for index in 0..<10 { markouts.fill(id: "\(index)", side: .sell, price: d("100"), time: 0) }
        markouts.mid(d("110"), time: 60 * second)
        #expect(toxicity.update(markouts: markouts, time: 60 * second).isEmpty)
    }
}
