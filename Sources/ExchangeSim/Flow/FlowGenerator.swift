#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Market

/// The synthetic market of one symbol, in simulator steps (the server steps every 20 ms by default).
///
/// **Value.** A latent value follows a geometric random walk whose variance clusters (GARCH(1,1):
/// σ²ₜ = ω + α·ε²ₜ₋₁ + β·σ²ₜ₋₁, with ω set so the long-run σ is `volatilityPerStep`). Nobody quotes it:
/// only the informed know it, `informedHorizonSteps` ahead.
///
/// **Makers** quote around their *anchor*, their estimate of the value, which moves only with what the tape
/// tells them (Glosten–Milgrom / Kyle): each taker's trade moves it its way by
/// `informedShare · impactBps · √(size / marketMedianLots)` bp. With no informed traders the tape carries no
/// news and the anchor stays put — noise only bounces the book; with some, the anchor follows the value
/// with a lag, and whoever is filled just before it moves loses. Limit orders arrive around the anchor
/// (post-only: makers never take), their distance exponential with mean `depthDecayTicks`, so the book thins
/// out away from the touch. Resting flow orders are cancelled at random, beyond `maxDistanceTicks`, and —
/// with `staleCancelProbability` a step — when the anchor has moved past them. Each of the first
/// `depthLots.count` prices next to the anchor (never through the other side's touch) short of its
/// `depthLots` is topped up with `replenishProbability` a step, so a level a trade has eaten comes back.
///
/// **Takers** trade first each step, on the book as published; then the value moves and the makers follow.
/// A share `informedShare` of market orders are informed: they trade towards the value `informedHorizonSteps`
/// ahead with an IOC limit at that price, so they take only what is worth taking. The rest are noise: buy or
/// sell at even odds, market orders within the price band. Sizes are heavy-tailed — lognormal with median
/// `marketMedianLots` and log-σ `marketSizeSigma`, capped at `maxMarketLots` — as on the real tape.
///
/// The defaults are BTCUSDT's from `keel calibrate --exchange binance-usdm` on the shared capture (see
/// ``FlowParameters/calibrated``). The model lives in `Double` and in tick counts; every order it sends is
/// an exact price on the tick grid and an exact quantity on the lot grid.
public struct FlowParameters: Sendable, Codable, Equatable {
    public var startPrice: Double
    /// Long-run standard deviation of the mid's log return per step.
    public var volatilityPerStep: Double = FlowParameters.calibrated.volatilityPerStep
    public var garchAlpha: Double = 0.08
    public var garchBeta: Double = 0.9
    public var limitOrdersPerStep: Double = 6
    public var marketOrdersPerStep: Double = FlowParameters.calibrated.marketOrdersPerStep
    /// Chance per step that each resting flow order is withdrawn.
    public var cancelProbability: Double = 0.02
    /// Mean size of a limit order, in lots of the qty step (exponential).
    public var meanLots: Double = 40
    public var depthDecayTicks: Double = 12
    /// Levels the flow keeps on each side at least.
    public var minLevels: Int = 60
    public var maxDistanceTicks: Int64 = 2_000
    /// Chance per step that a flow order the makers' anchor has passed (a bid above it, an ask below) is withdrawn.
    public var staleCancelProbability: Double = 1
    /// The depth, in lots, makers keep at the first prices next to their anchor (one entry a price level).
    public var depthLots: [Double] = FlowParameters.calibrated.depthLots
    /// Chance per step that a level short of its `depthLots` is topped up.
    public var replenishProbability: Double = 1
    /// The share of market orders sent by informed traders (0…1).
    public var informedShare: Double = FlowParameters.calibrated.informedShare
    /// How far ahead the informed know the latent mid, in steps.
    public var informedHorizonSteps: Int = FlowParameters.calibrated.informedHorizonSteps
    /// An informed order's median size relative to a noise order's.
    public var informedSizeMultiple: Double = 1
    /// How far the makers move their quotes, in bp of the price, on a taker's trade of median size when
    /// every taker is informed; scaled by `informedShare` (makers learn from the tape what it can tell them)
    /// and by the square root of the trade's size in medians.
    public var impactBps: Double = FlowParameters.calibrated.impactBps
    /// Market-order sizes in lots: lognormal, this median…
    public var marketMedianLots: Double = FlowParameters.calibrated.marketMedianLots
    /// …and this standard deviation of the log size…
    public var marketSizeSigma: Double = FlowParameters.calibrated.marketSizeSigma
    /// …capped here.
    public var maxMarketLots: Double = FlowParameters.calibrated.maxMarketLots

