import Bybit
import Market

/// Order entry, authentication, rate limits, the private streams and DCP.
extension SimExchange {
    /// What an order endpoint reports in Bybit's `X-Bapi-Limit*` headers.
    public struct RateLimitInfo: Sendable {
        public var limit: Int
        public var remaining: Int
        public var resetMilliseconds: Int64
    }

    // MARK: Authentication

    /// Checks a signed REST request; returns the account's API key. Never echoes key or secret.
    public func authenticateREST(apiKey: String?, timestamp: String?, recvWindow: String?, signature: String?,
                                 payload: String, now: Int64) throws(SimError) -> String {
        guard let apiKey, !apiKey.isEmpty, let secret = secrets[apiKey] else { throw SimError(10003, "API key is invalid.") }
        guard let timestamp, let stamp = Int64(timestamp) else { throw .parameter("params error: X-BAPI-TIMESTAMP is required") }
        let window = Int64(recvWindow ?? "5000") ?? 5_000
        try checkWindow(stamp: stamp, window: window, now: now)
        let expected = BybitSigning.restSignature(secret: secret, timestamp: stamp, apiKey: apiKey, recvWindow: window, payload: payload)
        guard let signature, BybitSigning.constantTimeEquals(expected, signature.lowercased()) else {
            throw SimError(10004, "Error sign, please check your signature generation algorithm.")
        }
        return apiKey
    }

    /// Bybit's window: `server_time - recv_window <= timestamp < server_time + 1000`.
    func checkWindow(stamp: Int64, window: Int64, now: Int64) throws(SimError) {
        let server = now / 1_000_000
        guard server - window <= stamp && stamp < server + 1_000 else {
            throw SimError(10002, "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(stamp)],server_timestamp[\(server)],recv_window[\(window)]")
        }
    }

    /// Checks a WebSocket `auth` (`args: [apiKey, expiresMs, signature]`); returns the API key.
    func authenticateSocket(_ args: [String], now: Int64) throws(SimError) -> String {
        guard args.count == 3 else { throw .parameter("auth needs [apiKey, expires, signature]") }
        guard let secret = secrets[args[0]] else { throw SimError(10003, "API key is invalid.") }
        guard let expires = Int64(args[1]), expires > now / 1_000_000 else { throw SimError(10002, "auth expires is not in the future") }
        guard BybitSigning.constantTimeEquals(BybitSigning.authSignature(secret: secret, expires: expires), args[2].lowercased()) else {
            throw SimError(10004, "Invalid sign")
        }
        return args[0]
    }

    // MARK: Rate limits

    /// Counts one order request of the account; throws 10006 past the limit (or during `rate_limit`).
    public func takeOrderBudget(apiKey: String, now: Int64) throws(SimError) -> RateLimitInfo {
        let second: Int64 = 1_000_000_000
        var stamps = orderStamps[apiKey, default: []].filter { now - $0 < second }
        let limit = configuration.orderRateLimit
        let reset = ((stamps.first ?? now) + second) / 1_000_000
        if now < rateLimitUntil || stamps.count >= limit {
            orderStamps[apiKey] = stamps
            throw SimError(10006, "Too many visits. Exceeded the API Rate Limit.")
        }
        stamps.append(now)
        orderStamps[apiKey] = stamps
        return RateLimitInfo(limit: limit, remaining: limit - stamps.count, resetMilliseconds: reset)
    }

    public func orderBudget(apiKey: String, now: Int64) -> RateLimitInfo {
        let stamps = orderStamps[apiKey, default: []].filter { now - $0 < 1_000_000_000 }
        return RateLimitInfo(limit: configuration.orderRateLimit, remaining: max(0, configuration.orderRateLimit - stamps.count),
                             resetMilliseconds: ((stamps.first ?? now) + 1_000_000_000) / 1_000_000)
    }

    /// Counts one REST request from the (loopback) IP; `false` past Bybit's 600 per 5 s.
    public func takeIPBudget(now: Int64) -> Bool {
        ipStamps = ipStamps.filter { now - $0 < 5_000_000_000 }
        guard ipStamps.count < configuration.ipRequestLimit else { return false }
        ipStamps.append(now)
        return true
    }

    // MARK: Orders

