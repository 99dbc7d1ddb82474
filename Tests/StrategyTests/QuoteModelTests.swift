import Foundation
import Market
import MarketContext
import Strategy
import Testing

/// The quote model against hand-computed values, skew direction, and the ladder's rounding.
struct QuoteModelTests {
    private func price(_ text: String) -> Price { try! Price(parsing: text) }
    private let instrument = Instrument(symbol: "BTCUSDT", tickSize: Price(mantissa: 1, scale: 1), qtyStep: Quantity(mantissa: 1, scale: 3),
                                        minQty: Quantity(mantissa: 1, scale: 3))

    /// γ = 0.1, A = 1, k = 0.5 by hand: ξΔ/k = 0.2; c1 = 10·ln 1.2 = 1.8232156;
    /// c2 = √(0.1/(2·1·0.5) · 1.2^(0.5/0.1 + 1)) = √(0.1 · 1.2^6) = √0.2985984 = 0.5464416.
    @Test func glftCoefficientsMatchTheHandComputedOnes() {
        let (c1, c2) = QuoteModel.coefficients(gamma: 0.1, a: 1, k: 0.5)
        #expect(abs(c1 - 1.8232156) < 1e-6)
        #expect(abs(c2 - 0.5464416) < 1e-6)
    }

    /// σ = 1 bp/√s at mid 50,000 with tick 0.1 = 50 ticks/√s: h = c1 + 25·c2 = 15.4842556, s = 50·c2 = 27.32208.
    @Test func glftDepthsAndInventorySkew() {
        var parameters = QuoteModel.Parameters()
        parameters.a = 1
        parameters.k = 0.5
        parameters.enableDynamicSpread = false
        parameters.minSpreadBps = 0
        // The fee-free model (fees: below).
        parameters.makerFee = 0
        parameters.minEdgeBps = 0
        let model = QuoteModel(parameters: parameters)
        let flat = model.depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0)
        #expect(abs(flat.sigmaTicks - 50) < 1e-9)
        #expect(abs(flat.halfSpreadTicks - 15.4842556) < 1e-5)
        #expect(abs(flat.skewTicks - 27.32208) < 1e-4)
        #expect(flat.bidTicks == flat.askTicks)
        // Long two order sizes: bid further away, ask closer (sell the inventory).
        let long = model.depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 2)
        #expect(abs(long.bidTicks - (15.4842556 + 2 * 27.32208)) < 1e-3)
        #expect(abs(long.askTicks - (15.4842556 - 2 * 27.32208)) < 1e-3)
        // Short: the mirror image.
        let short = model.depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: -2)
        #expect(short.bidTicks < flat.bidTicks && short.askTicks > flat.askTicks)
        // Skew off: inventory does not move the quotes.
        var noSkew = parameters
        noSkew.enableInventorySkew = false
        let still = QuoteModel(parameters: noSkew).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 2)
        #expect(still.bidTicks == flat.bidTicks && still.askTicks == flat.askTicks)
    }

    @Test func dynamicSpreadWidensWithVolatilityAndTheMinimumHolds() {
        var parameters = QuoteModel.Parameters()
        parameters.a = 1
        parameters.k = 0.5
        parameters.minSpreadBps = 0
        parameters.makerFee = 0
        parameters.minEdgeBps = 0
        let model = QuoteModel(parameters: parameters)
        let calm = model.depths(mid: 50_000, tick: 0.1, volatility: 0.00005, intensity: nil, inventory: 0)
        let wild = model.depths(mid: 50_000, tick: 0.1, volatility: 0.0005, intensity: nil, inventory: 0)
        #expect(wild.halfSpreadTicks > calm.halfSpreadTicks * 3)
        // Fixed mode, 1 bp wanted, 2 bp minimum (1 bp of 50,000 is 5.0 = 50 ticks of 0.1): widened to 100 ticks.
        var fixed = QuoteModel.Parameters()
        fixed.mode = .fixed
        fixed.fixedSpreadBps = 1
        fixed.minSpreadBps = 2
        fixed.makerFee = 0
        fixed.minEdgeBps = 0
        let depths = QuoteModel(parameters: fixed).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0)
        #expect(abs(depths.bidTicks + depths.askTicks - 100) < 1e-9)
        // Fixed mode with skew: half spread 5 bp (250 ticks), skew 2 bp (100 ticks) per order size of inventory.
        var skewed = fixed
        skewed.fixedSpreadBps = 10
        let long = QuoteModel(parameters: skewed).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 1)
        #expect(abs(long.bidTicks - 350) < 1e-9 && abs(long.askTicks - 150) < 1e-9)
    }

    /// 2 bp of 50,000 is 10.0, 100 ticks of 0.1: one fill's fee φ. GLFT's half spread is the fee-free one
    /// plus φ (h = 15.4842556 + 100); a rebate of 0.1 bp takes 5 ticks off instead. The floor: two fees and
    /// the edge, 2·2 + 1 = 5 bp = 250 ticks, holds where the model alone would quote tighter.
    @Test func aFeeWidensARebateNarrowsAndTheSpreadPaysTheRoundTrip() {
        var parameters = QuoteModel.Parameters()
        parameters.a = 1
        parameters.k = 0.5
        parameters.enableDynamicSpread = false
        parameters.minSpreadBps = 0
        parameters.minEdgeBps = 0
        parameters.makerFee = 0.0002
        let fee = QuoteModel(parameters: parameters).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0)
        #expect(abs(fee.halfSpreadTicks - (15.4842556 + 100)) < 1e-5)
        #expect(abs(fee.feeTicks - 100) < 1e-9)
        parameters.makerFee = -0.00001
        let rebate = QuoteModel(parameters: parameters).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0)
        #expect(abs(rebate.halfSpreadTicks - (15.4842556 - 5)) < 1e-5)
        // Where the model wants a spread tighter than its fees: a steep fill curve and almost no volatility.
        parameters.makerFee = 0.0002
        parameters.minEdgeBps = 1
        parameters.a = 1_000
        parameters.k = 50
        parameters.volatilityBps = 0.001
        let model = QuoteModel(parameters: parameters)
        #expect(abs(model.floorBps - 5) < 1e-12)
        let floored = model.depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0)
        #expect(abs(floored.bidTicks + floored.askTicks - 250) < 1e-9)
        #expect(abs(floored.floorTicks - 250) < 1e-9)
        // min_spread_bps above the fees wins; below them the fees do.
        parameters.minSpreadBps = 8
        #expect(QuoteModel(parameters: parameters).floorBps == 8)
        parameters.minSpreadBps = 2
        #expect(abs(QuoteModel(parameters: parameters).floorBps - 5) < 1e-12)
        // Touch mode quotes where it is told: no fee, no fee floor.
        parameters.mode = .touch
        parameters.minSpreadBps = 0
        let touch = QuoteModel(parameters: parameters).depths(mid: 50_000, tick: 0.1, volatility: nil, intensity: nil, inventory: 0, touch: (0.5, 0.5))
        #expect(touch.bidTicks < 2 && touch.feeTicks == 0)
    }

    @Test func theLadderRoundsAwayFromTheTouchAndStaysPostOnly() {
        let depths = QuoteModel.Depths(bidTicks: 3.4, askTicks: 3.4, halfSpreadTicks: 3.4, skewTicks: 0, sigmaTicks: 0, a: 1, k: 1)
        var shape = QuoteLadder.Shape(sizes: [Quantity(mantissa: 1_000, scale: 4), Quantity(mantissa: 2_505, scale: 4)])
        shape.levels = 3
        shape.spacingTicks = 2
        // mid 50000.05: bid 50000.05 − 0.34 = 49999.71 → down to 49999.7; ask 50000.39 → up to 50000.4.
        let ladder = QuoteLadder.build(depths: depths, mid: price("50000.05"), bestBid: price("50000.0"), bestAsk: price("50000.1"),
                                       instrument: instrument, shape: shape, position: .zero)
        #expect(ladder.bids.map(\.price) == [price("49999.7"), price("49999.5"), price("49999.3")])
        #expect(ladder.asks.map(\.price) == [price("50000.4"), price("50000.6"), price("50000.8")])
        // Sizes on the lot grid (0.2505 → 0.250), the last size repeating.
        #expect(ladder.bids.map(\.qty) == [price("0.100"), price("0.250"), price("0.250")])
        // A skew that would cross: the bid stays below the best ask, the ask above the best bid.
        let crossing = QuoteModel.Depths(bidTicks: -5, askTicks: 12, halfSpreadTicks: 3.5, skewTicks: 8.5, sigmaTicks: 0, a: 1, k: 1)
        let clamped = QuoteLadder.build(depths: crossing, mid: price("50000.05"), bestBid: price("50000.0"), bestAsk: price("50000.1"),
                                        instrument: instrument, shape: shape, position: .zero)
        #expect(clamped.bids.first?.price == price("50000.0"))
        #expect(clamped.asks.first?.price == price("50001.3"))
    }

    @Test func theLadderNeverLetsThePositionPassItsLimit() {
        let depths = QuoteModel.Depths(bidTicks: 2, askTicks: 2, halfSpreadTicks: 2, skewTicks: 0, sigmaTicks: 0, a: 1, k: 1)
        var shape = QuoteLadder.Shape(sizes: [price("0.010")])
        shape.levels = 5
        shape.maxPosition = price("0.030")
        shape.maxOrderQty = price("0.008")
        // Long 0.015: room for 0.015 more of bids (0.008 + 0.007), 0.045 of asks (5 × 0.008 = 0.040).
        let ladder = QuoteLadder.build(depths: depths, mid: price("50000.0"), bestBid: nil, bestAsk: nil, instrument: instrument,
                                       shape: shape, position: price("0.015"))
        #expect(ladder.bids.map(\.qty) == [price("0.008"), price("0.007")])
        #expect(ladder.asks.map(\.qty) == Array(repeating: price("0.008"), count: 5))
        // Only the side the risk manager allows.
        let sellsOnly = QuoteLadder.build(depths: depths, mid: price("50000.0"), bestBid: nil, bestAsk: nil, instrument: instrument,
                                          shape: shape, position: price("0.015"), sides: [.sell])
        #expect(sellsOnly.bids.isEmpty && sellsOnly.asks.count == 5)
    }
}

