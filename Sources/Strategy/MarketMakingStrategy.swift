import Market
import MarketContext

/// The market-making decision on one symbol, the same live, in paper mode and in a backtest: market
/// events and timer ticks (each with its time) go in; order intents come out. It keeps the market
/// inputs, the fill-intensity estimate, the quote model, the risk manager and the ladder rung of each
/// order; the orders' states and the position come in with each decision (the venue's bookkeeping
/// owns them). No clock, no I/O, no wire strings.
///
/// A decision runs on a trusted book at most once per `quoteInterval` of event time: model depths →
/// ladder on the instrument's grid → moves of the live orders toward it (amend when more than
/// `refreshToleranceTicks` away, replace when older than `maxOrderAge`, cancel what no rung wants,
/// place what is missing), within `ordersPerSecond` and `maxActivePerSide`. A timer tick evaluates
/// risk only: a silent feed, a lost connector or a broken book halts, and a halt cancels everything.
public struct MarketMakingStrategy: Sendable {
    /// How to quote: the `strategy.*` and `risk.*` settings the decision reads.
    public struct Policy: Sendable, Equatable {
        public var enabled = true
        public var model = QuoteModel.Parameters()
        public var orderSize = Quantity(mantissa: 1, scale: 3)
        /// Sizes from the touch outwards (empty: `orderSize` on every rung).
        public var levelSizes: [Quantity] = []
        public var orderLevels = 1
        public var levelSpacingTicks: Int64 = 5
        public var refreshToleranceTicks: Int64 = 2
        /// Event-time nanoseconds after which a live quote is replaced.
        public var maxOrderAge: Int64 = 60_000_000_000
        /// At most one quoting decision per this much event time, ns.
        public var quoteInterval: Int64 = 200_000_000
        public var maxActivePerSide = 10
        public var ordersPerSecond = 8
        public var risk = RiskManager.Limits()
        /// No market event for this long (against a tick's time): the feed is stale.
        public var staleAfter: Int64 = 60_000_000_000
        /// The context's candles, VWAP, profile and windows (`context.*`).
        public var context = ContextConfiguration()
        /// The shell shows the market context and the model's inputs (the bot: its status, records, backfill and
        /// dashboard). A backtest, which shows neither, turns this off; then each is kept only when the decision
        /// reads it — the same decisions, without a sixth of a backtest's work.
        public var shown = true
        /// The context takes the trades: shown, or read (`volatility_source: candles_1m`).
        public var contextKept: Bool { shown || volatilitySource == .candles1m }
        /// The fill intensity is estimated: shown, or read (GLFT without a configured A or k).
        public var intensityKept: Bool { shown || (model.mode == .glft && (model.a == nil || model.k == nil)) }
        /// `strategy.volatility_source`: σ for the quote model from the book's mid (`book`), or the realised
        /// volatility of the last hour's 1m candles (`candles_1m`; the book's until an hour of candles exists).
        public var volatilitySource = VolatilitySource.book
        /// `strategy.fair_value`: the price the quotes are centred on (mid, microprice, imbalance).
        public var fairValue = FairValue.Parameters()
        /// `strategy.imbalance_levels`: the book imbalance's levels a side.
        public var imbalanceLevels = 5
        /// `strategy.toxicity_*`: widen or pull a side whose recent markouts are worse than a threshold.
        public var toxicity = Toxicity.Parameters()

        public init() {}
    }

    public enum VolatilitySource: String, Sendable, Equatable {
        case book
        case candles1m = "candles_1m"
    }

    /// What the shell knows that the market events do not say.
    public struct Conditions: Sendable, Equatable {
        /// The market source (connector) is up.
        public var connectorUp = true
        /// The account is reconciled and the exchange confirmed the instrument.
        public var ready = true
        /// The market data comes from the venue the orders go to: a live venue never quotes on a
        /// fallback venue's prices (`exchange.fallback`).
        public var pricesFromVenue = true

        public init(connectorUp: Bool = true, ready: Bool = true, pricesFromVenue: Bool = true) {
            self.connectorUp = connectorUp
            self.ready = ready
            self.pricesFromVenue = pricesFromVenue
        }
    }

    /// One decision: what to do, and what changed.
    public struct Decision: Sendable, Equatable {
        public var intents: [OrderIntent] = []
        public var transition: RiskManager.Transition?
        /// Sides that became toxic, or clean again (the shell logs `keel_toxicity`).
        public var toxicity: [Toxicity.Change] = []

        public init() {}
    }

