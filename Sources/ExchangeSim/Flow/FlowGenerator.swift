#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Market

/// The synthetic market of one symbol, in simulator steps (the server steps every 20 ms by default).
///
/// A latent mid follows a geometric random walk whose variance clusters (GARCH(1,1):
/// σ²ₜ = ω + α·ε²ₜ₋₁ + β·σ²ₜ₋₁, with ω set so the long-run σ is `volatilityPerStep`). Limit orders
/// arrive around it, their distance from the mid exponential with mean `depthDecayTicks`, so the book
/// thins out away from the touch; resting flow orders are cancelled at random and when they drift
/// beyond `maxDistanceTicks`; market orders lean towards where the latent mid has moved and walk
/// the book. The model lives in `Double` and in tick counts; every order it sends is an exact price
/// on the tick grid and an exact quantity on the lot grid.
public struct FlowParameters: Sendable, Codable, Equatable {
    public var startPrice: Double
    /// Long-run standard deviation of the mid's log return per step.
    public var volatilityPerStep: Double = 0.00003
    public var garchAlpha: Double = 0.08
    public var garchBeta: Double = 0.9
    public var limitOrdersPerStep: Double = 6
    public var marketOrdersPerStep: Double = 0.6
    /// Chance per step that each resting flow order is withdrawn.
    public var cancelProbability: Double = 0.02
    /// Mean size of a limit order, in lots of the qty step; market orders are three times larger.
    public var meanLots: Double = 40
    public var depthDecayTicks: Double = 12
    /// Levels the flow keeps on each side at least.
    public var minLevels: Int = 60
    public var maxDistanceTicks: Int64 = 2_000

    public init(startPrice: Double) {
        self.startPrice = startPrice
    }
}

public struct FlowGenerator: Sendable {
    public let instrument: Instrument
    public var parameters: FlowParameters
    private var random: SeededRandom
    /// Latent mid in ticks.
    public private(set) var latentMid: Double
    private var variance: Double
    private var lastShock: Double = 0
    /// Resting flow orders (id, price in ticks), in the order they were placed — an array, so the
    /// cancel sweep is deterministic without sorting.
    private var resting: [(id: String, ticks: Int64)] = []
    private var steps = 0

    public init(instrument: Instrument, parameters: FlowParameters, seed: UInt64) {
        self.instrument = instrument
        self.parameters = parameters
        random = SeededRandom(seed: seed)
        latentMid = parameters.startPrice / instrument.tickSize.doubleValue
        variance = parameters.volatilityPerStep * parameters.volatilityPerStep
    }

    public var restingOrderCount: Int { resting.count }

    /// One step of the market: moves the latent mid, cancels, sends market and limit orders.
    public mutating func step(_ engine: inout MatchingEngine, now: Int64) -> EngineEvents {
        var events = EngineEvents()
        let p = parameters
        let omega = p.volatilityPerStep * p.volatilityPerStep * Swift.max(0, 1 - p.garchAlpha - p.garchBeta)
        variance = omega + p.garchAlpha * lastShock * lastShock + p.garchBeta * variance
        lastShock = sqrt(variance) * random.normal()
        latentMid *= exp(lastShock)
        latentMid = Swift.max(latentMid, 10)

        cancelSome(&engine, now: now)
        let bookMid = midTicks(engine)
        for _ in 0..<random.poisson(p.marketOrdersPerStep) {
            // Lean towards the latent mid: that is what moves the book.
            let leanUp = bookMid.map { latentMid > $0 } ?? true
            let side: Side = random.unit() < (leanUp ? 0.65 : 0.35) ? .buy : .sell
            let request = PlaceRequest(symbol: instrument.symbol, side: side, type: .market, qty: lots(mean: p.meanLots * 3))
            send(request, &engine, now: now, events: &events)
        }
        for _ in 0..<random.poisson(p.limitOrdersPerStep) {
            let side: Side = random.unit() < 0.5 ? .buy : .sell
            let distance = 1 + Int64(random.exponential(mean: p.depthDecayTicks))
            placeLimit(side: side, ticks: side == .buy ? Int64(latentMid.rounded(.down)) - distance + 1
                                                        : Int64(latentMid.rounded(.up)) + distance - 1,
                       &engine, now: now, events: &events)
        }
        refill(&engine, now: now, events: &events)
        return events
    }