    public init(startPrice: Double) {
        self.startPrice = startPrice
    }

    /// What `keel calibrate --exchange binance-usdm ../shared/data/binance-usdm/btcusdt_20240808.gz` prints
    /// for the sim's flow (20 ms steps, BTCUSDT's 0.001 lot): σ 1.2245 bp/√s, 62.08 trades/s, 73.9 % of
    /// trades followed by a move their way within 1 s, sizes p50 0.016 / p99 1.146 / p99.9 5.904 BTC, the
    /// touch 3.743 BTC deep and the next four levels 0.3–0.6 BTC.
    /// A test holds these equal to what the command prints.
    public static let calibrated = (volatilityPerStep: 1.7316e-05, marketOrdersPerStep: 1.241579, informedShare: 0.47813,
                                    informedHorizonSteps: 50, impactBps: 0.1428, marketMedianLots: 16.0, marketSizeSigma: 1.836, maxMarketLots: 5_904.0,
                                    depthLots: [3_742.646, 608.736, 491.269, 311.945, 637.443])

    /// The `impactBps` under which the makers' anchor moves as much as the value: its variance per second,
    /// the sum over the tape's trades of (share · impact · √(size / median))², set to σ² — so
    /// impact = σ / (share · √(trades per second · E[min(size, cap) / median])), with E from the lognormal
    /// capped at `maxLots`: e^(s²/2)·Φ((ln c − s²)/s) + c·(1 − Φ(ln c / s)), c = cap / median. 0 without
    /// informed trades (the tape then moves nothing).
    public static func impactBps(sigmaBps: Double, tradesPerSecond: Double, informedShare: Double,
                                 medianLots: Double, sizeSigma: Double, maxLots: Double) -> Double {
        guard informedShare > 0, tradesPerSecond > 0, medianLots > 0 else { return 0 }
        func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
        let cap = Swift.max(maxLots / medianLots, 1)
        let meanRatio = sizeSigma > 0
            ? exp(sizeSigma * sizeSigma / 2) * normalCDF((log(cap) - sizeSigma * sizeSigma) / sizeSigma) + cap * (1 - normalCDF(log(cap) / sizeSigma))
            : 1
        return sigmaBps / (informedShare * (tradesPerSecond * meanRatio).squareRoot())
    }

    /// A mistake in these, named by its key (snake_case, as in `keel sim --config`); nil when they are usable.
    public func problem() -> String? {
        if !(garchAlpha >= 0 && garchBeta >= 0 && garchAlpha + garchBeta < 1) { return "garch_alpha + garch_beta must be below 1 (both ≥ 0)" }
        if !(0...1).contains(informedShare) { return "informed_share must be between 0 and 1" }
        if informedHorizonSteps < 0 { return "informed_horizon_steps must be 0 or more" }
        if !(impactBps >= 0) { return "impact_bps must be 0 or more" }
        if !(informedSizeMultiple > 0) { return "informed_size_multiple must be positive" }
        if !(marketMedianLots >= 1) { return "market_median_lots must be at least 1" }
        if !(marketSizeSigma >= 0) { return "market_size_sigma must be 0 or more" }
        if !(maxMarketLots >= marketMedianLots) { return "max_market_lots must be at least market_median_lots" }
        if !(0...1).contains(staleCancelProbability) { return "stale_cancel_probability must be between 0 and 1" }
        if !(0...1).contains(replenishProbability) { return "replenish_probability must be between 0 and 1" }
        if depthLots.count > 50 || depthLots.contains(where: { !($0 >= 0) }) { return "depth_lots must be at most 50 sizes, each 0 or more" }
        return nil
    }
}

