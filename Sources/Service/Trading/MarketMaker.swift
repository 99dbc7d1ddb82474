import ConnectorWire
import Execution
import Foundation
import Logging
import Market
import MarketContext
import Runtime
import Storage
import Strategy

/// The trading loop of `keel run` on one symbol: the shell around the pure decision. Connector events
/// become market events for the strategy (`MarketMakingStrategy`) and venue events for the account
/// (`TradingAccount`); the strategy's intents go to the venue — the paper exchange (fills simulated on
/// the live feed) or the exchange account through the connector (`LiveVenue`) — and the account's
/// records go to storage, metrics and the decision log. This loop keeps what the decision must not:
/// the wall clock, storage, metrics, the exchange's instrument and reconciliation, and the shutdown
/// waits. A foreign order (left by an earlier run) is cancelled unless `strategy.adopt_orders`.
public actor MarketMaker {
    public enum Mode: String, Sendable {
        case paper
        case live
    }

    struct Note: Sendable {
        var time: Int64
        var text: String
    }

    public let venue: Mode
    public let symbol: String
    let settings: TradingSettings
    let logger: Logger
    let metrics: BotMetrics
    /// Live venue: one command line to the connector; false when it could not be sent.
    /// Writes one command line to the connector (synchronously: no hop between the decision and the pipe).
    let send: @Sendable (String) -> Bool
    let runId: String
    var strategy: MarketMakingStrategy
    var account: TradingAccount
    var paper: PaperExchange?
    var live: LiveVenue?
    /// With an exchange behind the feed, quoting waits until the exchange has confirmed the symbol's grid
    /// and that it is `Trading` (the connector's `instrument`); the stub feed has no exchange to ask.
    var instrumentConfirmed: Bool
    var instrumentAskedAt: Int64?
    var instrumentProblem: String?
    var connectorUp = false
    /// The market data comes from a fallback venue (`exchange.fallback`): a live venue does not quote.
    var foreignPrices = false
    /// Live: quoting waits for the connector's account reconciliation after each (re)start.
    var reconciled: Bool
    var seenSinceStart: Set<String> = []
    var commandSequence = 0
    var lastBookReceive: Int64 = 0
    var notes: [Note] = []
    /// The dashboard's: the last fills, newest last, and net PnL since start, sampled once a second.
    var recentFills: [Fill] = []
    var pnlCurve = PnLCurve()
    /// The context's figures as last published (once a second).
    var contextSnapshot: SymbolContext.Snapshot?
    var counts: [String: Int] = [:]
    /// Orders, their events, fills, snapshots and risk transitions go here (nil: storage.backend none).
    let storage: StorageWriter?
    let clientIdBlock: Int
    let snapshotInterval: Int64
    var reserving = false
    var lastSnapshot: Int64 = 0
    var lastContextPublished: Int64 = 0
    var lastPrune: Int64 = 0
    var openOrderCounts: [String: Int] = [:]
    /// The exchange behind the feed (`bybit`, `binance-usdm`): the key of its stored candles.
    let exchange: String
    /// An exchange is behind the feed (not the stub): it can be asked for its instrument and its klines.
    let exchangeBacked: Bool
    var backfill: BackfillRun
    /// `recording.enabled`: every intent sent and every venue answer, with its time (`orders_YYYYMMDD.jsonl`).
    let orderLog: OrderLogWriter?

    init(settings: TradingSettings, symbol: String, staleAfterSeconds: Double, logger: Logger, metrics: BotMetrics,
         storage: StorageWriter? = nil, storageSettings: StorageConfiguration = StorageConfiguration(), askExchangeForInstrument: Bool = false,
         orderLog: OrderLogWriter? = nil, exchange: String = "bybit", send: @escaping @Sendable (String) -> Bool) {
        self.settings = settings
        self.symbol = symbol
        venue = settings.paperTrading ? .paper : .live
        instrumentConfirmed = !askExchangeForInstrument
        self.exchange = exchange
        exchangeBacked = askExchangeForInstrument
        backfill = BackfillRun(state: askExchangeForInstrument && settings.backfill > 0 ? .waiting : .off)
        self.logger = logger
        self.metrics = metrics
        self.send = send
        // Milliseconds since 1970 in base 36, and two random characters so two bots started in the same
        // millisecond differ: `k<run>-<n>` stays within Bybit's 36 characters.
        runId = String(UInt64(WallClock.nanoseconds() / 1_000_000), radix: 36) + String(UInt16.random(in: 36...1295), radix: 36)
        strategy = MarketMakingStrategy(symbol: symbol, instrument: settings.instrument(symbol),
                                        policy: settings.policy(staleAfterSeconds: staleAfterSeconds), clientIdPrefix: "k\(runId)-")
        if storage != nil { strategy.idsAvailableThrough = 0 }
        if backfill.state == .waiting { strategy.beginBackfill() }
        account = TradingAccount(symbol: symbol)
        paper = settings.paperTrading ? PaperExchange(configuration: settings.paper) : nil
        live = settings.paperTrading ? nil : LiveVenue(runId: runId)
        reconciled = settings.paperTrading
        self.storage = storage
        self.orderLog = orderLog
        clientIdBlock = max(storageSettings.clientIdBlock, 1)
        snapshotInterval = Int64(storageSettings.snapshotInterval * 1e9)
        storage?.enqueue(.runStarted(run: runId, venue: venue.rawValue, symbol: symbol, time: WallClock.nanoseconds()))
        if storage != nil {
            reserving = true
            reserveBlock(first: 1, last: clientIdBlock, now: WallClock.nanoseconds())
        }
    }

    /// This run's id: every client id it sends is `k<run>-<n>`.
    public var run: String { runId }

    /// The grid quotes are built on: the configured one until the exchange's arrives (the exchange's wins).
    var instrument: Instrument { strategy.instrument }

    var conditions: MarketMakingStrategy.Conditions {
        .init(connectorUp: connectorUp, ready: reconciled && instrumentConfirmed && backfillReady, pricesFromVenue: venue == .paper || !foreignPrices)
    }

    var loggedConditions: MarketMakingStrategy.Conditions?

    /// The shell's conditions drive decisions too: the order log notes each change, with its time, so a
    /// replay (`keel backtest --parity`) sees them when the run did.
    func logConditions(time: Int64) {
        guard let orderLog, conditions != loggedConditions else { return }
        loggedConditions = conditions
        var entry = OrderLogEntry(time: time, event: "conditions", clientId: "")
        entry.ready = conditions.ready
        entry.connectorUp = conditions.connectorUp
        orderLog.write(entry)
    }

    // MARK: Events

    /// One event from the market source, with the bot's book of the symbol after it.
    public func handle(_ event: ConnectorEvent, book current: (book: OrderBook, valid: Bool)?, now: Int64) async {
        switch event {
        case .depth(let depth) where depth.update.symbol == symbol:
            let time = depth.update.receiveTime > 0 ? depth.update.receiveTime : now
            lastBookReceive = depth.update.receiveTime
            connectorUp = true
            guard let current, current.valid else {
                strategy.marketLost(time: time)
                return
            }
            let market = MarketEvent.depth(TrustedDepth(update: depth.update, cause: depth.update.kind == .snapshot ? .snapshot : .delta,
                                                        book: current.book, depthLimit: depth.depth))
            logConditions(time: time)
            strategy.onMarket(market, time: time)
            recordMarkouts(now: time)
            if paper != nil { await apply(paper!.onMarket(market, time: time), now: time) }
            await decide(time: time)
        case .trade(let trade) where trade.symbol == symbol:
            let time = trade.receiveTime > 0 ? trade.receiveTime : now
            strategy.onMarket(.trade(trade), time: time)
            if paper != nil { await apply(paper!.onMarket(.trade(trade), time: time), now: time) }
        case .status(let status) where status.status == .dataSource:
            foreignPrices = status.session == "fallback"
            note(now, "market data from \(status.connector) (\(status.session ?? "")): \(status.reason ?? "")")
        case .status(let status) where status.status == .connectorStarted:
            // A primary restarting behind a fallback (`inactive`) takes no market away.
            if status.session != "inactive" {
                connectorUp = false
                strategy.marketLost(time: nil)
            }
            if !instrumentConfirmed { await askForInstrument(now: now) }
            // A backfill not done is asked (again: one running died with the connector before it).
            if status.session != "inactive", backfill.state != .off, backfill.state != .done { await requestBackfill(now: now) }
            // A fallback's connector brings market data only: it says nothing of the primary venue's account.
            if venue == .live && status.session != "fallback" {
                reconciled = false
                seenSinceStart = []
            }
        case .status(let status) where status.status == .reconciled && venue == .live:
            record(account.reconcile(listed: seenSinceStart, time: now), now: now)
            reconciled = true
            note(now, "account reconciled: position \(account.ledger.position), \(account.live.count) live orders")
        case .order(let update) where venue == .live && update.symbol == symbol:
            seenSinceStart.insert(update.clientId)
            await apply(live!.translate(event), now: now)
        case .fill(let fill) where venue == .live && fill.symbol == symbol:
            // The exchange's fee rate for this account wins over the configured one.
            if fill.isMaker, fill.feeRate.doubleValue != strategy.makerFee {
                logger.info("keel_maker_fee_from_exchange", metadata: ["configured": "\(strategy.makerFee)", "exchange": "\(fill.feeRate)"])
                note(now, "maker fee \(fill.feeRate) from the exchange's fills (configured \(strategy.makerFee)); the quotes pay it")
                strategy.adoptMakerFee(fill.feeRate.doubleValue)
            }
            await apply(live!.translate(event), now: now)
        case .candles(let chunk) where chunk.symbol == symbol:
            backfillChunk(chunk)
        case .backfill(let progress) where progress.symbol == symbol:
            backfillProgress(progress, now: now)
        case .error(let failure) where failure.id != nil && failure.id == backfill.id && backfill.state == .running:
            failBackfill("the connector refused: \(failure.code): \(failure.message)", now: now)
        case .instrument(_, let exchange, let status) where exchange.symbol == symbol:
            adopt(exchange, status: status, now: now)
        case .error(let failure) where failure.id?.hasPrefix(Self.instrumentIdPrefix) == true:
            instrumentProblem = "\(failure.code): \(failure.message)"
            logger.error("keel_instrument_unavailable", metadata: ["symbol": "\(symbol)", "code": "\(failure.code)", "reason": "\(failure.message)"])
        case .openOrders(let id?, let listed, let count) where venue == .live && listed == symbol:
            openOrderCounts[id] = count
        case .ack where venue == .live, .error where venue == .live:
            await apply(live!.translate(event), now: now)
        case .orderUnknown(let orderSymbol, let clientId, let reason) where venue == .live && orderSymbol == symbol:
            let records = account.markUnknown(clientId, reason: reason, time: now)
            record(records, now: now)
            if !records.isEmpty { note(now, "order \(clientId) unknown (\(reason)); the connector resolves it") }
        case .position(let position) where venue == .live && position.symbol == symbol:
            let hadFills = account.ledger.fills > 0
            let ours = account.ledger.position
            if account.takePosition(position.size, entry: position.entryPrice) {
                if hadFills { logger.warning("keel_position_corrected", metadata: ["ours": "\(ours)", "exchange": "\(position.size)"]) }
                note(now, "position \(position.size) from the exchange")
            }
        default:
            break
        }
    }

    /// Every half second without events too: a silent feed or a lost connector halts quoting.
    public func tick(now: Int64) async {
        // Stamped on the event clock the decisions run on: a gate that opened between events (the
        // backfill done, the instrument confirmed) holds from the last event on, as the next decision
        // sees it, even when the events lag the wall clock.
        logConditions(time: strategy.lastMarketTime ?? now)
        if !instrumentConfirmed, instrumentAskedAt.map({ now - $0 > Self.instrumentRetry }) ?? connectorUp { await askForInstrument(now: now) }
        await backfillTick(now: now)
        await conclude(strategy.tick(time: now, ledger: account.ledger, live: account.live, conditions: conditions), time: now)
        publish()
        publishContext()
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

    func askForInstrument(now: Int64) async {
        instrumentAskedAt = now
        commandSequence += 1
        _ = send(ConnectorCommand.instrument(id: "\(Self.instrumentIdPrefix)\(runId)-\(commandSequence)", symbol: symbol).line)
    }

    /// The exchange's grid replaces the configured one (logged when they differ); quoting may start once
    /// the symbol is `Trading`.
    func adopt(_ exchange: Instrument, status: InstrumentStatus, now: Int64) {
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
        strategy.instrument = exchange
        guard status == .trading else {
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
        await conclude(strategy.halt(reason, time: now, live: account.live), time: now)
    }

    public func resume(now: Int64) async {
        if let transition = strategy.resume(time: now) { logTransition(transition, now: now) }
    }

    /// The first shutdown step: no new quotes from here on.
    public func stopQuoting(now: Int64) {
        strategy.stopQuoting()
        note(now, "quoting stopped (shutdown)")
    }

    /// Cancels every order and waits until none is live (or `timeout`); true when none is.
    public func cancelAllAndWait(timeout: Duration) async -> Bool {
        let now = WallClock.nanoseconds()
        let lastEvent = strategy.lastMarketTime ?? now
        // Paper time only moves with market data, and after a silent feed it lags the clock: the stop
        // moves it to now, so the cancels land after the orders they cancel.
        let start = paper != nil ? max(lastEvent, now) : lastEvent
        await carryOut([.cancelAll(symbol: symbol, reason: "shutdown")], time: start)
        if paper != nil {
            // An order still on its way to the paper book lands after the cancel-all; cancel again until none is live.
            var time = start
            for _ in 0..<4 {
                time += settings.paper.latency + 1
                await apply(paper!.advance(to: time), now: time)
                if account.live.isEmpty { break }
                await carryOut([.cancelAll(symbol: symbol, reason: "shutdown: orders that landed after the cancel")], time: time)
            }
        }
        let deadline = ContinuousClock.now + timeout
        // An order placed just before the cancel-all can be acknowledged after it and stay live: every second
        // that orders remain, cancel all again rather than wait out the whole bound.
        var again = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            if account.live.isEmpty { return true }
            if ContinuousClock.now >= again {
                again = ContinuousClock.now + .seconds(1)
                await carryOut([.cancelAll(symbol: symbol, reason: "shutdown: \(account.live.count) orders still live after the cancel")],
                               time: max(strategy.lastMarketTime ?? start, start))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return account.live.isEmpty
    }

    public var liveOrders: Int { account.live.count }

    /// The client ids of the live orders, oldest first.
    public var liveOrderIds: [String] { account.live.map(\.clientId) }

    /// Orders sent so far (placed, not amended).
    public var sentOrders: Int { counts["sent", default: 0] }

    /// After a cancel-all: asks the exchange itself (the connector's `open_orders`, over REST) whether any order
    /// of the symbol is still open; if so cancels all again and asks again, up to `attempts` times. Returns the
    /// exchange's last count (0: verified closed), or nil when it never answered. Paper: 0.
    public func verifyNothingOpen(attempts: Int = 3, answerTimeout: Duration = .seconds(4)) async -> Int? {
        guard venue == .live else { return 0 }
        var last: Int?
        for attempt in 1...max(attempts, 1) {
            commandSequence += 1
            let id = "open-orders-\(runId)-\(commandSequence)"
            guard send(ConnectorCommand.openOrders(id: id, symbol: symbol).line) else { return nil }
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
            await carryOut([.cancelAll(symbol: symbol, reason: "the exchange still lists \(count) open")], time: strategy.lastMarketTime ?? now)
            try? await Task.sleep(for: .milliseconds(500))
        }
        return last
    }

    // MARK: Deciding

    /// After a trusted depth event: the decision, then its intents carried out.
    func decide(time: Int64) async {
        let decision = strategy.decide(time: time, ledger: account.ledger, live: account.live, conditions: conditions)
        let sent = await conclude(decision, time: time)
        reserveClientIds(now: time)
        publish()
        forgetOldOrders(now: time)
        if sent > 0, lastBookReceive > 0 { metrics.tickToQuote(nanoseconds: WallClock.nanoseconds() - lastBookReceive) }
    }

    /// A decision's risk transition (logged, stored) and intents (carried out); returns the intents sent.
    @discardableResult
    func conclude(_ decision: MarketMakingStrategy.Decision, time: Int64) async -> Int {
        if let transition = decision.transition { logTransition(transition, now: time) }
        for change in decision.toxicity {
            let markout = change.markoutBps.map { String(format: "%.2f", $0) } ?? "none"
            logger.warning("keel_toxicity", metadata: ["symbol": "\(symbol)", "side": "\(change.side.rawValue)", "toxic": "\(change.toxic)",
                                                       "markout_bps": "\(markout)", "action": "\(change.action.rawValue)"])
            note(time, change.toxic ? "\(change.side.rawValue) side toxic (recent markout \(markout) bp): \(change.action == .widen ? "widened" : "pulled")"
                                    : "\(change.side.rawValue) side clean again (recent markout \(markout) bp)")
        }
        let sent = await carryOut(decision.intents, time: time)
        if let transition = decision.transition, transition.to == .halted, venue == .live,
           decision.intents.contains(where: { if case .cancelAll = $0 { true } else { false } }) {
            // Then check with the exchange itself, in the background (the actor goes on taking events).
            Task { _ = await self.verifyNothingOpen() }
        }
        return sent
    }

    /// Enters each intent in the account, then hands it to the venue (the connector's lines sent in order).
    @discardableResult
    func carryOut(_ intents: [OrderIntent], time: Int64) async -> Int {
        var sent = 0
        for intent in intents {
            let (go, records) = account.enter(intent, time: time)
            record(records, now: time)
            guard go else { continue }
            sent += 1
            orderLog?.write(OrderLogEntry(intent, time: time))
            switch intent {
            case .place: count("sent")
            case .amend: count("amended")
            case .cancel: count("cancelled")
            case .cancelAll(_, let reason): note(time, "cancel all (\(reason)): \(records.count) live")
            }
            if paper != nil {
                await apply(paper!.submit(intent, time: time), now: time)
            } else {
                // On the wire first, then the books: the answer cannot overtake it (it comes through this actor).
                let events = live!.submit(intent, time: time)
                let unsent = live!.drain().filter { !send($0) }.count
                await apply(events, now: time)
                if case .place(let request, _) = intent {
                    for _ in 0..<unsent {
                        await apply([.refused(clientId: request.orderLinkId, command: .place, reason: "no connector to send to")], now: time)
                    }
                }
            }
        }
        return sent
    }

    /// The venue's answers into the account; its records stored, counted and noted.
    func apply(_ events: [VenueEvent], now: Int64) async {
        guard !events.isEmpty else { return }
        if let orderLog { for event in events { orderLog.write(OrderLogEntry(event, time: now)) } }
        let records = account.apply(events, time: now)
        record(records, now: now)
        for case .foreign(let order) in records { await foreign(order, now: now) }
        publish()
    }

    func foreign(_ order: OrderUpdate, now: Int64) async {
        metrics.foreignOrder()
        if settings.adoptOrders {
            record(account.adopt(order, time: now), now: now)
            note(now, "adopted open order \(order.clientId) \(order.side.rawValue) \(order.qty) @ \(order.price)")
            return
        }
        note(now, "cancelling foreign open order \(order.clientId) \(order.side.rawValue) \(order.qty) @ \(order.price)")
        logger.warning("keel_foreign_order_cancelled", metadata: [
            "client_id": "\(order.clientId)", "order_id": "\(order.orderId)", "run": "\(Self.run(of: order.clientId) ?? "none")"])
        storage?.enqueue(.orderEvent(OrderEventRecord(clientId: order.clientId, time: now, event: "foreign_cancel_requested",
                                                      status: order.state.rawValue, price: order.price, qty: order.qty,
                                                      filledQty: order.filledQty, detail: order.orderId)))
        if live != nil {
            live!.cancelForeign(clientId: order.clientId, symbol: order.symbol)
            for line in live!.drain() { _ = send(line) }
        }
    }

    func logTransition(_ transition: RiskManager.Transition, now: Int64) {
        logger.warning("keel_risk_transition", metadata: [
            "from": "\(transition.from.rawValue)", "to": "\(transition.to.rawValue)", "reasons": "\(transition.reasons.joined(separator: "; "))"])
        metrics.riskTransition(to: transition.to.rawValue)
        storage?.enqueue(.risk(RiskEventRecord(run: runId, time: now, from: transition.from.rawValue, to: transition.to.rawValue,
                                               reasons: transition.reasons.joined(separator: "; "))))
        note(now, "risk \(transition.from.rawValue) → \(transition.to.rawValue): \(transition.reasons.joined(separator: "; "))")
    }

    /// Client ids are made durable a block at a time before any of them is sent, so that after a crash the
    /// store names every id this run could have used. The next block is reserved in the background once
    /// half the current one is used, so a decision never waits on the database (a wait would let later
    /// events overtake it, and the decision would no longer be a function of the events in order). Until
    /// the first block is stored, or when storage refused one, the strategy places nothing.
    func reserveClientIds(now: Int64) {
        // The strategy's `idsAvailableThrough` is the last durable id.
        let through = strategy.idsAvailableThrough
        guard storage != nil, !reserving, through - strategy.sequence <= clientIdBlock / 2 else { return }
        reserving = true
        reserveBlock(first: through + 1, last: through + clientIdBlock, now: now)
    }

    /// Stores the block in the background; its answer comes back to the actor.
    private nonisolated func reserveBlock(first: Int, last: Int, now: Int64) {
        guard let storage else { return }
        Task {
            do {
                try await storage.store.reserveClientIds(run: runId, first: first, last: last, time: now)
                await self.reserved(through: last)
            } catch {
                await self.reservationFailed(first: first, last: last, error: error, now: now)
            }
        }
    }

    func reserved(through last: Int) {
        reserving = false
        strategy.idsAvailableThrough = last
    }

    func reservationFailed(first: Int, last: Int, error: any Error, now: Int64) {
        reserving = false
        logger.error("keel_client_ids_not_reserved", metadata: ["run": "\(runId)", "first": "\(first)", "error": "\(error)"])
        note(now, "no new orders: client ids \(first)–\(last) could not be stored (\(error))")
    }

    /// Terminal orders older than ten minutes leave memory (a long run must not grow); live ones stay.
    func forgetOldOrders(now: Int64) {
        guard now - lastPrune > 60_000_000_000 else { return }
        lastPrune = now
        account.prune(before: now - 600_000_000_000)
        let account = self.account
        live?.forget { account[$0] != nil }
    }
}
