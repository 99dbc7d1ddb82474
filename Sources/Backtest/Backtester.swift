import Binance
import Bybit
import Execution
import Market
import Strategy

/// A recording replayed through the live code: each raw line → the exchange's feed (its sync rules) →
/// market events → the same `MarketMakingStrategy` the bot runs → intents → a simulated venue (the
/// paper exchange with the backtest's latency, queue and fee models) → the same `TradingAccount`.
/// Streaming: one line at a time, memory bounded by the book and the live orders, not the recording.
///
/// Two clocks, as in the live system: the strategy sees each event at its local receive time (the
/// recording's stamp); with `venueClock: .exchange` the venue matches it at the exchange's own time, so
/// an order sent at local time t reaches the venue at t + order latency and the recorded feed latency
/// counts against it. The recording machine's clock is never exactly the exchange's: as hftbacktest
/// corrects its local stamps, the exchange times are moved onto the local clock by the smallest
/// (local − exchange) seen so far, so the fastest message had no feed latency and no event is seen
/// before it happened. With `.local` (paper trading's view) the venue matches at the local time too.
public struct Backtester {
    public enum Exchange: String, Sendable {
        case bybit
        case binanceUSDM = "binance-usdm"
    }

    public enum VenueClock: String, Sendable {
        case exchange
        case local
    }

    public struct Options: Sendable {
        public var exchange: Exchange
        /// The symbol to trade; nil: the first symbol the recording has a book for.
        public var symbol: String?
        public var policy: MarketMakingStrategy.Policy
        /// The grid the strategy quotes on (the config's instrument).
        public var tickSize: Price
        public var qtyStep: Quantity
        public var minQty: Quantity
        public var venue: PaperExchange.Configuration
        public var venueClock = VenueClock.exchange
        /// The bot's timer: a tick at most this often, without events too (500 ms, as `keel run`).
        public var tickInterval: Int64 = 500_000_000
        /// Equity rows (time, mid, position, PnL) at most this often, event time.
        public var equityInterval: Int64 = 1_000_000_000
        /// The shell's conditions over time (a paper run's order log, for `--parity`): each from its time on,
        /// not ready before the first. Empty: always ready.
        public var conditions: [(time: Int64, conditions: MarketMakingStrategy.Conditions)] = []
        /// Fills of another run on the same market (a paper run's, for `--parity`), in time order: their
        /// markouts are measured on the replay's mids, beside the backtest's own.
        public var shadowFills: [(id: String, time: Int64, side: Side, price: Price)] = []

        public init(exchange: Exchange, policy: MarketMakingStrategy.Policy, tickSize: Price, qtyStep: Quantity, minQty: Quantity,
                    venue: PaperExchange.Configuration) {
            self.exchange = exchange
            self.policy = policy
            self.tickSize = tickSize
            self.qtyStep = qtyStep
            self.minQty = minQty
            self.venue = venue
        }
    }

    /// What the run produces as it goes, for files written while it streams.
    public enum Output {
        case equity(EquityPoint)
        case fill(Fill, mid: Price?)
        case intent(OrderIntent, time: Int64)
    }

    public let options: Options
    public private(set) var summary = BacktestSummary()
    public private(set) var curve = EquityCurve(capacity: 2_000)
    /// Fills kept for the report (bounded like the curve).
    public private(set) var fills = Decimated<Fill>(capacity: 2_000)
    /// Lines of recordings read, and the market events the feed made of them (of any symbol): a recording of
    /// the other exchange is lines and no events.
    public private(set) var linesRead = 0
    public private(set) var feedEvents = 0
    private var feed: any MarketFeed
    private var pending: [MarketEvent] = []
    private var strategy: MarketMakingStrategy?
    private var account: TradingAccount?
    private var venue: PaperExchange
    private var output: (Output) -> Void
    private var nextTick: Int64 = .min
    private var lastEquity: Int64?
    private var lastTime: Int64?
    private var bothQuoted = false
    private var peak: FixedDecimal = .zero
    /// Smallest (local − exchange) seen: the exchange clock moved onto the local one.
    private var skew: Int64?
    private var conditions = MarketMakingStrategy.Conditions()
    private var nextCondition = 0
    private var nextShadow = 0
    /// The markouts of `options.shadowFills`.
    public private(set) var shadowMarkouts = Markouts()
    private var lastPrune: Int64 = 0