    /// Keeps at least `minLevels` levels on each side within `maxDistanceTicks` of the latent mid,
    /// filling the nearest empty prices outward from the touch — never beyond a far-away order
    /// (an account's resting bid 50 % below the market must not become the flow's frontier).
    private mutating func refill(_ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        for side in [Side.buy, .sell] {
            // The common case: the nearest `minLevels` levels exist and lie within the band.
            let near = engine.depth(instrument.symbol, side: side, limit: parameters.minLevels)
            if near.count == parameters.minLevels, let worst = near.last.flatMap({ ticks($0.price) }),
               abs(Double(worst) - latentMid) <= Double(parameters.maxDistanceTicks) {
                continue
            }
            let oppositeBest = engine.depth(instrument.symbol, side: side.opposite, limit: 1).first.flatMap { ticks($0.price) }
            // Start at the latent mid, but never through the other side's touch.
            let anchor = side == .buy
                ? Swift.min(Int64(latentMid.rounded(.down)), (oppositeBest ?? .max) - 1)
                : Swift.max(Int64(latentMid.rounded(.up)), (oppositeBest ?? .min) + 1)
            let band = parameters.maxDistanceTicks
            var occupied = Set<Int64>()
            for level in engine.depth(instrument.symbol, side: side, limit: parameters.minLevels * 4) {
                guard let t = ticks(level.price), abs(t - anchor) <= band else { continue }
                occupied.insert(t)
            }
            var price = anchor
            var attempts = 0
            while occupied.count < parameters.minLevels && attempts < parameters.minLevels * 4 {
                attempts += 1
                let gap = 1 + Int64(random.exponential(mean: 2))
                price = side == .buy ? price - gap : price + gap
                guard abs(price - anchor) <= band, price > 0 else { break }
                if occupied.contains(price) { continue }
                placeLimit(side: side, ticks: price, &engine, now: now, events: &events)
                occupied.insert(price)
            }
        }
    }

    private mutating func cancelSome(_ engine: inout MatchingEngine, now: Int64) {
        steps += 1
        let far = Double(parameters.maxDistanceTicks)
        // Every 50 steps, forget orders that accounts' orders have filled since.
        let reconcile = steps % 50 == 0
        var kept: [(id: String, ticks: Int64)] = []
        kept.reserveCapacity(resting.count)
        for order in resting {
            if reconcile && engine.orders[order.id]?.status.isOpen != true { continue }
            if abs(Double(order.ticks) - latentMid) > far || random.unit() < parameters.cancelProbability {
                engine.cancelFlowOrder(order.id, now: now)
            } else {
                kept.append(order)
            }
        }
        resting = kept
    }

    private mutating func placeLimit(side: Side, ticks: Int64, _ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        guard ticks > 0 else { return }
        let price = Price(mantissa: ticks * instrument.tickSize.mantissa, scale: instrument.tickSize.scale)
        let request = PlaceRequest(symbol: instrument.symbol, side: side, type: .limit, qty: lots(mean: parameters.meanLots), price: price)
        send(request, &engine, now: now, events: &events)
    }

    private mutating func send(_ request: PlaceRequest, _ engine: inout MatchingEngine, now: Int64, events: inout EngineEvents) {
        guard let (order, produced) = try? engine.place(request, owner: .flow, now: now) else { return }
        events.merge(produced)
        if order.status.isOpen, let ticks = ticks(order.price) { resting.append((order.orderId, ticks)) }
        // Flow makers that filled completely leave the book.
        let filled = Set(produced.orders.lazy.filter { $0.owner == .flow && !$0.status.isOpen }.map(\.orderId))
        if !filled.isEmpty { resting.removeAll { filled.contains($0.id) } }
    }

    /// A quantity of at least one lot and at least the minimum, exponential around `mean` lots.
    private mutating func lots(mean: Double) -> Quantity {
        let step = instrument.qtyStep.isZero ? FixedDecimal(1) : instrument.qtyStep
        let count = Int64(1 + random.exponential(mean: mean))
        let qty = FixedDecimal(mantissa: count * step.mantissa, scale: step.scale)
        return Swift.max(qty, instrument.minQty)
    }

    private func ticks(_ price: Price) -> Int64? {
        price.divided(by: instrument.tickSize, scale: 0, rounding: .halfEven)?.mantissa
    }

    private func midTicks(_ engine: MatchingEngine) -> Double? {
        guard let bid = engine.depth(instrument.symbol, side: .buy, limit: 1).first.flatMap({ ticks($0.price) }),
              let ask = engine.depth(instrument.symbol, side: .sell, limit: 1).first.flatMap({ ticks($0.price) }) else { return nil }
        return Double(bid + ask) / 2
    }
}