    public let symbol: String
    public let policy: Policy
    /// The grid quotes are built on (the exchange's, once the shell has it).
    public var instrument: Instrument {
        didSet { context.adopt(instrument) }
    }
    /// The symbol's market context — candles, VWAP, profile, CVD, realised volatility — from its trades.
    public private(set) var context: SymbolContext
    /// Off after `stopQuoting()` (the first step of a shutdown).
    public private(set) var quoting = true
    public private(set) var risk: RiskManager
    public private(set) var inputs = MarketInputs()
    public private(set) var bookValid = false
    /// Event time of the last market event of the symbol.
    public private(set) var lastMarketTime: Int64?
    public private(set) var lastDepths: QuoteModel.Depths?
    public private(set) var lastInventory = 0.0
    public private(set) var lastLadder = QuoteLadder()
    /// The price the last quotes were centred on.
    public private(set) var lastFair: Price?
    public private(set) var fair: FairValue
    /// Markouts of our fills at 1, 5 and 30 s (adverse selection).
    public private(set) var markouts = Markouts()
    public private(set) var toxicity: Toxicity
    /// Markouts resolved since the shell last took them (for storage); the oldest go past 1,000.
    private var resolvedMarkouts: [Markouts.Resolved] = []
    /// The ladder rung each order of ours stands for.
    public private(set) var levels: [String: Int] = [:]
    /// Client ids are `<prefix><n>`; `n` may not pass `idsAvailableThrough` (ids the shell made durable).
    public let clientIdPrefix: String
    public private(set) var sequence = 0
    public var idsAvailableThrough = Int.max
    private var intensity = FillIntensity()
    private var model: QuoteModel
    private var budget: RateBudget
    private var lastDecision: Int64 = 0
    private var lastPrune: Int64 = 0

    public init(symbol: String, instrument: Instrument, policy: Policy, clientIdPrefix: String) {
        self.symbol = symbol
        self.instrument = instrument
        self.policy = policy
        self.clientIdPrefix = clientIdPrefix
        risk = RiskManager(limits: policy.risk)
        context = SymbolContext(instrument: instrument, configuration: policy.context)
        model = QuoteModel(parameters: policy.model)
        fair = FairValue(parameters: policy.fairValue)
        toxicity = Toxicity(parameters: policy.toxicity)
        var inputsConfiguration = MarketInputs.Configuration()
        inputsConfiguration.imbalanceDepth = policy.imbalanceLevels
        inputs = MarketInputs(configuration: inputsConfiguration)
        budget = RateBudget(limit: policy.ordersPerSecond)
    }

    // MARK: Inputs

    /// A market event of the symbol (others are ignored), at its time.
    public mutating func onMarket(_ event: MarketEvent, time: Int64) {
        guard event.symbol == symbol else { return }
        lastMarketTime = max(lastMarketTime ?? time, time)
        switch event {
        case .depth(let depth):
            // The book itself is not kept (holding it past the event would make the feed copy it on its
            // next update): the inputs keep what the decision reads, the touch among them.
            bookValid = true
            inputs.onBook(depth.book, time: time)
            let tick = instrument.tickSize.doubleValue
            fair.observe(imbalance: inputs.snapshot.imbalance, midTicks: inputs.snapshot.mid.map { $0.doubleValue / tick }, time: time)
            if let mid = inputs.snapshot.mid {
                markouts.mid(mid, time: time, into: &resolvedMarkouts)
                // Cut back to 1,000 in bulk: one move per thousand markouts, not a thousand-element move per markout.
                if resolvedMarkouts.count > 2_000 { resolvedMarkouts.removeFirst(resolvedMarkouts.count - 1_000) }
            }
        case .trade(let trade):
            // Candles are keyed by the exchange's time of each trade; the inputs run on event time.
            if policy.contextKept { context.onTrade(trade) }
            inputs.onTrade(trade, time: time)
            if policy.intensityKept, let mid = inputs.snapshot.mid {
                intensity.record(distanceTicks: abs((trade.price - mid).doubleValue) / instrument.tickSize.doubleValue, time: time)
            }
        case .bookInvalid:
            bookValid = false
        }
    }

    /// The symbol's book is not to be trusted (a broken book seen at `time`, or the market source went
    /// away: nil) until a trusted depth comes again.
    public mutating func marketLost(time: Int64?) {
        bookValid = false
        if let time { lastMarketTime = max(lastMarketTime ?? time, time) }
    }