    public init(options: Options, output: @escaping (Output) -> Void = { _ in }) {
        self.options = options
        self.output = output
        venue = PaperExchange(configuration: options.venue)
        if !options.conditions.isEmpty { conditions = .init(connectorUp: false, ready: false) }
        switch options.exchange {
        case .bybit: feed = BybitFeed()
        case .binanceUSDM: feed = BinanceFeed(snapshotSymbol: options.symbol)
        }
    }

    /// One line of a recording (`<local_ns> <json>`, or bare JSON timed by the exchange). `each` hears every
    /// event the feed made of it, with the line's stamp, before it is processed (for a prepared recording).
    public mutating func ingest(line: UnsafeRawBufferPointer, each: ((MarketEvent, Int64) -> Void)? = nil) {
        let recorded = RecordedLine(line)
        // The events go to a buffer this type owns between lines (the feed is part of self while it runs).
        var events = pending
        pending = []
        feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { events.append($0) }
        linesRead += 1
        feedEvents += events.count
        for event in events {
            each?(event, recorded.receiveTime)
            process(event, stamp: recorded.receiveTime)
        }
        events.removeAll(keepingCapacity: true)
        pending = events
    }

    /// One event as the feed made it from a line stamped `stamp` (a prepared recording's replay).
    public mutating func ingest(event: MarketEvent, stamp: Int64) {
        process(event, stamp: stamp)
    }

    /// The run's end: the last equity row, the final marks.
    public mutating func finish() {
        guard let time = lastTime else { return }
        sample(time: time, force: true)
        if let strategy, let account {
            summary.close(ledger: account.ledger, mark: strategy.inputs.snapshot.mid)
            summary.markouts = strategy.markouts.sinceStart
        }
    }

    // MARK: Inside

    private mutating func process(_ event: MarketEvent, stamp: Int64) {
        let symbol = event.symbol, exchangeTime = event.exchangeTime, isDepth = event.isDepth
        if strategy == nil {
            guard options.symbol == nil || options.symbol == symbol, isDepth else { return }
            let instrument = Instrument(symbol: symbol, tickSize: options.tickSize, qtyStep: options.qtyStep, minQty: options.minQty)
            // The model quotes with the fee the simulated venue charges (`backtest.maker_fee`, else the paper venue's).
            var policy = options.policy
            policy.model.makerFee = options.venue.makerFeeRate.doubleValue
            // Nothing here shows the context or the model's inputs: each kept only if the decision reads it.
            policy.shown = false
            strategy = MarketMakingStrategy(symbol: symbol, instrument: instrument, policy: policy, clientIdPrefix: "bt-")
            account = TradingAccount(symbol: symbol)
            summary.symbol = symbol
        }
        guard symbol == strategy!.symbol else { return }
        let local = stamp > 0 ? stamp : exchangeTime
        summary.events += 1
        // Uptime of two-sided quoting, integrated over event time.
        if let last = lastTime, local > last {
            summary.observed += local - last
            if bothQuoted { summary.quotedBothSides += local - last }
        }
        lastTime = max(lastTime ?? local, local)
        while nextCondition < options.conditions.count, options.conditions[nextCondition].time <= local {
            conditions = options.conditions[nextCondition].conditions
            nextCondition += 1
        }
        if local >= nextTick {
            if nextTick != .min { carryOut(strategy!.tick(time: local, ledger: account!.ledger, live: account!.live, conditions: conditions), time: local) }
            nextTick = local + options.tickInterval
        }
        var venueTime = local
        if options.venueClock == .exchange, exchangeTime > 0 {
            skew = min(skew ?? (local - exchangeTime), local - exchangeTime)
            venueTime = exchangeTime + skew!
        }
        apply(venue.onMarket(event, time: venueTime), time: local)
        strategy!.onMarket(event, time: local)
        if isDepth, !options.shadowFills.isEmpty, let mid = strategy!.inputs.snapshot.mid {
            while nextShadow < options.shadowFills.count, options.shadowFills[nextShadow].time <= local {
                let fill = options.shadowFills[nextShadow]
                shadowMarkouts.fill(id: fill.id, side: fill.side, price: fill.price, time: fill.time)
                nextShadow += 1
            }
            shadowMarkouts.mid(mid, time: local)
        }
        if isDepth {
            carryOut(strategy!.decide(time: local, ledger: account!.ledger, live: account!.live, conditions: conditions), time: local)
        }
        // Done with the event's book: the venue lets it go (copying its tops only for an order on its way).
        venue.settle()
        sample(time: local, force: false)
        if local - lastPrune > 60_000_000_000 {
            lastPrune = local
            account!.prune(before: local - 60_000_000_000)
        }
    }

