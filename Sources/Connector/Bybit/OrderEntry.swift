import Bybit
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// Time limits of order entry and reconciliation. Every one is configurable; tests use short ones.
public struct OrderEntryConfiguration: Sendable {
    /// A trade-stream request with no ack this long has an unknown outcome (then reconciled over REST).
    public var submitTimeout: Duration = .seconds(3)
    /// Queries (and safe resends) before an unknown order is reported `unresolved`.
    public var reconcileAttempts = 6
    /// Wait between reconciliation attempts (doubling).
    public var reconcileBackoff: Duration = .milliseconds(250)
    /// The order rate limit assumed until the exchange reports its own (Bybit linear: 10 a second).
    public var rateLimit = 10
    /// Requests a second kept back from new orders, for cancels.
    public var rateLimitReserve = 1
    /// Bybit's DCP window (3–300 s): when set, armed after every private-stream (re)connect, so the exchange
    /// cancels the account's orders if every private connection is gone that long. nil: off.
    public var dcpWindow: Int?

    public init() {}
}

/// Order entry for one account: `place`, `amend`, `cancel` by client id (Bybit's `orderLinkId`) and
/// `cancel_all`. Requests go on the trade WebSocket when it is authenticated, else over signed REST.
/// The rate budget is checked before anything is sent (`rate_limited`, never the exchange's 10006).
/// A request whose outcome is unknown (no ack in time, connection lost, REST timeout) is reported as an
/// `order` event with status `unknown` and resolved by querying the order over REST — resent only with
/// the same `orderLinkId`, so a retry can never make a second order.
actor OrderEntry {
    let configuration: OrderEntryConfiguration
    let rest: BybitRestClient
    let trade: BybitTradeSession
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    private var budget: RateBudget
    private(set) var restFallbacks = 0

    init(configuration: OrderEntryConfiguration, rest: BybitRestClient, trade: BybitTradeSession, logger: Logger,
         emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.configuration = configuration
        self.rest = rest
        self.trade = trade
        self.logger = logger
        self.emit = emit
        budget = RateBudget(limit: configuration.rateLimit, reserve: configuration.rateLimitReserve)
    }

    var rateLimitRemaining: Int? { budget.remaining }

    /// The exchange request a command means (`nil` for commands that are not order entry).
    static func request(for command: ConnectorCommand) -> BybitOrderRequest? {
        switch command {
        case .place(_, let order):
            return .create(order)
        case .amend(_, let symbol, let clientId, let qty, let price):
            return .amend(symbol: symbol, orderLinkId: clientId, qty: qty, price: price)
        case .cancel(_, let symbol, let clientId):
            return .cancel(symbol: symbol, orderLinkId: clientId)
        case .cancelAll(_, let symbol):
            return .cancelAll(symbol: symbol)
        default:
            return nil
        }
    }

    /// Takes one command. Returns once the request is on its way (so commands go out in the order
    /// they came); its answer is awaited off the command loop.
    func submit(_ command: ConnectorCommand) async {
        if case .openOrders(let id, let symbol) = command {
            Task { await self.listOpenOrders(id: id, symbol: symbol) }
            return
        }
        guard let request = OrderEntry.request(for: command) else { return }
        let now = WallClock.nanoseconds()
        let priority: Bool = if case .create = request { false } else { true }
        guard budget.take(now: now, priority: priority) else {
            emit(.error(.init(message: "order rate budget spent (\(budget.limit) a second); not sent", code: "rate_limited",
                              id: command.id, clientId: request.orderLinkId)))
            logger.warning("bybit_order_rate_limited", metadata: ["client_id": "\(request.orderLinkId ?? "")", "limit": "\(budget.limit)"])
            return
        }
        if request.op != nil, let ticket = await trade.send(request, now: now) {
            Task { await self.awaitAck(ticket, request, command) }
        } else {
            if request.op != nil { restFallbacks += 1 }
            Task { await self.sendREST(request, command) }
        }
    }

    private func awaitAck(_ ticket: String, _ request: BybitOrderRequest, _ command: ConnectorCommand) async {
        switch await trade.wait(ticket, timeout: configuration.submitTimeout) {
        case .answered(let ack):
            if let limit = ack.rateLimit { budget.update(limit, now: WallClock.nanoseconds()) }
            conclude(request, command, code: ack.retCode, message: ack.retMessage, rateLimit: ack.rateLimit)
        case .timedOut:
            await unknown(request, command, reason: "no ack within \(configuration.submitTimeout)")
        case .connectionLost:
            await unknown(request, command, reason: "trade connection lost before the ack")
        }
    }

    private func sendREST(_ request: BybitOrderRequest, _ command: ConnectorCommand) async {
        do throws(BybitRestClient.Failure) {
            let answer = try await rest.send(request)
            if let limit = answer.rateLimit { budget.update(limit, now: WallClock.nanoseconds()) }
            conclude(request, command, code: answer.answer.retCode, message: answer.answer.retMessage, rateLimit: answer.rateLimit)
        } catch .status(403) {
            // The exchange's IP limit: the request was refused before it was looked at.
            budget.refused(now: WallClock.nanoseconds(), until: nil)
            emit(.error(.init(message: "the exchange refused the request for rate (HTTP 403)", code: "rate_limited",
                              id: command.id, clientId: request.orderLinkId)))
        } catch {
            await unknown(request, command, reason: "REST \(error)")
        }
    }

    /// The exchange answered: ack, or a typed error with the exchange's code.
    private func conclude(_ request: BybitOrderRequest, _ command: ConnectorCommand, code: Int, message: String, rateLimit: BybitRateLimit?) {
        if code == 0 {
            if let id = command.id { emit(.ack(id: id, command: command.name)) }
            return
        }
        let wireCode: String
        switch code {
        case 10006:
            budget.refused(now: WallClock.nanoseconds(), until: rateLimit?.resetTime)
            wireCode = "rate_limited"
        case 110072: wireCode = "duplicate_client_id"
        case 110001: wireCode = "order_not_found"
        default: wireCode = "rejected"
        }
        emit(.error(.init(message: "Bybit refused \(command.name): \(message)", code: wireCode, id: command.id,
                          clientId: request.orderLinkId, exchangeCode: code)))
        logger.warning("bybit_order_refused", metadata: ["command": "\(command.name)", "client_id": "\(request.orderLinkId ?? "")",
                                                         "ret_code": "\(code)", "message": "\(message)"])
    }

    // MARK: Reconciliation

    private func unknown(_ request: BybitOrderRequest, _ command: ConnectorCommand, reason: String) async {
        if let link = request.orderLinkId, let symbol = request.symbol {
            emit(.orderUnknown(symbol: symbol, clientId: link, reason: reason))
        }
        logger.warning("bybit_order_unknown", metadata: ["command": "\(command.name)", "client_id": "\(request.orderLinkId ?? "")", "reason": "\(reason)"])
        await resolve(request, command)
    }

    /// Queries the order and resends the same request (same `orderLinkId`) until the exchange's state
    /// says the command took effect, or the attempts run out (`unresolved`).
    private func resolve(_ request: BybitOrderRequest, _ command: ConnectorCommand) async {
        var delay = configuration.reconcileBackoff
        for attempt in 0..<configuration.reconcileAttempts {
            if attempt > 0 {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
            if let link = request.orderLinkId, let symbol = request.symbol {
                let found: OrderUpdate?
                do throws(BybitRestClient.Failure) {
                    guard let result = try await query(symbol: symbol, clientId: link) else { continue }
                    found = result.first
                } catch {
                    logger.info("bybit_order_query_failed", metadata: ["client_id": "\(link)", "reason": "\(error)"])
                    continue
                }
                if let order = found {
                    emit(.order(order))
                    if let done = OrderEntry.settled(request, order) {
                        if done {
                            logger.info("bybit_order_reconciled", metadata: ["client_id": "\(link)", "status": "\(order.state.rawValue)"])
                            if let id = command.id { emit(.ack(id: id, command: command.name)) }
                        } else {
                            emit(.error(.init(message: "order \(link) is \(order.state.rawValue); \(command.name) cannot apply", code: "order_closed",
                                              id: command.id, clientId: link)))
                        }
                        return
                    }
                } else if case .create = request {
                    // Not there: the request never reached the book. Resend it below, same orderLinkId.
                } else {
                    emit(.error(.init(message: "no order \(link) on the exchange", code: "order_not_found", id: command.id, clientId: link)))
                    return
                }
            }
            // Resend: safe, because the exchange refuses a second order with the same orderLinkId.
            guard budget.take(now: WallClock.nanoseconds(), priority: true) else { continue }
            do throws(BybitRestClient.Failure) {
                let answer = try await rest.send(request)
                if let limit = answer.rateLimit { budget.update(limit, now: WallClock.nanoseconds()) }
                switch answer.answer.retCode {
                case 0:
                    logger.info("bybit_order_reconciled", metadata: ["client_id": "\(request.orderLinkId ?? "")", "by": "resend"])
                    if let id = command.id { emit(.ack(id: id, command: command.name)) }
                    return
                case 110072, 110001, 10006:
                    continue  // it exists after all / already closed / rate: query again
                default:
                    conclude(request, command, code: answer.answer.retCode, message: answer.answer.retMessage, rateLimit: answer.rateLimit)
                    return
                }
            } catch {
                continue
            }
        }
        emit(.error(.init(message: "\(command.name) \(request.orderLinkId ?? "") unresolved after \(configuration.reconcileAttempts) attempts; the account reconciles again on the next reconnect",
                          code: "unresolved", id: command.id, clientId: request.orderLinkId)))
        logger.error("bybit_order_unresolved", metadata: ["command": "\(command.name)", "client_id": "\(request.orderLinkId ?? "")"])
    }

    /// Whether the order's state settles the request: `true` when it took effect, `false` when it can no
    /// longer (e.g. amending a filled order), `nil` when it has not yet (send it again).
    static func settled(_ request: BybitOrderRequest, _ order: OrderUpdate) -> Bool? {
        switch request {
        case .create:
            return true
        case .amend(_, _, let qty, let price):
            if (qty == nil || qty == order.qty) && (price == nil || price == order.price) { return true }
            return order.state.isOpen ? nil : false
        case .cancel:
            return order.state.isOpen ? nil : true
        case .cancelAll:
            return nil
        }
    }

    /// The exchange's state of one order, by client id; `nil` when the query was refused.
    private func query(symbol: String, clientId: String) async throws(BybitRestClient.Failure) -> [OrderUpdate]? {
        let answer = try await rest.get("/v5/order/realtime", query: "category=linear&symbol=\(symbol)&orderLinkId=\(clientId)").answer
        guard answer.success else {
            logger.warning("bybit_order_query_refused", metadata: ["ret_code": "\(answer.retCode)", "message": "\(answer.retMessage)"])
            return nil
        }
        do throws(JSONError) {
            return try answer.orders()
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// Arms Bybit's disconnect-cancel (DCP) for derivatives with the configured window; the private stream
    /// subscribes to `dcp.future`, which is what keeps it from firing while the bot is connected.
    func armDisconnectCancel() async {
        guard let window = configuration.dcpWindow else { return }
        do {
            let answer = try await rest.post("/v5/order/disconnected-cancel-all", body: #"{"product":"DERIVATIVES","timeWindow":\#(window)}"#).answer
            if answer.success {
                emit(.status(.init(status: .dcpArmed, session: "private", reason: "window \(window) s")))
                logger.info("bybit_dcp_armed", metadata: ["time_window": "\(window)"])
            } else {
                emit(.error(.init(message: "DCP refused: \(answer.retMessage)", code: "dcp_failed", exchangeCode: answer.retCode)))
                logger.error("bybit_dcp_refused", metadata: ["ret_code": "\(answer.retCode)", "message": "\(answer.retMessage)"])
            }
        } catch {
            emit(.error(.init(message: "DCP could not be armed: \(error)", code: "dcp_failed")))
            logger.error("bybit_dcp_failed", metadata: ["reason": "\(error)"])
        }
    }

    /// `open_orders`: the symbol's open orders over REST now (all pages), each as an `order` event, then the
    /// count; retried like the reconciliation, else an `error` with code `open_orders_failed`.
    func listOpenOrders(id: String?, symbol: String) async {
        let done = await withRetries(event: "bybit_open_orders") {
            let pages = try await rest.list("/v5/order/realtime", query: "category=linear&symbol=\(symbol)&limit=50")
            if let refused = pages.first(where: { !$0.success }) { return refused }
            let orders = try pages.flatMap { try $0.orders() }
            for order in orders { emit(.order(order)) }
            emit(.openOrders(id: id, symbol: symbol, count: orders.count))
            return nil
        }
        if !done {
            emit(.error(.init(message: "could not list open orders of \(symbol) over REST after \(configuration.reconcileAttempts) attempts",
                              code: "open_orders_failed", id: id)))
        }
    }

    /// Open orders, positions and wallet over REST, emitted as events so the bot can reconcile its own
    /// view after any (re)connect of the private stream. Retried with backoff.
    func reconcileAccount() async {
        let done = await withRetries(event: "bybit_reconcile") {
            let orderPages = try await rest.list("/v5/order/realtime", query: "category=linear&settleCoin=USDT&limit=50")
            let positionPages = try await rest.list("/v5/position/list", query: "category=linear&settleCoin=USDT&limit=200")
            let wallet = try await rest.get("/v5/account/wallet-balance", query: "accountType=UNIFIED").answer
            if let refused = (orderPages + positionPages + [wallet]).first(where: { !$0.success }) { return refused }
            let orders = try orderPages.flatMap { try $0.orders() }
            let positions = try positionPages.flatMap { try $0.positions() }
            for order in orders { emit(.order(order)) }
            for position in positions { emit(.position(position)) }
            for coin in try wallet.wallets() { emit(.wallet(coin)) }
            emit(.status(.init(status: .reconciled, session: "private", reason: "\(orders.count) open orders, \(positions.count) positions")))
            logger.info("bybit_account_reconciled", metadata: ["open_orders": "\(orders.count)", "positions": "\(positions.count)"])
            return nil
        }
        if !done {
            emit(.error(.init(message: "could not read open orders and positions over REST after \(configuration.reconcileAttempts) attempts",
                              code: "reconcile_failed")))
        }
    }

    private func withRetries(event: String, _ attempt: () async throws -> BybitRestAnswer?) async -> Bool {
        await BybitRestClient.withRetries(attempts: configuration.reconcileAttempts, backoff: configuration.reconcileBackoff,
                                          event: event, logger: logger, attempt)
    }
}

extension RateBudget {
    /// What Bybit reported on an answer (`X-Bapi-Limit`, `-Status`, `-Reset-Timestamp`).
    public mutating func update(_ reported: BybitRateLimit, now: Int64) {
        update(limit: reported.limit, remaining: reported.remaining, resetTime: reported.resetTime, now: now)
    }
}