/// Market inputs in event time, and the online A/k fit.
struct MarketInputsTests {
    @Test func volatilityIsTheEwmaOfPerSecondLogReturns() throws {
        var inputs = MarketInputs()
        var book = OrderBook()
        // Mid alternates 100.00 / 100.10 every second: |r| = ln(100.1/100) each second.
        for second in 0 ..< 200 {
            let bid = second % 2 == 0 ? "99.99" : "100.09"
            let ask = second % 2 == 0 ? "100.01" : "100.11"
            try book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: try Price(parsing: bid), qty: Quantity(1))],
                                       asks: [PriceLevel(price: try Price(parsing: ask), qty: Quantity(3))]))
            inputs.onBook(book, time: Int64(second) * 1_000_000_000)
        }
        let expected = log(100.1 / 100.0)
        let volatility = try #require(inputs.snapshot.volatility)
        #expect(abs(volatility - expected) / expected < 0.01)
        #expect(inputs.snapshot.spread == (try Price(parsing: "0.02")))
        #expect(inputs.snapshot.imbalance == -0.5)
    }

    @Test func tradeIntensityDecays() {
        var inputs = MarketInputs()
        for index in 0 ..< 60 {
            inputs.onTrade(TradeTick(symbol: "X", price: Price(100), qty: Quantity(1), aggressor: index % 3 == 0 ? .sell : .buy,
                                     tradeId: "\(index)", exchangeTime: Int64(index) * 1_000_000_000, receiveTime: 0))
        }
        let now = inputs.current(at: 60_000_000_000)
        // One trade a second for a minute with τ = 60 s: 1 − e^(−1) ≈ 0.63 trades/s.
        #expect(abs(now.tradeIntensity - 0.63) < 0.03)
        #expect(now.buyIntensity > now.sellIntensity)
        let later = inputs.current(at: 120_000_000_000)
        #expect(abs(later.tradeIntensity - now.tradeIntensity * exp(-1)) < 1e-6)
    }

    /// Trades drawn so that P(distance ≥ δ) = e^(−0.4δ), 2 a second: the fit finds k ≈ 0.4, A ≈ 2.
    @Test func fillIntensityFitsAAndK() throws {
        var estimator = FillIntensity(buckets: 12, timeConstant: 1e9)
        var random = SeededRandom(seed: 3)
        for index in 0 ..< 20_000 {
            let distance = -log(1 - random.unit()) / 0.4
            estimator.record(distanceTicks: distance, time: Int64(index) * 500_000_000)
        }
        let estimate = try #require(estimator.estimate(at: 10_000 * 1_000_000_000))
        #expect(abs(estimate.k - 0.4) < 0.03)
        // The rate counts with τ = 1e9 s, so A is (trades/τ) — scale it back to trades per second.
        #expect(estimate.points >= 10)
    }
}