public struct FlowGenerator: Sendable {
    public let instrument: Instrument
    public var parameters: FlowParameters
    private var random: SeededRandom
    /// Latent mid in ticks: the value the informed know ahead of time.
    public private(set) var latentMid: Double
    /// Where the makers think the value is, in ticks: they quote around it, and it moves only with what the
    /// tape tells them (each taker's trade, by `impactBps`).
    public private(set) var anchor: Double
    /// The latent mids of the next `informedHorizonSteps` steps, nearest first: what the informed know.
    private var ahead: [Double] = []
    private var variance: Double
    private var lastShock: Double = 0
    /// Resting flow orders (id, price in ticks), in the order they were placed — an array, so the
    /// cancel sweep is deterministic without sorting.
    private var resting: [(id: String, side: Side, ticks: Int64)] = []
    private var steps = 0

    public init(instrument: Instrument, parameters: FlowParameters, seed: UInt64) {
        self.instrument = instrument
        self.parameters = parameters
        random = SeededRandom(seed: seed)
        latentMid = parameters.startPrice / instrument.tickSize.doubleValue
        anchor = latentMid
        variance = parameters.volatilityPerStep * parameters.volatilityPerStep
        var last = latentMid
        for _ in 0..<Swift.max(0, parameters.informedHorizonSteps) {
            last = nextLatent(after: last)
            ahead.append(last)
        }
    }

    /// The latent mid one step after `mid` (GARCH variance, log-normal move).
    private mutating func nextLatent(after mid: Double) -> Double {
        let p = parameters
        let omega = p.volatilityPerStep * p.volatilityPerStep * Swift.max(0, 1 - p.garchAlpha - p.garchBeta)
        variance = omega + p.garchAlpha * lastShock * lastShock + p.garchBeta * variance
        lastShock = sqrt(variance) * random.normal()
        return Swift.max(mid * exp(lastShock), 10)
    }

    public var restingOrderCount: Int { resting.count }

    /// One step of the market: the takers trade on the book as it was published (moving the makers' anchor),
    /// then the latent value moves and the makers follow their anchor (cancel what it left behind, place,
    /// refill, top up).
    public mutating func step(_ engine: inout MatchingEngine, now: Int64) -> EngineEvents {
        var events = EngineEvents()
        let p = parameters
        let bookMid = midTicks(engine)
        for _ in 0..<random.poisson(p.marketOrdersPerStep) {
            let informed = random.unit() < p.informedShare
            guard let bookMid else { continue }
            let side: Side, limit: Int64, median: Double
            if informed {
                // Towards the value `informedHorizonSteps` ahead, at no worse than that price: an IOC limit there.
                let target = ahead.last ?? latentMid
                side = target > bookMid ? .buy : .sell
                limit = side == .buy ? Int64(target.rounded(.down)) : Int64(target.rounded(.up))
                median = p.marketMedianLots * p.informedSizeMultiple
            } else {
                // A market order, within the exchange's price protection: no fill beyond `maxDistanceTicks`.
                side = random.unit() < 0.5 ? .buy : .sell
                let band = Double(p.maxDistanceTicks)
                limit = side == .buy ? Int64((bookMid + band).rounded(.down)) : Int64((bookMid - band).rounded(.up))
                median = p.marketMedianLots
            }
            guard limit > 0 else { continue }
            take(PlaceRequest(symbol: instrument.symbol, side: side, type: .limit, qty: marketLots(median: median),
                              price: instrument.price(ticks: limit), timeInForce: .ioc), &engine, now: now, events: &events)
        }
        if ahead.isEmpty {
            latentMid = nextLatent(after: latentMid)
        } else {
            latentMid = ahead.removeFirst()
            ahead.append(nextLatent(after: ahead.last ?? latentMid))
        }
        cancelSome(&engine, now: now)
        for _ in 0..<random.poisson(p.limitOrdersPerStep) {
            let side: Side = random.unit() < 0.5 ? .buy : .sell
            let distance = 1 + Int64(random.exponential(mean: p.depthDecayTicks))
            placeLimit(side: side, ticks: side == .buy ? Int64(anchor.rounded(.down)) - distance + 1
                                                        : Int64(anchor.rounded(.up)) + distance - 1,
                       &engine, now: now, events: &events)
        }
        refill(&engine, now: now, events: &events)
        replenish(&engine, now: now, events: &events)
        return events
    }