    public func placeOrder(apiKey: String, _ parameters: OrderParameters, now: Int64) throws(SimError) -> SimOrder {
        try parameters.checkCategory()
        let (order, events) = try engine.place(try parameters.placeRequest(), owner: .account(apiKey), now: now)
        stats.ordersPlaced += 1
        record(events, now: now)
        publishPrivate(events, now: now)
        return order
    }

    /// The account's order an amend or cancel names (by `orderId` or `orderLinkId`, on its `symbol`), or 110001.
    private func existingOrder(apiKey: String, _ parameters: OrderParameters) throws(SimError) -> OrderReference {
        try parameters.checkCategory()
        let reference = try parameters.reference()
        let symbol = try parameters.required("symbol")
        guard let existing = engine.order(reference, apiKey: apiKey), existing.symbol == symbol else { throw .orderNotFound }
        return reference
    }

    public func amendOrder(apiKey: String, _ parameters: OrderParameters, now: Int64) throws(SimError) -> SimOrder {
        let reference = try existingOrder(apiKey: apiKey, parameters)
        let (order, events) = try engine.amend(reference, apiKey: apiKey, qty: try parameters.decimal("qty"),
                                               price: try parameters.decimal("price"), now: now)
        publishPrivate(events, now: now)
        return order
    }

    public func cancelOrder(apiKey: String, _ parameters: OrderParameters, now: Int64) throws(SimError) -> SimOrder {
        let reference = try existingOrder(apiKey: apiKey, parameters)
        let (order, events) = try engine.cancel(reference, apiKey: apiKey, now: now)
        publishPrivate(events, now: now)
        return order
    }

    /// Cancels the account's open orders of one symbol, or all of them (`settleCoin=USDT` or none).
    public func cancelAllOrders(apiKey: String, _ parameters: OrderParameters, now: Int64) throws(SimError) -> [SimOrder] {
        try parameters.checkCategory()
        let symbol = parameters.string("symbol")
        if let symbol, instrument(symbol) == nil { throw .parameter("params error: symbol \(symbol) invalid") }
        let events = engine.cancelAll(apiKey: apiKey, symbol: symbol, now: now)
        publishPrivate(events, now: now)
        return events.orders
    }

    /// `POST /v5/order/disconnected-cancel-all`: arms DCP with a window of 3–300 s.
    public func setDisconnectCancel(apiKey: String, _ parameters: OrderParameters) throws(SimError) {
        guard let text = parameters.string("timeWindow"), let window = Int64(text), (3...300).contains(window) else {
            throw .parameter("params error: timeWindow must be an integer in [3, 300]")
        }
        dcpWindows[apiKey] = window * 1_000_000_000
    }

    // MARK: Queries

    public func ordersJSON(apiKey: String, symbol: String?, reference: OrderReference?, openOnly: Bool) -> [UInt8] {
        var orders: [SimOrder]
        if let reference {
            orders = engine.order(reference, apiKey: apiKey).map { [$0] } ?? []
        } else if openOnly {
            orders = engine.openOrders(apiKey: apiKey, symbol: symbol)
        } else {
            orders = engine.orders.values.filter { $0.owner == .account(apiKey) && !$0.status.isOpen && (symbol == nil || $0.symbol == symbol) }
                .sorted { $0.updatedTime > $1.updatedTime }
            orders = Array(orders.prefix(500))
        }
        var out = JSONWriter(capacity: 256 + orders.count * 900)
        out.beginObject()
        out.key("list")
        out.beginArray()
        for order in orders { PrivateEncode.order(order, &out, priceScale: priceScale(order.symbol), forREST: true) }
        out.endArray()
        out.field("nextPageCursor", "")
        out.field("category", "linear")
        out.endObject()
        return out.bytes
    }

    public func positionsJSON(apiKey: String, symbol: String?) throws(SimError) -> [UInt8] {
        guard let account = engine.accounts[apiKey] else { throw SimError(10003, "API key is invalid.") }
        if let symbol, instrument(symbol) == nil { throw .parameter("params error: symbol \(symbol) invalid") }
        let symbols = symbol.map { [$0] } ?? configuration.instruments.map(\.symbol)
        var out = JSONWriter()
        out.beginObject()
        out.key("list")
        out.beginArray()
        for name in symbols {
            let position = account.position(name)
            if symbol == nil && position.size.isZero { continue }
            PrivateEncode.position(position, account: account, markPrice: markPrice(name), sequence: sequence, &out, forREST: true)
        }
        out.endArray()
        out.field("nextPageCursor", "")
        out.field("category", "linear")
        out.endObject()
        return out.bytes
    }

