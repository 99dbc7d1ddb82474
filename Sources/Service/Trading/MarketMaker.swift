import Connector
import Execution
import Foundation
import Logging
import Market
import MarketContext
import Storage
import Strategy

/// The strategy in the bot: market inputs → quote model → risk → order refresh, on one symbol, with
/// the venue behind it either the paper exchange (fills simulated on the live feed) or the exchange
/// account through the connector. Both answer with the same `VenueEvent`s, so the strategy cannot
/// tell them apart. Every order is tracked from the moment its client id exists; a foreign order
/// (left by an earlier run) is cancelled unless `strategy.adopt_orders`. A halt cancels everything.
public actor MarketMaker {
    public enum Venue: String, Sendable {
        case paper
        case live
    }

    struct Decision: Sendable {
        var time: Int64
        var text: String
    }

    public let venue: Venue
    public let symbol: String
    let settings: TradingSettings
    /// The grid quotes are built on: the configured one until the exchange's arrives (the exchange's wins).
    private(set) var instrument: Instrument
    /// With an exchange behind the feed, quoting waits until the exchange has confirmed the symbol's grid
    /// and that it is `Trading` (the connector's `instrument`); the stub feed has no exchange to ask.
    private var instrumentConfirmed: Bool
    private var instrumentAskedAt: Int64?
    private var instrumentProblem: String?
    let logger: Logger
    let metrics: BotMetrics
    /// Live venue: one command line to the connector; false when it could not be sent.
    let send: @Sendable (String) async -> Bool
    private let runId: String
    private var sequence = 0
    private var inputs = MarketInputs()
    private var intensity = FillIntensity()
    private let model: QuoteModel
    private var risk: RiskManager
    private var tracker = OrderTracker()
    private var ledger = PositionLedger()
    private var paper: PaperExchange?
    private var budget: RateBudget
    private var levels: [String: Int] = [:]
    private var book: OrderBook?
    private var bookValid = false
    private var connectorUp = false
    /// Live: quoting waits for the connector's account reconciliation after each (re)start.
    private var reconciled: Bool
    private var seenSinceStart: Set<String> = []
    private var quoting = true
    private var lastDecision: Int64 = 0
    private var lastEventTime: Int64 = 0
    private var lastMarketWallTime: Int64?
    private var lastBookReceive: Int64 = 0
    private var lastDepths: QuoteModel.Depths?
    private var lastInventory = 0.0
    private var lastLadder = QuoteLadder()
    private var decisions: [Decision] = []
    private var counts: [String: Int] = [:]
    private let staleAfter: Int64
    /// Orders, their events, fills, snapshots and risk transitions go here (nil: storage.backend none).
    private let storage: StorageWriter?
    private let clientIdBlock: Int
    private let snapshotInterval: Int64
    /// Client ids up to this sequence number are durable (reserved in storage) and may be sent.
    private var reservedThrough = 0
    private var reserving = false
    private var lastSnapshot: Int64 = 0

    init(settings: TradingSettings, symbol: String, staleAfterSeconds: Double, logger: Logger, metrics: BotMetrics,
         storage: StorageWriter? = nil, storageSettings: StorageConfiguration = StorageConfiguration(), askExchangeForInstrument: Bool = false,
         send: @escaping @Sendable (String) async -> Bool) {
        self.settings = settings
        self.symbol = symbol
        venue = settings.paperTrading ? .paper : .live
        instrument = settings.instrument(symbol)
        instrumentConfirmed = !askExchangeForInstrument
        self.logger = logger
        self.metrics = metrics
        self.send = send
        model = QuoteModel(parameters: settings.model)
        risk = RiskManager(limits: settings.risk)
        budget = RateBudget(limit: settings.ordersPerSecond)
        paper = settings.paperTrading ? PaperExchange(configuration: settings.paper) : nil
        reconciled = settings.paperTrading
        staleAfter = Int64(staleAfterSeconds * 1e9)
        // Milliseconds since 1970 in base 36, and two random characters so two bots started in the same
        // millisecond differ: `k<run>-<n>` stays within Bybit's 36 characters.
        runId = String(UInt64(WallClock.nanoseconds() / 1_000_000), radix: 36) + String(UInt16.random(in: 36...1295), radix: 36)
        self.storage = storage
        clientIdBlock = max(storageSettings.clientIdBlock, 1)
        snapshotInterval = Int64(storageSettings.snapshotInterval * 1e9)
        storage?.enqueue(.runStarted(run: runId, venue: venue.rawValue, symbol: symbol, time: WallClock.nanoseconds()))
    }

    /// This run's id: every client id it sends is `k<run>-<n>`.
    public var run: String { runId }

    // MARK: Events

    /// One event from the market source, with the bot's book of the symbol after it.
    public func handle(_ event: ConnectorEvent, book current: (book: OrderBook, valid: Bool)?, now: Int64) async {
        switch event {
        case .depth(let depth) where depth.update.symbol == symbol:
            let time = depth.update.receiveTime > 0 ? depth.update.receiveTime : now
            lastEventTime = max(lastEventTime, time)
            lastMarketWallTime = now
            lastBookReceive = depth.update.receiveTime
            connectorUp = true
            book = current?.book
            bookValid = current?.valid ?? false
            guard let book, bookValid else { return }
            inputs.onBook(book, time: time)
            if paper != nil { await process(paper!.onBook(book, symbol: symbol, time: time)) }
            await decide(time: time, now: now)
        case .trade(var trade) where trade.symbol == symbol:
            let time = trade.receiveTime > 0 ? trade.receiveTime : now
            lastEventTime = max(lastEventTime, time)
            lastMarketWallTime = now
            trade.exchangeTime = time
            inputs.onTrade(trade)
            if let mid = inputs.snapshot.mid {
                let distance = abs((trade.price - mid).doubleValue) / instrument.tickSize.doubleValue
                intensity.record(distanceTicks: distance, time: time)
            }
            if paper != nil { await process(paper!.onTrade(trade)) }
        case .status(let status) where status.status == "connector_started":
            connectorUp = false
            bookValid = false
            if !instrumentConfirmed { await askForInstrument(now: now) }
            if venue == .live {
                reconciled = false
                seenSinceStart = []
            }
        case .status(let status) where status.status == "reconciled" && venue == .live:
            await reconcile(now: now)
        case .order(let update) where venue == .live && update.symbol == symbol:
            seenSinceStart.insert(update.clientId)
            await process([.order(update)])
        case .fill(let fill) where venue == .live && fill.symbol == symbol:
            await process([.fill(fill)])
        case .instrument(_, let exchange, let status) where exchange.symbol == symbol:
            adopt(exchange, status: status, now: now)
        case .error(let failure) where failure.id?.hasPrefix(Self.instrumentIdPrefix) == true:
            instrumentProblem = "\(failure.code): \(failure.message)"
            logger.error("keel_instrument_unavailable", metadata: ["symbol": "\(symbol)", "code": "\(failure.code)", "reason": "\(failure.message)"])
        case .openOrders(let id?, let listed, let count) where venue == .live && listed == symbol:
            openOrderCounts[id] = count
        case .ack(let id, let command) where venue == .live:
            await process([.acknowledged(clientId: id, command: command)])
        case .error(let failure) where venue == .live:
            if let clientId = failure.clientId ?? failure.id, tracker[clientId] != nil {
                let command = lastCommand[clientId] ?? "place"
                await process([.refused(clientId: clientId, command: command, reason: "\(failure.code): \(failure.message)")])
            }
        case .orderUnknown(let orderSymbol, let clientId, let reason) where venue == .live && orderSymbol == symbol:
            if let order = tracker.markUnknown(clientId, reason: reason, time: now) {
                record(order, "unknown", detail: reason, now: now)
                note(now, "order \(clientId) unknown (\(reason)); the connector resolves it")
            }
        case .position(let position) where venue == .live && position.symbol == symbol:
            if ledger.position != position.size {
                if ledger.fills > 0 {
                    logger.warning("keel_position_corrected", metadata: ["ours": "\(ledger.position)", "exchange": "\(position.size)"])
                }
                ledger = PositionLedger(position: position.size, averageEntry: position.entryPrice)
                note(now, "position \(position.size) from the exchange")
            }
        default:
            break
        }
    }

    /// Every half second without events too: a silent feed or a lost connector halts quoting.
    public func tick(now: Int64) async {
        if !instrumentConfirmed, instrumentAskedAt.map({ now - $0 > Self.instrumentRetry }) ?? connectorUp { await askForInstrument(now: now) }
        await decide(time: lastEventTime, now: now, force: true)
        if now - lastSnapshot >= snapshotInterval { snapshot(now: now) }
    }

    /// The last records of the run (a final position and PnL snapshot, its end); the writer flushes them.
    public func recordRunEnd(now: Int64) {
        snapshot(now: now)
        storage?.enqueue(.runEnded(run: runId, time: now))
    }

    // MARK: The exchange's instrument

    /// How long an unanswered (or refused) `instrument` waits before it is asked again: 15 s.
    static let instrumentRetry: Int64 = 15_000_000_000
    /// Every `instrument` command's id starts so; the connector's error answering one carries it.
    static let instrumentIdPrefix = "instrument-"

    private func askForInstrument(now: Int64) async {
        instrumentAskedAt = now
        sequence += 1
        _ = await send(ConnectorCommand.instrument(id: "\(Self.instrumentIdPrefix)\(runId)-\(sequence)", symbol: symbol).line)
    }

    /// The exchange's grid replaces the configured one (logged when they differ); quoting may start once
    /// the symbol is `Trading`.
    private func adopt(_ exchange: Instrument, status: String, now: Int64) {
        let configured = settings.instrument(symbol)
        let grid: Logger.Metadata = [
            "symbol": "\(symbol)", "status": "\(status)",
            "tick_size": "\(exchange.tickSize)", "qty_step": "\(exchange.qtyStep)", "min_qty": "\(exchange.minQty)",
            "max_qty": "\(exchange.maxQty.map { "\($0)" } ?? "none")", "min_notional": "\(exchange.minNotional.map { "\($0)" } ?? "none")"]
        if configured.gridDiffers(from: exchange) {
            logger.warning("keel_instrument_differs", metadata: grid.merging([
                "configured": "tick_size \(configured.tickSize), qty_step \(configured.qtyStep), min_qty \(configured.minQty)",
                "fix": "set strategy.tick_size, strategy.qty_step and strategy.min_qty to the exchange's values; the exchange's are used"]) { $1 })
        } else {
            logger.info("keel_instrument_confirmed", metadata: grid)
        }
        instrument = exchange
        guard status == "Trading" else {
            // Also from a late answer after quoting began: the symbol stopped trading, so quoting stops.
            instrumentConfirmed = false
            instrumentProblem = "\(symbol) is \(status) on the exchange, not Trading"
            logger.error("keel_instrument_not_trading", metadata: grid)
            return
        }
        instrumentProblem = nil
        if !instrumentConfirmed { note(now, "instrument \(symbol) from the exchange: tick \(exchange.tickSize), lot \(exchange.qtyStep), min \(exchange.minQty)") }
        instrumentConfirmed = true
    }

    // MARK: Control

    public func halt(reason: String, now: Int64) async {
        if let transition = risk.halt(reason, time: now) { await transitioned(transition, now: now) }
    }

    public func resume(now: Int64) async {
        if let transition = risk.resume(time: now) { await transitioned(transition, now: now) }
    }

    /// The first shutdown step: no new quotes from here on.
    public func stopQuoting(now: Int64) {
        quoting = false
        note(now, "quoting stopped (shutdown)")
    }

    /// Cancels every order and waits until none is live (or `timeout`); true when none is.
    public func cancelAllAndWait(timeout: Duration) async -> Bool {
        let now = WallClock.nanoseconds()
        // Paper time only moves with market data, and after a silent feed it lags the clock the order
        // states were stamped with: the stop moves it to now, so the cancels land (and are not "older").
        let start = paper != nil ? max(lastEventTime, now) : lastEventTime
        await cancelEverything(reason: "shutdown", time: start, now: now)
        if paper != nil {
            // An order still on its way to the paper book lands after the cancel-all; cancel again until none is live.
            var time = start
            for _ in 0..<4 {
                time += settings.paper.latency + 1
                await process(paper!.advance(to: time))
                if tracker.live(symbol: symbol).isEmpty { break }
                await cancelEverything(reason: "shutdown: orders that landed after the cancel", time: time, now: now)
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if tracker.live(symbol: symbol).isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return tracker.live(symbol: symbol).isEmpty
    }

    public var liveOrders: Int { tracker.live(symbol: symbol).count }

    /// Orders sent so far (placed, not amended).
    public var sentOrders: Int { counts["sent", default: 0] }

    private var openOrderCounts: [String: Int] = [:]

    /// After a cancel-all: asks the exchange itself (the connector's `open_orders`, over REST) whether any order
    /// of the symbol is still open; if so cancels all again and asks again, up to `attempts` times. Returns the
    /// exchange's last count (0: verified closed), or nil when it never answered. Paper: 0.
    public func verifyNothingOpen(attempts: Int = 3, answerTimeout: Duration = .seconds(4)) async -> Int? {
        guard venue == .live else { return 0 }
        var last: Int?
        for attempt in 1...max(attempts, 1) {
            sequence += 1
            let id = "open-orders-\(runId)-\(sequence)"
            guard await send(ConnectorCommand.openOrders(id: id, symbol: symbol).line) else { return nil }
            let deadline = ContinuousClock.now + answerTimeout
            while openOrderCounts[id] == nil, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(25)) }
            guard let count = openOrderCounts.removeValue(forKey: id) else {
                logger.warning("keel_open_orders_unanswered", metadata: ["attempt": "\(attempt)"])
                continue
            }
            last = count
            let now = WallClock.nanoseconds()
            if count == 0 {
                logger.info("keel_orders_verified_closed", metadata: ["symbol": "\(symbol)", "attempts": "\(attempt)"])
                note(now, "the exchange lists no open order of \(symbol) (verified over REST)")
                return 0
            }
            logger.warning("keel_orders_still_open", metadata: ["symbol": "\(symbol)", "open": "\(count)", "attempt": "\(attempt)"])
            await cancelEverything(reason: "the exchange still lists \(count) open", time: lastEventTime, now: now)
            try? await Task.sleep(for: .milliseconds(500))
        }
        return last
    }

    // MARK: Deciding

    private func decide(time: Int64, now: Int64, force: Bool = false) async {
        if !force && time - lastDecision < settings.quoteIntervalMilliseconds * 1_000_000 { return }
        if !force { lastDecision = time }
        let mid = inputs.snapshot.mid
        var facts = RiskManager.Facts(position: ledger.position, markPrice: mid, pnl: ledger.netPnl(mark: mid))
        facts.feedStale = lastMarketWallTime.map { now - $0 > staleAfter } ?? false
        facts.connectorUp = connectorUp
        facts.bookValid = bookValid
        facts.ready = reconciled && instrumentConfirmed
        if let transition = risk.evaluate(facts, time: now) { await transitioned(transition, now: now) }
        publish(mid: mid)
        guard !force, quoting, settings.enabled, risk.state != .halted, let book, let mid else { return }
        let inventory = ledger.position.doubleValue / max(settings.orderSize.doubleValue, 1e-12)
        let depths = model.depths(mid: mid.doubleValue, tick: instrument.tickSize.doubleValue, volatility: inputs.snapshot.volatility,
                                  intensity: intensity.estimate(at: time), inventory: inventory)
        var shape = QuoteLadder.Shape(sizes: settings.levelSizes.isEmpty ? [settings.orderSize] : settings.levelSizes)
        shape.levels = settings.orderLevels
        shape.spacingTicks = settings.levelSpacingTicks
        shape.maxOrderQty = settings.risk.maxOrderQty
        shape.maxPosition = settings.risk.maxPosition
        let ladder = QuoteLadder.build(depths: depths, mid: mid, bestBid: book.bestBid?.price, bestAsk: book.bestAsk?.price,
                                       instrument: instrument, shape: shape, position: ledger.position, sides: risk.allowedSides(position: ledger.position))
        forgetOldOrders(now: now)
        lastDepths = depths
        lastInventory = inventory
        lastLadder = ladder
        let sent = await refresh(ladder, time: time, now: now)
        if sent > 0, lastBookReceive > 0 { metrics.tickToQuote(nanoseconds: WallClock.nanoseconds() - lastBookReceive) }
    }

    /// Moves the live orders toward the ladder; returns the commands sent.
    private func refresh(_ ladder: QuoteLadder, time: Int64, now: Int64) async -> Int {
        var sent = 0
        for side in [Side.buy, .sell] {
            let wanted = side == .buy ? ladder.bids : ladder.asks
            let live = tracker.live(side: side, symbol: symbol)
            // Orders no level wants any more.
            for order in live where order.status == .new || order.status == .partiallyFilled {
                let level = levels[order.clientId]
                if level == nil || level! >= wanted.count {
                    if await cancel(order.clientId, time: time, now: now, priority: false) { sent += 1 }
                }
            }
            for quote in wanted {
                if let order = live.first(where: { levels[$0.clientId] == quote.level && $0.status != .pendingCancel }) {
                    guard order.status == .new || order.status == .partiallyFilled, order.pendingAmend == nil else { continue }
                    let away = ((order.price - quote.price).doubleValue / instrument.tickSize.doubleValue).magnitude
                    if away > Double(settings.refreshToleranceTicks) {
                        if await amend(order.clientId, price: quote.price, time: time, now: now) { sent += 1 }
                    } else if Double(now - order.createdTime) / 1e9 > settings.maxOrderAge {
                        if await cancel(order.clientId, time: time, now: now, priority: false) { sent += 1 }
                    }
                } else if tracker.live(side: side, symbol: symbol).count < settings.maxActivePerSide {
                    if await place(quote, time: time, now: now) { sent += 1 }
                }
            }
        }
        return sent
    }

    // MARK: Orders

    private var lastCommand: [String: String] = [:]

    private func place(_ quote: DesiredQuote, time: Int64, now: Int64) async -> Bool {
        guard await clientIdAvailable(now: now), budget.take(now: now) else { return false }
        sequence += 1
        let clientId = "k\(runId)-\(sequence)"
        let request = PlaceRequest(symbol: symbol, side: quote.side, type: .limit, qty: quote.qty, price: quote.price,
                                   timeInForce: .postOnly, orderLinkId: clientId)
        record(tracker.submitted(request, time: now), "submitted", now: now)
        levels[clientId] = quote.level
        lastCommand[clientId] = "place"
        count("sent")
        if paper != nil {
            paper!.place(request, time: time)
            return true
        }
        if !(await send(ConnectorCommand.place(id: clientId, order: request).line)) {
            record(tracker.refused(clientId, command: "place", reason: "no connector to send to", time: now), "refused", now: now)
        }
        return true
    }

    /// Client ids are made durable a block at a time before any of them is sent, so that after a crash the
    /// store names every id this run could have used. False (no order now) while a block is being reserved
    /// or when storage refused it.
    private func clientIdAvailable(now: Int64) async -> Bool {
        if sequence < reservedThrough { return true }
        guard let storage else {
            reservedThrough = sequence + clientIdBlock
            return true
        }
        guard !reserving else { return false }
        reserving = true
        defer { reserving = false }
        let first = reservedThrough + 1
        let last = reservedThrough + clientIdBlock
        do {
            try await storage.store.reserveClientIds(run: runId, first: first, last: last, time: now)
            reservedThrough = last
            return true
        } catch {
            logger.error("keel_client_ids_not_reserved", metadata: ["run": "\(runId)", "first": "\(first)", "error": "\(error)"])
            note(now, "no new orders: client ids \(first)–\(last) could not be stored (\(error))")
            return false
        }
    }

    private func amend(_ clientId: String, price: Price, time: Int64, now: Int64) async -> Bool {
        guard budget.take(now: now), tracker.amendRequested(clientId, price: price, qty: nil, time: now) else { return false }
        record(tracker[clientId], "amend_requested", detail: "price \(price)", now: now)
        lastCommand[clientId] = "amend"
        count("amended")
        if paper != nil {
            paper!.amend(clientId: clientId, price: price, qty: nil, time: time)
        } else {
            _ = await send(ConnectorCommand.amend(id: clientId, symbol: symbol, clientId: clientId, qty: nil, price: price).line)
        }
        return true
    }

    private func cancel(_ clientId: String, time: Int64, now: Int64, priority: Bool) async -> Bool {
        guard budget.take(now: now, priority: priority) || priority, tracker.cancelRequested(clientId, time: now) else { return false }
        record(tracker[clientId], "cancel_requested", now: now)
        lastCommand[clientId] = "cancel"
        count("cancelled")
        if paper != nil {
            paper!.cancel(clientId: clientId, time: time)
        } else {
            _ = await send(ConnectorCommand.cancel(id: clientId, symbol: symbol, clientId: clientId).line)
        }
        return true
    }

    /// Every live order of the symbol, at once (a halt, a stop): one `cancel_all`, every order pending cancel.
    private func cancelEverything(reason: String, time: Int64, now: Int64) async {
        let live = tracker.live(symbol: symbol)
        for order in live where tracker.cancelRequested(order.clientId, time: now) {
            record(tracker[order.clientId], "cancel_requested", detail: reason, now: now)
        }
        note(now, "cancel all (\(reason)): \(live.count) live")
        if paper != nil {
            paper!.cancelAll(symbol: symbol, time: time)
        } else {
            sequence += 1
            _ = await send(ConnectorCommand.cancelAll(id: "cancel-all-\(runId)-\(sequence)", symbol: symbol).line)
        }
    }

    private func process(_ events: [VenueEvent]) async {
        let now = WallClock.nanoseconds()
        for event in events {
            switch event {
            case .order(let update):
                let change = tracker.apply(update, time: now)
                if case .updated(let order) = change { record(order, "update", detail: update.state.rawValue, now: now) }
                switch change {
                case .foreign(let order) where order.state.isOpen:
                    if settings.adoptOrders {
                        let request = PlaceRequest(symbol: order.symbol, side: order.side, type: .limit, qty: order.qty, price: order.price,
                                                   timeInForce: .postOnly, orderLinkId: order.clientId)
                        tracker.submitted(request, time: now)
                        _ = tracker.apply(order, time: now)
                        record(tracker[order.clientId], "adopted", detail: order.orderId, now: now)
                        note(now, "adopted open order \(order.clientId) \(order.side.rawValue) \(order.qty) @ \(order.price)")
                    } else {
                        note(now, "cancelling foreign open order \(order.clientId) \(order.side.rawValue) \(order.qty) @ \(order.price)")
                        logger.warning("keel_foreign_order_cancelled", metadata: [
                            "client_id": "\(order.clientId)", "order_id": "\(order.orderId)", "run": "\(Self.run(of: order.clientId) ?? "none")"])
                        storage?.enqueue(.orderEvent(OrderEventRecord(clientId: order.clientId, time: now, event: "foreign_cancel_requested",
                                                                      status: order.state.rawValue, price: order.price, qty: order.qty,
                                                                      filledQty: order.filledQty, detail: order.orderId)))
                        if venue == .live {
                            _ = await send(ConnectorCommand.cancel(id: "foreign-\(order.clientId)", symbol: order.symbol, clientId: order.clientId).line)
                        }
                    }
                case .updated(let order) where order.status == .rejected:
                    count("rejected")
                    note(now, "order \(order.clientId) rejected: \(order.reason)")
                default:
                    break
                }
            case .fill(let fill):
                guard case .counted(let filled) = tracker.apply(fill) else { continue }
                record(filled, "fill", detail: "\(fill.executionId): \(fill.qty) @ \(fill.price)", now: now)
                storage?.enqueue(.fill(FillRecord(executionId: fill.executionId, clientId: fill.clientId, orderId: fill.orderId,
                                                  run: Self.run(of: fill.clientId) ?? runId, symbol: fill.symbol, side: fill.side,
                                                  price: fill.price, qty: fill.qty, fee: fill.fee, isMaker: fill.isMaker, time: fill.time)))
                metrics.fill(maker: fill.isMaker)
                count("fills")
                if let trip = ledger.apply(fill) {
                    risk.roundTripClosed(pnl: trip)
                    note(now, "round trip closed: \(trip)")
                }
                note(now, "fill \(fill.side.rawValue) \(fill.qty) @ \(fill.price) → position \(ledger.position)")
                snapshot(now: now)
            case .acknowledged(let clientId, let command):
                record(tracker.acknowledged(clientId, command: command, time: now), "acknowledged", detail: command, now: now)
            case .refused(let clientId, let command, let reason):
                let refused = tracker.refused(clientId, command: command, reason: reason, time: now)
                record(refused, "refused", detail: "\(command): \(reason)", now: now)
                if let order = refused, order.status == .rejected {
                    count("rejected")
                    note(now, "\(command) \(clientId) refused: \(reason)")
                }
            }
        }
        publish(mid: inputs.snapshot.mid)
    }

    /// After the connector's account reconciliation: orders we hold live that the exchange did not
    /// list are no longer open (a fill shows in the position that came with it).
    private func reconcile(now: Int64) async {
        for order in tracker.live(symbol: symbol) where !seenSinceStart.contains(order.clientId) && order.status != .pendingNew {
            let update = OrderUpdate(symbol: symbol, orderId: order.exchangeOrderId ?? "", clientId: order.clientId, side: order.side,
                                     orderType: "Limit", timeInForce: "PostOnly", price: order.price, qty: order.qty, filledQty: order.filledQty,
                                     averagePrice: order.averagePrice, state: .cancelled, reduceOnly: false, rejectReason: "",
                                     cancelType: "not open at reconciliation", createdTime: order.createdTime, updatedTime: now)
            if case .updated(let closed) = tracker.apply(update, time: now) { record(closed, "reconciled", detail: "not open at reconciliation", now: now) }
            note(now, "order \(order.clientId) not open on the exchange at reconciliation")
        }
        reconciled = true
        note(now, "account reconciled: position \(ledger.position), \(tracker.live(symbol: symbol).count) live orders")
    }

    private func transitioned(_ transition: RiskManager.Transition, now: Int64) async {
        logger.warning("keel_risk_transition", metadata: [
            "from": "\(transition.from.rawValue)", "to": "\(transition.to.rawValue)", "reasons": "\(transition.reasons.joined(separator: "; "))"])
        metrics.riskTransition(to: transition.to.rawValue)
        storage?.enqueue(.risk(RiskEventRecord(run: runId, time: now, from: transition.from.rawValue, to: transition.to.rawValue,
                                               reasons: transition.reasons.joined(separator: "; "))))
        note(now, "risk \(transition.from.rawValue) → \(transition.to.rawValue): \(transition.reasons.joined(separator: "; "))")
        // Halting cancels what is live; with nothing live (e.g. at start, before the reconciliation) there is
        // nothing to cancel, and orders found then are handled one by one (cancelled or adopted).
        if transition.to == .halted, transition.from != .halted, !tracker.live(symbol: symbol).isEmpty {
            await cancelEverything(reason: "halted", time: lastEventTime, now: now)
            // Then check with the exchange itself, in the background (the actor goes on taking events).
            if venue == .live { Task { _ = await self.verifyNothingOpen() } }
        }
    }

    /// Terminal orders older than ten minutes leave memory (a long run must not grow); live ones stay.
    private func forgetOldOrders(now: Int64) {
        guard now - lastPrune > 60_000_000_000 else { return }
        lastPrune = now
        tracker.prune(before: now - 600_000_000_000)
        levels = levels.filter { tracker[$0.key] != nil }
        lastCommand = lastCommand.filter { tracker[$0.key] != nil }
    }

    private var lastPrune: Int64 = 0

    // MARK: Storage

    /// The order as it stands and the step that made it so.
    private func record(_ order: TrackedOrder?, _ event: String, detail: String = "", now: Int64) {
        guard let storage, let order else { return }
        storage.enqueue(.order(OrderRecord(
            clientId: order.clientId, run: Self.run(of: order.clientId) ?? runId, symbol: order.symbol, side: order.side, price: order.price,
            qty: order.qty, filledQty: order.filledQty, averagePrice: order.averagePrice, status: order.status.rawValue,
            exchangeOrderId: order.exchangeOrderId, reason: order.reason, createdTime: order.createdTime, updatedTime: now)))
        storage.enqueue(.orderEvent(OrderEventRecord(clientId: order.clientId, time: now, event: event, status: order.status.rawValue,
                                                     price: order.price, qty: order.qty, filledQty: order.filledQty, detail: detail)))
    }

    private func snapshot(now: Int64) {
        lastSnapshot = now
        guard let storage else { return }
        let mid = inputs.snapshot.mid
        storage.enqueue(.position(PositionRecord(run: runId, symbol: symbol, time: now, size: ledger.position, averageEntry: ledger.averageEntry)))
        storage.enqueue(.pnl(PnLRecord(run: runId, symbol: symbol, time: now, realised: ledger.realisedPnl, unrealised: ledger.unrealisedPnl(mark: mid),
                                       fees: ledger.fees, net: ledger.netPnl(mark: mid), mark: mid)))
    }

    /// The run a client id of ours (`k<run>-<n>`) was sent by; nil for ids keel did not make.
    static func run(of clientId: String) -> String? {
        guard clientId.hasPrefix("k"), let dash = clientId.lastIndex(of: "-"), dash > clientId.index(after: clientId.startIndex),
              Int(clientId[clientId.index(after: dash)...]) != nil else { return nil }
        return String(clientId[clientId.index(after: clientId.startIndex)..<dash])
    }

    private func count(_ kind: String) {
        counts[kind, default: 0] += 1
        if kind != "fills" { metrics.order(kind) }
    }

    private func note(_ time: Int64, _ text: String) {
        decisions.append(Decision(time: time, text: text))
        if decisions.count > 30 { decisions.removeFirst(decisions.count - 30) }
    }

    private func publish(mid: Price?) {
        metrics.trading(position: ledger.position.doubleValue, realised: ledger.realisedPnl.doubleValue,
                        unrealised: ledger.unrealisedPnl(mark: mid).doubleValue, fees: ledger.fees.doubleValue, state: risk.state.rawValue)
    }

    // MARK: Status

    /// Whether quotes may go out now, and why (for `/ready`).
    public func tradingAllowed() -> (allowed: Bool, reason: String) {
        let allowed = quoting && settings.enabled && risk.state != .halted && reconciled && instrumentConfirmed
        if allowed { return (true, "\(venue.rawValue) quoting \(symbol), risk \(risk.state.rawValue)") }
        if !quoting { return (false, "quoting stopped (shutdown)") }
        if !instrumentConfirmed { return (false, "waiting for the exchange's instrument of \(symbol)" + (instrumentProblem.map { " (\($0))" } ?? "")) }
        if !reconciled { return (false, "waiting for the account reconciliation") }
        return (false, "risk \(risk.state.rawValue): \(risk.reasons.joined(separator: "; "))")
    }

    /// `/strategy/status`, as JSON.
    public func statusJSON() -> Data {
        (try? JSONSerialization.data(withJSONObject: status(), options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    func status() -> [String: Any] {
        let mid = inputs.snapshot.mid
        func text(_ value: FixedDecimal?) -> Any { value.map { "\($0)" } ?? NSNull() }
        func number(_ value: Double?) -> Any { value.map { ($0 * 1e6).rounded() / 1e6 } ?? NSNull() }
        let live = tracker.live(symbol: symbol).map { order -> [String: Any] in
            ["client_id": order.clientId, "side": order.side.rawValue, "price": "\(order.price)", "qty": "\(order.qty)",
             "filled": "\(order.filledQty)", "status": order.status.rawValue, "level": levels[order.clientId] ?? -1]
        }
        var model: [String: Any] = ["mode": settings.model.mode.rawValue, "gamma": settings.model.gamma]
        if let depths = lastDepths {
            model["bid_depth_ticks"] = number(depths.bidTicks)
            model["ask_depth_ticks"] = number(depths.askTicks)
            model["half_spread_ticks"] = number(depths.halfSpreadTicks)
            model["skew_ticks"] = number(depths.skewTicks)
            model["sigma_ticks"] = number(depths.sigmaTicks)
            model["a"] = number(depths.a)
            model["k"] = number(depths.k)
            model["inventory"] = number(lastInventory)
        }
        return [
            "mode": venue.rawValue, "symbol": symbol, "quoting": quoting && settings.enabled, "reconciled": reconciled,
            "instrument": ["tick_size": "\(instrument.tickSize)", "qty_step": "\(instrument.qtyStep)", "min_qty": "\(instrument.minQty)",
                           "max_qty": text(instrument.maxQty), "min_notional": text(instrument.minNotional),
                           "confirmed_by_exchange": instrumentConfirmed && instrumentAskedAt != nil],
            "risk": ["state": risk.state.rawValue, "reasons": risk.reasons, "consecutive_losses": risk.consecutiveLosses],
            "position": "\(ledger.position)", "average_entry": text(ledger.averageEntry),
            "pnl": ["realised": "\(ledger.realisedPnl)", "unrealised": "\(ledger.unrealisedPnl(mark: mid))", "fees": "\(ledger.fees)",
                    "net": "\(ledger.netPnl(mark: mid))"],
            "round_trips": ledger.roundTrips, "losing_round_trips": ledger.losingRoundTrips,
            "market": ["mid": text(mid), "microprice": text(inputs.snapshot.microprice), "spread": text(inputs.snapshot.spread),
                       "volatility": number(inputs.snapshot.volatility), "trade_intensity": number(inputs.snapshot.tradeIntensity),
                       "imbalance": number(inputs.snapshot.imbalance)],
            "model": model,
            "quotes": ["bids": lastLadder.bids.map { ["price": "\($0.price)", "qty": "\($0.qty)"] },
                       "asks": lastLadder.asks.map { ["price": "\($0.price)", "qty": "\($0.qty)"] }],
            "live_orders": live, "orders": counts,
            "decisions": decisions.suffix(20).map { ["time": $0.time, "text": $0.text] as [String: Any] },
        ]
    }
}