    /// After a depth event: risk, then (at most once per `quoteInterval`) the orders toward the ladder.
    public mutating func decide(time: Int64, ledger: PositionLedger, live: [TrackedOrder], conditions: Conditions) -> Decision {
        guard time - lastDecision >= policy.quoteInterval else { return Decision() }
        lastDecision = time
        var decision = evaluate(time: time, ledger: ledger, live: live, conditions: conditions)
        decision.toxicity = toxicity.update(markouts: markouts, time: time)
        guard quoting, policy.enabled, risk.state != .halted, bookValid, let mid = inputs.snapshot.mid else { return decision }
        let inventory = ledger.position.doubleValue / max(policy.orderSize.doubleValue, 1e-12)
        let tick = instrument.tickSize.doubleValue
        let (bestBid, bestAsk) = (inputs.snapshot.bestBid, inputs.snapshot.bestAsk)
        // The quotes are centred on the fair price; the depths (and the inventory skew) apply from it.
        let center = fair.price(mid: mid, microprice: inputs.snapshot.microprice, imbalance: inputs.snapshot.imbalance,
                                tick: instrument.tickSize) ?? mid
        let touch = bestBid.flatMap { bid in bestAsk.map { ask in ((center - bid).doubleValue / tick, (ask - center).doubleValue / tick) } }
        let sigma = policy.volatilitySource == .candles1m ? context.realisedVolatility(minutes: 60) ?? inputs.snapshot.volatility : inputs.snapshot.volatility
        var depths = model.depths(mid: mid.doubleValue, tick: tick, volatility: sigma,
                                  intensity: policy.intensityKept ? intensity.estimate(at: time) : nil, inventory: inventory, touch: touch)
        // Toxic flow: that side further away, or not quoted for a while.
        let widen = toxicity.widening(ticksPerBp: mid.doubleValue / 10_000 / tick)
        depths.bidTicks += widen.bid
        depths.askTicks += widen.ask
        let sides = risk.allowedSides(position: ledger.position).subtracting(toxicity.pulled(at: time))
        var shape = QuoteLadder.Shape(sizes: policy.levelSizes.isEmpty ? [policy.orderSize] : policy.levelSizes)
        shape.levels = policy.orderLevels
        shape.spacingTicks = policy.levelSpacingTicks
        shape.maxOrderQty = policy.risk.maxOrderQty
        shape.maxPosition = policy.risk.maxPosition
        let ladder = QuoteLadder.build(depths: depths, mid: center, bestBid: bestBid, bestAsk: bestAsk,
                                       instrument: instrument, shape: shape, position: ledger.position, sides: sides)
        forgetLevels(notIn: live, time: time)
        lastDepths = depths
        lastFair = center
        lastInventory = inventory
        lastLadder = ladder
        decision.intents += refresh(ladder, live: live, time: time)
        return decision
    }

    /// A timer tick (every half second without events too): risk only, so a silent feed halts.
    public mutating func tick(time: Int64, ledger: PositionLedger, live: [TrackedOrder], conditions: Conditions) -> Decision {
        if policy.contextKept { context.advance(to: time - policy.context.tickLateness) }
        return evaluate(time: time, ledger: ledger, live: live, conditions: conditions)
    }

    // MARK: Fills

    /// A fill of ours (its execution id), at its event time: its markouts start.
    public mutating func onFill(id: String, side: Side, price: Price, time: Int64) {
        markouts.fill(id: id, side: side, price: price, time: time)
    }

    /// The markouts resolved since the last call.
    public mutating func takeResolvedMarkouts() -> [Markouts.Resolved] {
        defer { resolvedMarkouts = [] }
        return resolvedMarkouts.count > 1_000 ? Array(resolvedMarkouts.suffix(1_000)) : resolvedMarkouts
    }

    // MARK: History

    /// A REST backfill begins: the context holds the live trades until it ends (the seam).
    public mutating func beginBackfill() {
        context.beginBackfill()
    }

    /// The backfill's closed 1m candles into the context, then the held trades they do not cover.
    public mutating func finishBackfill(_ minutes: [Candle]) {
        context.finishBackfill(minutes)
    }

    /// The venue's own maker fee (a live account's, from its fills): the quotes pay it from here on.
    public mutating func adoptMakerFee(_ rate: Double) {
        model.parameters.makerFee = rate
    }

    /// The maker fee the quotes pay.
    public var makerFee: Double { model.parameters.makerFee }

    /// The least spread a quote may have, in bp of the mid (see `QuoteModel.floorBps`).
    public var floorBps: Double { model.floorBps }

    // MARK: Control

    public mutating func halt(_ reason: String, time: Int64, live: [TrackedOrder]) -> Decision {
        var decision = Decision()
        if let transition = risk.halt(reason, time: time) { decision = transitioned(transition, live: live) }
        return decision
    }

    public mutating func resume(time: Int64) -> RiskManager.Transition? {
        risk.resume(time: time)
    }

    /// A closed round trip's PnL, for the consecutive-loss limit.
    public mutating func roundTripClosed(pnl: FixedDecimal) {
        risk.roundTripClosed(pnl: pnl)
    }

