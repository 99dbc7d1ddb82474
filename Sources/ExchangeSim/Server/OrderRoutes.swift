import HTTPTypes
import Hummingbird
import Market
import NIOCore
import Runtime

/// Signed REST endpoints: `/v5/order/{create,amend,cancel,cancel-all,realtime,history,disconnected-cancel-all}`,
/// `/v5/position/{list,closed-pnl}`, `/v5/execution/list`, `/v5/account/{wallet-balance,info}`,
/// `/v5/user/query-api`, `/v5/asset/coin/query-info`.
struct OrderRoutes {
    let exchange: SimExchange

    func add(to router: Router<BasicRequestContext>) {
        let exchange = self.exchange
        for (path, action) in [
            ("/v5/order/create", OrderAction.create), ("/v5/order/amend", .amend), ("/v5/order/cancel", .cancel),
            ("/v5/order/cancel-all", .cancelAll), ("/v5/order/disconnected-cancel-all", .disconnectCancel),
        ] {
            router.post(RouterPath(path)) { request, _ in
                var request = request
                let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
                return await OrderRoutes.signed(request, payload: body, exchange: exchange, countsAsOrder: action != .disconnectCancel) { apiKey, now throws(SimError) in
                    let parameters = try OrderParameters.decode(Array(body.utf8))
                    return try await action.run(exchange, apiKey: apiKey, parameters, now: now)
                }
            }
        }
        for path in ["/v5/order/realtime", "/v5/order/history"] {
            router.get(RouterPath(path)) { request, _ in
                await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                    let query = Query(request)
                    if let category = query.string("category"), category != "linear" { return OrderRoutes.emptyList(category) }
                    let reference: OrderReference? = query.string("orderId").map { .orderId($0) } ?? query.string("orderLinkId").map { .orderLinkId($0) }
                    // History holds the ended orders; realtime the open ones (`openOnly=0`, its default).
                    let openFlag = try query.int("openOnly") ?? 0
                    let openOnly = path == "/v5/order/realtime" && openFlag == 0
                    return await exchange.ordersJSON(apiKey: apiKey, symbol: query.string("symbol"), reference: reference, openOnly: openOnly)
                }
            }
        }
        router.get("/v5/execution/list") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                let query = Query(request)
                if let category = query.string("category"), category != "linear" { return OrderRoutes.emptyList(category) }
                return try await exchange.executionsJSON(apiKey: apiKey, query: query)
            }
        }
        router.get("/v5/position/closed-pnl") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                let query = Query(request)
                if let category = query.string("category"), category != "linear" { return OrderRoutes.emptyList(category) }
                return try await exchange.closedPnlJSON(apiKey: apiKey, query: query)
            }
        }
        router.get("/v5/user/query-api") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                await exchange.apiKeyInfoJSON(apiKey: apiKey, now: now)
            }
        }
        router.get("/v5/account/info") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                await exchange.accountInfoJSON(apiKey: apiKey, now: now)
            }
        }
        router.get("/v5/asset/coin/query-info") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                try await exchange.coinInfoJSON(apiKey: apiKey, coin: Query(request).string("coin"))
            }
        }
        router.get("/v5/position/list") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                let query = Query(request)
                guard query.string("symbol") != nil || query.string("settleCoin") != nil else {
                    throw .parameter("params error: symbol or settleCoin is required")
                }
                return try await exchange.positionsJSON(apiKey: apiKey, symbol: query.string("symbol"))
            }
        }
        router.get("/v5/account/wallet-balance") { request, _ in
            await OrderRoutes.signed(request, payload: request.uri.query ?? "", exchange: exchange, countsAsOrder: false) { apiKey, now throws(SimError) in
                let query = Query(request)
                guard let type = query.string("accountType"), type == "UNIFIED" || type == "CONTRACT" else {
                    throw .parameter("params error: accountType must be UNIFIED")
                }
                return try await exchange.walletJSON(apiKey: apiKey)
            }
        }
    }

    enum OrderAction {
        case create, amend, cancel, cancelAll, disconnectCancel

        func run(_ exchange: SimExchange, apiKey: String, _ parameters: OrderParameters, now: Int64) async throws(SimError) -> [UInt8] {
            func ids(_ order: SimOrder) -> [UInt8] {
                var out = JSONWriter()
                out.beginObject()
                out.field("orderId", order.orderId)
                out.field("orderLinkId", order.orderLinkId)
                out.endObject()
                return out.bytes
            }
            switch self {
            case .create: return ids(try await exchange.placeOrder(apiKey: apiKey, parameters, now: now))
            case .amend: return ids(try await exchange.amendOrder(apiKey: apiKey, parameters, now: now))
            case .cancel: return ids(try await exchange.cancelOrder(apiKey: apiKey, parameters, now: now))
            case .cancelAll:
                let orders = try await exchange.cancelAllOrders(apiKey: apiKey, parameters, now: now)
                var out = JSONWriter()
                out.beginObject()
                out.key("list")
                out.beginArray()
                for order in orders {
                    out.beginObject()
                    out.field("orderId", order.orderId)
                    out.field("orderLinkId", order.orderLinkId)
                    out.endObject()
                }
                out.endArray()
                out.field("success", "1")
                out.endObject()
                return out.bytes
            case .disconnectCancel:
                try await exchange.setDisconnectCancel(apiKey: apiKey, parameters)
                return Array("{}".utf8)
            }
        }
    }

    /// Authenticates, applies the order rate limit (with Bybit's headers), runs `body`, and wraps the
    /// result or the error in Bybit's envelope.
    static func signed(_ request: Request, payload: String, exchange: SimExchange, countsAsOrder: Bool,
                       _ body: (String, Int64) async throws(SimError) -> [UInt8]) async -> Response {
        let now = WallClock.nanoseconds()
        let headers = request.headers
        var limitHeaders: HTTPFields = [:]
        do throws(SimError) {
            let apiKey = try await exchange.authenticateREST(
                apiKey: headers[HTTPField.Name("X-BAPI-API-KEY")!], timestamp: headers[HTTPField.Name("X-BAPI-TIMESTAMP")!],
                recvWindow: headers[HTTPField.Name("X-BAPI-RECV-WINDOW")!], signature: headers[HTTPField.Name("X-BAPI-SIGN")!],
                payload: payload, now: now)
            if countsAsOrder {
                do throws(SimError) {
                    limitHeaders = OrderRoutes.headers(try await exchange.takeOrderBudget(apiKey: apiKey, now: now))
                } catch {
                    limitHeaders = OrderRoutes.headers(await exchange.orderBudget(apiKey: apiKey, now: now))
                    throw error
                }
            }
            return RestAnswer.ok(try await body(apiKey, now), now: now, headers: limitHeaders)
        } catch {
            return RestAnswer.error(error, now: now, headers: limitHeaders)
        }
    }

    /// What an exchange with no instruments of a category answers: an empty list, not an error.
    static func emptyList(_ category: String) -> [UInt8] {
        Array(#"{"category":"\#(category)","list":[],"nextPageCursor":""}"#.utf8)
    }

    static func headers(_ budget: SimExchange.RateLimitInfo) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Bapi-Limit")!] = String(budget.limit)
        fields[HTTPField.Name("X-Bapi-Limit-Status")!] = String(budget.remaining)
        fields[HTTPField.Name("X-Bapi-Limit-Reset-Timestamp")!] = String(budget.resetMilliseconds)
        return fields
    }
}