    private mutating func carryOut(_ decision: MarketMakingStrategy.Decision, time: Int64) {
        if decision.transition?.to == .halted { summary.halts += 1 }
        for intent in decision.intents {
            let (go, _) = account!.enter(intent, time: time, keep: .outcomes)
            guard go else { continue }
            switch intent {
            case .place: summary.orders += 1
            case .amend: summary.amends += 1
            case .cancel: summary.cancels += 1
            case .cancelAll: break
            }
            output(.intent(intent, time: time))
            apply(venue.submit(intent, time: time), time: time)
        }
        if !decision.intents.isEmpty { updateQuoted() }
    }

    private mutating func apply(_ events: [VenueEvent], time: Int64) {
        guard !events.isEmpty else { return }
        // The order records are not read here: only the outcomes are made.
        for record in account!.apply(events, time: time, keep: .outcomes) {
            switch record {
            case .fill(let fill):
                summary.fills += 1
                if fill.isMaker { summary.makerFills += 1 }
                strategy!.onFill(id: fill.executionId, side: fill.side, price: fill.price, time: time)
                fills.add(fill)
                output(.fill(fill, mid: strategy?.inputs.snapshot.mid))
            case .roundTrip(let pnl):
                strategy!.roundTripClosed(pnl: pnl)
            case .rejected:
                summary.rejected += 1
            case .order, .foreign:
                break
            }
        }
        updateQuoted()
        drawdown()
    }

    private mutating func updateQuoted() {
        let touch = workingTouch()
        bothQuoted = touch.bid != nil && touch.ask != nil
    }

    /// Our best working bid and ask: orders the venue holds, not ones on their way or being cancelled.
    private func workingTouch() -> (bid: Price?, ask: Price?) {
        var bid: Price?, ask: Price?
        guard let account else { return (nil, nil) }
        account.tracker.forEachLive(symbol: account.symbol) { order in
            guard order.status == .new || order.status == .partiallyFilled else { return }
            if order.side == .buy { bid = max(bid ?? order.price, order.price) } else { ask = min(ask ?? order.price, order.price) }
        }
        return (bid, ask)
    }

    private mutating func drawdown() {
        let net = account!.ledger.netPnl(mark: strategy!.inputs.snapshot.mid)
        if net > peak { peak = net }
        if peak - net > summary.maxDrawdown { summary.maxDrawdown = peak - net }
    }

    private mutating func sample(time: Int64, force: Bool) {
        guard force || lastEquity.map({ time - $0 >= options.equityInterval }) ?? true, let strategy, let account else { return }
        lastEquity = time
        drawdown()
        let mid = strategy.inputs.snapshot.mid
        let ledger = account.ledger
        var point = EquityPoint(time: time, mid: mid, position: ledger.position, realised: ledger.realisedPnl,
                                unrealised: ledger.unrealisedPnl(mark: mid), fees: ledger.fees, net: ledger.netPnl(mark: mid))
        (point.ourBid, point.ourAsk) = workingTouch()
        curve.add(point)
        output(.equity(point))
    }
}