    /// No new quotes from here on.
    public mutating func stopQuoting() {
        quoting = false
    }

    /// Whether quotes may go out (the shell adds its own reasons).
    public var allowed: Bool { quoting && policy.enabled && risk.state != .halted }

    // MARK: Inside

    private mutating func evaluate(time: Int64, ledger: PositionLedger, live: [TrackedOrder], conditions: Conditions) -> Decision {
        let mid = inputs.snapshot.mid
        var facts = RiskManager.Facts(position: ledger.position, markPrice: mid, pnl: ledger.netPnl(mark: mid))
        facts.feedStale = lastMarketTime.map { time - $0 > policy.staleAfter } ?? false
        facts.connectorUp = conditions.connectorUp
        facts.bookValid = bookValid
        facts.ready = conditions.ready
        facts.pricesFromVenue = conditions.pricesFromVenue
        guard let transition = risk.evaluate(facts, time: time) else { return Decision() }
        return transitioned(transition, live: live)
    }

    /// Halting cancels what is live; with nothing live (e.g. before the reconciliation) there is nothing to cancel.
    private func transitioned(_ transition: RiskManager.Transition, live: [TrackedOrder]) -> Decision {
        var decision = Decision()
        decision.transition = transition
        if transition.to == .halted, transition.from != .halted, live.contains(where: { $0.symbol == symbol && $0.isLive }) {
            decision.intents.append(.cancelAll(symbol: symbol, reason: "halted"))
        }
        return decision
    }

    /// Moves the live orders toward the ladder. `live` is updated as intents are made, so a rung is
    /// not filled twice and the per-side limit counts what was just placed.
    private mutating func refresh(_ ladder: QuoteLadder, live current: [TrackedOrder], time: Int64) -> [OrderIntent] {
        var intents: [OrderIntent] = []
        var live = current.filter { $0.symbol == symbol && $0.isLive }
        func index(_ clientId: String) -> Int? { live.firstIndex { $0.clientId == clientId } }
        for side in [Side.buy, .sell] {
            let wanted = side == .buy ? ladder.bids : ladder.asks
            // Orders no rung wants any more.
            for order in live where order.side == side && (order.status == .new || order.status == .partiallyFilled) {
                let level = levels[order.clientId]
                if level == nil || level! >= wanted.count, budget.take(now: time) {
                    intents.append(.cancel(clientId: order.clientId, symbol: symbol))
                    live[index(order.clientId)!].status = .pendingCancel
                }
            }
            for quote in wanted {
                if let order = live.first(where: { $0.side == side && levels[$0.clientId] == quote.level && $0.status != .pendingCancel }) {
                    guard order.status == .new || order.status == .partiallyFilled, order.pendingAmend == nil else { continue }
                    let away = ((order.price - quote.price).doubleValue / instrument.tickSize.doubleValue).magnitude
                    if away > Double(policy.refreshToleranceTicks) {
                        if budget.take(now: time) {
                            intents.append(.amend(clientId: order.clientId, symbol: symbol, price: quote.price))
                            live[index(order.clientId)!].pendingAmend = (quote.price, nil)
                        }
                    } else if time - order.createdTime > policy.maxOrderAge, budget.take(now: time) {
                        intents.append(.cancel(clientId: order.clientId, symbol: symbol))
                        live[index(order.clientId)!].status = .pendingCancel
                    }
                } else if live.filter({ $0.side == side }).count < policy.maxActivePerSide,
                          sequence < idsAvailableThrough, budget.take(now: time) {
                    sequence += 1
                    let request = PlaceRequest(symbol: symbol, side: side, type: .limit, qty: quote.qty, price: quote.price,
                                               timeInForce: .postOnly, orderLinkId: "\(clientIdPrefix)\(sequence)")
                    levels[request.orderLinkId] = quote.level
                    intents.append(.place(request, level: quote.level))
                    live.append(TrackedOrder(clientId: request.orderLinkId, symbol: symbol, side: side, price: quote.price,
                                             qty: quote.qty, status: .pendingNew, createdTime: time, updatedTime: time))
                }
            }
        }
        return intents
    }

    /// Rungs of orders no longer live leave memory once a minute (a long run must not grow).
    private mutating func forgetLevels(notIn live: [TrackedOrder], time: Int64) {
        guard time - lastPrune > 60_000_000_000 else { return }
        lastPrune = time
        let ids = Set(live.map(\.clientId))
        // Removed in place: a filtered copy would be sized to what is left, and grow again by rehashing.
        for clientId in levels.keys.filter({ !ids.contains($0) }) { levels.removeValue(forKey: clientId) }
    }
}
