import Market
import Strategy
import Testing
import TestSupport

/// The fair price on hand-built books, and the imbalance coefficient's estimate on a scripted sequence.
struct FairValueTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
    private let tick = FixedDecimal(mantissa: 1, scale: 1)

    /// Bid 100.0 × 3, ask 100.4 × 1: mid 100.2; microprice (100.0·1 + 100.4·3) / 4 = 100.3 (the heavy bid
    /// pulls it toward the ask); imbalance over the touch (3 − 1) / 4 = 0.5.
    private func book() -> OrderBook {
        var book = OrderBook()
        try! book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: d("100.0"), qty: d("3")), PriceLevel(price: d("99.9"), qty: d("4"))],
                                    asks: [PriceLevel(price: d("100.4"), qty: d("1")), PriceLevel(price: d("100.5"), qty: d("2"))], exchangeTime: 0, receiveTime: 0))
        return book
    }

    @Test func midMicropriceAndImbalanceOnAHandBuiltBook() throws {
        let book = book()
        #expect(book.microprice() == d("100.3"))
        #expect(book.imbalance(depth: 1) == 0.5)
        // Over two levels: (7 − 3) / 10 = 0.4.
        #expect(book.imbalance(depth: 2) == 0.4)
        func fair(_ mode: FairValue.Mode, coefficient: Double? = nil) -> Price? {
            var parameters = FairValue.Parameters()
            parameters.mode = mode
            parameters.coefficient = coefficient
            return FairValue(parameters: parameters).price(mid: book.mid, microprice: book.microprice(), imbalance: book.imbalance(depth: 2), tick: tick)
        }
        #expect(fair(.mid) == d("100.2"))
        #expect(fair(.microprice) == d("100.3"))
        // 1.5 ticks per unit of imbalance × 0.4 = 0.6 tick = 0.06 above the mid.
        #expect(fair(.imbalance, coefficient: 1.5) == d("100.26"))
        #expect(fair(.imbalance, coefficient: -1.5) == d("100.14"))
        // Not estimated yet: the mid.
        #expect(fair(.imbalance) == d("100.2"))
    }

    /// Every second the imbalance is +0.5 or −0.5 and the mid then moves 2·I ticks (plus a wobble that
    /// averages out): the estimate is 2 ticks per unit.
    @Test func theCoefficientIsTheSlopeOfTheNextMoveOnTheImbalance() {
        var parameters = FairValue.Parameters()
        parameters.mode = .imbalance
        parameters.minimumSamples = 10
        var fair = FairValue(parameters: parameters)
        var mid = 1_000.0
        let second: Int64 = 1_000_000_000
        for step in 0..<200 {
            let imbalance = step % 3 == 0 ? -0.5 : 0.5
            fair.observe(imbalance: imbalance, midTicks: mid, time: Int64(step) * second)
            mid += 2 * imbalance + (step % 2 == 0 ? 0.25 : -0.25)
        }
        #expect(fair.samples > 150)
        #expect(abs(fair.coefficient - 2) < 0.05, "\(fair.coefficient)")
    }

    @Test func theQuotesAreCentredOnTheFairPrice() {
        func quotes(_ mode: FairValue.Mode) -> (bid: Price, ask: Price) {
            var policy = MarketMakingStrategy.Policy()
            policy.model.mode = .fixed
            policy.model.fixedSpreadBps = 100
            policy.model.fixedSkewBps = 0
            policy.quoteInterval = 0
            policy.fairValue.mode = mode
            policy.fairValue.coefficient = 4
            policy.imbalanceLevels = 1
            let instrument = Instrument(symbol: "X", tickSize: tick, qtyStep: d("0.001"), minQty: d("0.001"))
            var mm = MarketMakingStrategy(symbol: "X", instrument: instrument, policy: policy, clientIdPrefix: "f-")
            mm.onMarket(ScriptedBook.depth("X", bid: "100.0", ask: "100.4", bidQty: "3", askQty: "1", time: 1), time: 1)
            let placed = mm.decide(time: 1, ledger: PositionLedger(), live: [], conditions: .init()).intents.compactMap {
                if case .place(let request, _) = $0 { request } else { nil }
            }
            return (placed.first { $0.side == .buy }!.price!, placed.first { $0.side == .sell }!.price!)
        }
        // 100 bp of 100.2 is 1.002, 5.01 ticks a side, rounded away from the centre: mid 100.2 → 99.6 / 100.8;
        // the imbalance (0.5 × 4 = 2 ticks) moves the centre, and both quotes, up 0.2.
        let mid = quotes(.mid)
        let shifted = quotes(.imbalance)
        #expect(mid == (d("99.6"), d("100.8")))
        #expect(shifted == (d("99.8"), d("101.0")))
    }
}