    /// Keeps at least `minLevels` levels on each side within `maxDistanceTicks` of the anchor,
    /// filling the nearest empty prices outward from the touch — never beyond a far-away order
    /// (an account's resting bid 50 % below the market must not become the flow's frontier).
    private mutating func refill(_ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        for side in [Side.buy, .sell] {
            // The common case: the nearest `minLevels` levels exist and lie within the band.
            let near = engine.depth(instrument.symbol, side: side, limit: parameters.minLevels)
            if near.count == parameters.minLevels, let worst = near.last.flatMap({ ticks($0.price) }),
               abs(Double(worst) - anchor) <= Double(parameters.maxDistanceTicks) {
                continue
            }
            let start = nearest(side, engine)
            let band = parameters.maxDistanceTicks
            var occupied = Set<Int64>()
            for level in engine.depth(instrument.symbol, side: side, limit: parameters.minLevels * 4) {
                guard let t = ticks(level.price), abs(t - start) <= band else { continue }
                occupied.insert(t)
            }
            var price = start
            var attempts = 0
            while occupied.count < parameters.minLevels && attempts < parameters.minLevels * 4 {
                attempts += 1
                let gap = 1 + Int64(random.exponential(mean: 2))
                price = side == .buy ? price - gap : price + gap
                guard abs(price - start) <= band, price > 0 else { break }
                if occupied.contains(price) { continue }
                placeLimit(side: side, ticks: price, &engine, now: now, events: &events)
                occupied.insert(price)
            }
        }
    }

    /// The price next to the anchor a maker of `side` quotes first: at or below it for bids, at or above for
    /// asks, never through the other side's touch.
    private func nearest(_ side: Side, _ engine: MatchingEngine) -> Int64 {
        let oppositeBest = engine.depth(instrument.symbol, side: side.opposite, limit: 1).first.flatMap { ticks($0.price) }
        return side == .buy
            ? Swift.min(Int64(anchor.rounded(.down)), (oppositeBest ?? .max) - 1)
            : Swift.max(Int64(anchor.rounded(.up)), (oppositeBest ?? .min) + 1)
    }

    /// Tops up the first `depthLots.count` prices next to the anchor towards their depth.
    private mutating func replenish(_ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        let targets = parameters.depthLots
        guard !targets.isEmpty else { return }
        for side in [Side.buy, .sell] {
            let best = nearest(side, engine)
            let levels = engine.depth(instrument.symbol, side: side, limit: targets.count * 4)
            for (index, target) in targets.enumerated() where random.unit() < parameters.replenishProbability {
                let price = side == .buy ? best - Int64(index) : best + Int64(index)
                let have = levels.first { ticks($0.price) == price }.map { $0.qty.doubleValue / lot.doubleValue } ?? 0
                let missing = Int64((target - have).rounded(.down))
                guard missing >= 1, price > 0 else { continue }
                let request = PlaceRequest(symbol: instrument.symbol, side: side, type: .limit, qty: quantity(lots: missing),
                                           price: instrument.price(ticks: price), timeInForce: .postOnly)
                send(request, &engine, now: now, events: &events)
            }
        }
    }

    private mutating func cancelSome(_ engine: inout MatchingEngine, now: Int64) {
        steps += 1
        let far = Double(parameters.maxDistanceTicks)
        // Every 50 steps, forget orders that accounts' orders have filled since.
        let reconcile = steps % 50 == 0
        var kept: [(id: String, side: Side, ticks: Int64)] = []
        kept.reserveCapacity(resting.count)
        for order in resting {
            if reconcile && engine.orders[order.id]?.status.isOpen != true { continue }
            let stale = order.side == .buy ? Double(order.ticks) > anchor : Double(order.ticks) < anchor
            if abs(Double(order.ticks) - anchor) > far || random.unit() < parameters.cancelProbability
                || (stale && random.unit() < parameters.staleCancelProbability) {
                engine.cancelFlowOrder(order.id, now: now)
            } else {
                kept.append(order)
            }
        }
        resting = kept
    }