    public func walletJSON(apiKey: String) throws(SimError) -> [UInt8] {
        guard let account = engine.accounts[apiKey] else { throw SimError(10003, "API key is invalid.") }
        var out = JSONWriter()
        out.beginObject()
        out.key("list")
        out.beginArray()
        let (unrealised, used) = exposure(account)
        PrivateEncode.wallet(account, unrealised: unrealised, used: used, &out)
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// The truth of an account's open orders (`GET /sim/orders`).
    public func truthOrders(apiKey: String) -> [UInt8]? {
        guard engine.accounts[apiKey] != nil else { return nil }
        return ordersJSON(apiKey: apiKey, symbol: nil, reference: nil, openOnly: true)
    }

    /// The truth of an account's positions (`GET /sim/positions`).
    public func truthPositions(apiKey: String) -> [UInt8]? {
        try? positionsJSON(apiKey: apiKey, symbol: nil)
    }

    func priceScale(_ symbol: String) -> UInt8 { (instrument(symbol)?.tickSize.scale ?? 2) + 4 }

    /// Mid of the book, else the last trade: the mark price the simulator uses.
    func markPrice(_ symbol: String) -> Price {
        if let bid = engine.depth(symbol, side: .buy, limit: 1).first, let ask = engine.depth(symbol, side: .sell, limit: 1).first,
           let mid = (bid.price + ask.price).divided(by: FixedDecimal(2), scale: instrument(symbol)?.tickSize.scale ?? 2, rounding: .halfEven) {
            return mid
        }
        return lastTradePrice[symbol] ?? .zero
    }

    /// Unrealised PnL at mark, and initial margin used by positions and open orders.
    func exposure(_ account: SimAccount) -> (FixedDecimal, FixedDecimal) {
        var unrealised = FixedDecimal.zero
        var notional = FixedDecimal.zero
        for position in account.positions.values where !position.size.isZero {
            unrealised += (markPrice(position.symbol) - position.averageEntryPrice) * position.size
            notional += position.averageEntryPrice * (position.size.isNegative ? -position.size : position.size)
        }
        for order in engine.openOrders(apiKey: account.apiKey) { notional += order.price * order.leavesQty }
        return (unrealised, notional.divided(by: account.leverage, scale: 8, rounding: .up) ?? .zero)
    }

    // MARK: Private streams

    /// Handles one text frame from a private connection: auth, subscribe, unsubscribe, ping.
    func receivePrivate(_ id: Int, request: BybitRequest, now: Int64) {
        guard let connection = connections[id] else { return }
        switch request.op {
        case "auth":
            do throws(SimError) {
                connections[id]?.apiKey = try authenticateSocket(request.args, now: now)
                send(BybitEncode.response(op: "auth", success: true, message: "", connectionId: connection.connectionId, requestId: request.requestId), to: id)
            } catch {
                send(BybitEncode.response(op: "auth", success: false, message: "error:\(error.message)", connectionId: connection.connectionId, requestId: request.requestId), to: id)
            }
        case "ping":
            send(BybitEncode.privatePong(connectionId: connection.connectionId, requestId: request.requestId, time: now), to: id)
        case "subscribe", "unsubscribe":
            guard let apiKey = connection.apiKey else {
                send(BybitEncode.response(op: request.op, success: false, message: "error:not authorized, send auth first",
                                          connectionId: connection.connectionId, requestId: request.requestId), to: id)
                return
            }
            let invalid = request.args.filter { !SimExchange.privateTopics.contains($0) }
            for topic in request.args where SimExchange.privateTopics.contains(topic) {
                if request.op == "subscribe" { connections[id]?.topics.insert(topic) } else { connections[id]?.topics.remove(topic) }
            }
            if request.args.contains(where: { $0.hasPrefix("dcp.") }) { updateDisconnectCancel(apiKey: apiKey, now: now) }
            send(BybitEncode.response(op: request.op, success: invalid.isEmpty,
                                      message: invalid.isEmpty ? "" : "error:handler not found,topic:\(invalid.joined(separator: ","))",
                                      connectionId: connection.connectionId, requestId: request.requestId), to: id)
        default:
            send(BybitEncode.response(op: request.op, success: false, message: "error:unknown op \(request.op)",
                                      connectionId: connection.connectionId, requestId: request.requestId), to: id)
        }
    }

    static let privateTopics: Set<String> = [
        "order", "order.linear", "execution", "execution.linear", "position", "position.linear", "wallet",
        "dcp.future", "dcp.spot", "dcp.option",
    ]

    /// Pushes what an engine call did to the owning accounts' private connections.
    func publishPrivate(_ events: EngineEvents, now: Int64) {
        keepExecutions(events)
        for apiKey in events.touchedAccounts.sorted() {
            let listeners = connections.filter { $0.value.kind == .private && $0.value.apiKey == apiKey }
            guard !listeners.isEmpty, let account = engine.accounts[apiKey] else { continue }
            let orders = events.orders.filter { $0.owner == .account(apiKey) }
            let executions = events.executions.filter { $0.owner == .account(apiKey) }
            let symbols = Set(orders.map(\.symbol) + executions.map(\.symbol)).sorted()
            var messages: [(topics: [String], data: (inout JSONWriter) -> Void)] = []
            if !orders.isEmpty {
                messages.append((["order", "order.linear"], { out in
                    for order in orders { PrivateEncode.order(order, &out, priceScale: self.priceScale(order.symbol), forREST: false) }
                }))
            }
            if !executions.isEmpty {
                let base = sequence
                messages.append((["execution", "execution.linear"], { out in
                    for (index, execution) in executions.enumerated() { PrivateEncode.execution(execution, sequence: base + Int64(index), &out) }
                }))
            }
            if !symbols.isEmpty {
                messages.append((["position", "position.linear"], { out in
                    for symbol in symbols {
                        PrivateEncode.position(account.position(symbol), account: account, markPrice: self.markPrice(symbol),
                                               sequence: self.sequence, &out, forREST: false)
                    }
                }))
                let (unrealised, used) = exposure(account)
                messages.append((["wallet"], { out in PrivateEncode.wallet(account, unrealised: unrealised, used: used, &out) }))
            }
            for (topics, data) in messages {
                for (id, connection) in listeners {
                    guard let topic = topics.first(where: { connection.topics.contains($0) }) else { continue }
                    privateMessageCounter += 1
                    var out = JSONWriter()
                    out.beginObject()
                    out.field("id", "sim-\(privateMessageCounter)")
                    out.field("topic", topic)
                    out.field("creationTime", now / 1_000_000)
                    out.key("data")
                    out.beginArray()
                    data(&out)
                    out.endArray()
                    out.endObject()
                    send(out.bytes, to: id)
                }
            }
        }
    }

    // MARK: Disconnect cancel (DCP)

    /// Starts or stops the DCP clock of an account from its private connections subscribed to `dcp.*`.
    func updateDisconnectCancel(apiKey: String, now: Int64) {
        let alive = connections.values.contains { $0.kind == .private && $0.apiKey == apiKey && $0.topics.contains { $0.hasPrefix("dcp.") } }
        if alive {
            dcpLostAt[apiKey] = nil
            dcpArmed.insert(apiKey)
        } else if dcpArmed.contains(apiKey), dcpLostAt[apiKey] == nil {
            dcpLostAt[apiKey] = now
        }
    }

    /// Cancels every order of an account whose DCP connections have been gone for its window.
    func enforceDisconnectCancel(now: Int64) {
        for (apiKey, lostAt) in dcpLostAt {
            guard let window = dcpWindows[apiKey] ?? Optional(10_000_000_000), now - lostAt >= window else { continue }
            let events = engine.cancelAll(apiKey: apiKey, symbol: nil, now: now, cancelType: "CancelByDCP")
            dcpLostAt[apiKey] = nil
            dcpArmed.remove(apiKey)
            stats.dcpCancels += events.orders.count
            logger.warning("sim_dcp_triggered", metadata: ["orders_cancelled": "\(events.orders.count)", "window_seconds": "\(window / 1_000_000_000)"])
            publishPrivate(events, now: now)
        }
    }
}