    private mutating func placeLimit(side: Side, ticks: Int64, _ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        guard ticks > 0 else { return }
        let price = instrument.price(ticks: ticks)
        // Post-only: the flow's makers never take; a price through the other side's touch is not placed.
        let request = PlaceRequest(symbol: instrument.symbol, side: side, type: .limit, qty: lots(mean: parameters.meanLots), price: price,
                                   timeInForce: .postOnly)
        send(request, &engine, now: now, events: &events)
    }

    /// A taker's order; what it traded moves the makers' anchor its way.
    private mutating func take(_ request: PlaceRequest, _ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        guard let order = send(request, &engine, now: now, events: &events) else { return }
        let filled = order.filledQty.doubleValue / lot.doubleValue
        guard filled > 0 else { return }
        let move = parameters.informedShare * parameters.impactBps / 10_000 * anchor
            * (filled / Swift.max(1, parameters.marketMedianLots)).squareRoot()
        anchor += request.side == .buy ? move : -move
    }

    /// Places a flow order; a maker's that rests is tracked for the cancel sweep, makers it filled
    /// completely are forgotten. The order as the engine left it, nil when refused.
    @discardableResult
    private mutating func send(_ request: PlaceRequest, _ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) -> SimOrder? {
        guard let (order, produced) = try? engine.place(request, owner: .flow, now: now) else { return nil }
        events.merge(produced)
        if order.status.isOpen, let ticks = ticks(order.price) { resting.append((order.orderId, order.side, ticks)) }
        // Flow makers that filled completely leave the book.
        let filled = Set(produced.orders.lazy.filter { $0.owner == .flow && !$0.status.isOpen }.map(\.orderId))
        if !filled.isEmpty { resting.removeAll { filled.contains($0.id) } }
        return order
    }

    /// A quantity of at least one lot and at least the minimum, exponential around `mean` lots.
    private mutating func lots(mean: Double) -> Quantity {
        quantity(lots: Int64(1 + random.exponential(mean: mean)))
    }

    /// A market order's quantity: lognormal around `median` lots, at least one lot and the minimum, at most
    /// `maxMarketLots`.
    private mutating func marketLots(median: Double) -> Quantity {
        let drawn = median * exp(parameters.marketSizeSigma * random.normal())
        return quantity(lots: Int64(Swift.min(Swift.max(drawn.rounded(), 1), Swift.max(parameters.maxMarketLots, 1))))
    }

    /// `count` lots, at least the instrument's minimum.
    private func quantity(lots count: Int64) -> Quantity {
        Swift.max(FixedDecimal(mantissa: count * lot.mantissa, scale: lot.scale), instrument.minQty)
    }

    /// The lot sizes count in: the qty step (1 for an instrument without one).
    private var lot: FixedDecimal { instrument.qtyStep.isZero ? FixedDecimal(1) : instrument.qtyStep }

    private func ticks(_ price: Price) -> Int64? {
        price.divided(by: instrument.tickSize, scale: 0, rounding: .halfEven)?.mantissa
    }

    private func midTicks(_ engine: MatchingEngine) -> Double? {
        guard let bid = engine.depth(instrument.symbol, side: .buy, limit: 1).first.flatMap({ ticks($0.price) }),
              let ask = engine.depth(instrument.symbol, side: .sell, limit: 1).first.flatMap({ ticks($0.price) }) else { return nil }
        return Double(bid + ask) / 2
    }
}

extension Instrument {
    /// The price `ticks` ticks above zero, on this instrument's grid.
    func price(ticks: Int64) -> Price {
        Price(mantissa: ticks * tickSize.mantissa, scale: tickSize.scale)
    }
}
