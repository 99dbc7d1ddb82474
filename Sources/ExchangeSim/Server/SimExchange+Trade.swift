import Bybit
import Market

/// The order-entry WebSocket (`/v5/trade`): `auth`, `ping`, `order.create|amend|cancel` and their
/// `-batch` forms, each answered with Bybit's ack (`retCode`, `data`, rate-limit `header`).
extension SimExchange {
    func receiveTrade(_ id: Int, request: BybitRequest, now: Int64) {
        guard let connection = connections[id] else { return }
        switch request.op {
        case "auth":
            do throws(SimError) {
                connections[id]?.apiKey = try authenticateSocket(request.args, now: now)
                send(tradeAck(request, code: 0, message: "OK", connectionId: connection.connectionId, now: now), to: id)
            } catch {
                send(tradeAck(request, code: error.code, message: error.message, connectionId: connection.connectionId, now: now), to: id)
            }
        case "ping":
            send(BybitEncode.tradePong(connectionId: connection.connectionId, requestId: request.requestId, time: now), to: id)
        case "order.create", "order.amend", "order.cancel", "order.create-batch", "order.amend-batch", "order.cancel-batch":
            let ack = orderAck(request, connection: connection, now: now)
            let delay = currentLatency(now: now)
            if delay > 0 {
                // The order is already on the book; only its acknowledgement is late (a client's timeout).
                Task { [weak self] in
                    try? await Task.sleep(for: .milliseconds(delay))
                    await self?.send(ack, to: id)
                }
            } else {
                send(ack, to: id)
            }
        default:
            send(tradeAck(request, code: 10001, message: "unknown op \(request.op)", connectionId: connection.connectionId, now: now), to: id)
        }
    }

    private func orderAck(_ request: BybitRequest, connection: Connection, now: Int64) -> [UInt8] {
        guard let apiKey = connection.apiKey else {
            return tradeAck(request, code: 10003, message: "Request not authorized, send auth first", connectionId: connection.connectionId, now: now)
        }
        do throws(SimError) {
            if let stamp = request.header["X-BAPI-TIMESTAMP"] {
                guard let value = Int64(stamp) else { throw .parameter("params error: X-BAPI-TIMESTAMP must be an integer") }
                try checkWindow(stamp: value, window: Int64(request.header["X-BAPI-RECV-WINDOW"] ?? "5000") ?? 5_000, now: now)
            }
            guard let first = request.objectArgs.first else { throw .parameter("params error: args must hold one order object") }
            let parameters = try OrderParameters.decode(first)
            if request.op.hasSuffix("-batch") {
                return try batchAck(request, apiKey: apiKey, parameters, connection: connection, now: now)
            }
            let budget = try takeOrderBudget(apiKey: apiKey, now: now)
            let order: SimOrder
            switch request.op {
            case "order.create": order = try placeOrder(apiKey: apiKey, parameters, now: now)
            case "order.amend": order = try amendOrder(apiKey: apiKey, parameters, now: now)
            default: order = try cancelOrder(apiKey: apiKey, parameters, now: now)
            }
            return tradeAck(request, code: 0, message: "OK", connectionId: connection.connectionId, now: now, budget: budget) { out in
                out.beginObject()
                out.field("orderId", order.orderId)
                out.field("orderLinkId", order.orderLinkId)
                out.endObject()
            }
        } catch {
            return tradeAck(request, code: error.code, message: error.message, connectionId: connection.connectionId, now: now,
                            budget: orderBudget(apiKey: apiKey, now: now))
        }
    }

    /// A batch: every item gets its own code in `retExtInfo.list`; the ack itself succeeds.
    private func batchAck(_ request: BybitRequest, apiKey: String, _ batch: OrderParameters, connection: Connection, now: Int64) throws(SimError) -> [UInt8] {
        try batch.checkCategory()
        guard (1...20).contains(batch.batch.count) else { throw .parameter("params error: request must hold 1–20 orders") }
        var results: [(SimOrder?, OrderParameters, SimError?)] = []
        for var item in batch.batch {
            item.fields["category"] = "linear"
            do throws(SimError) {
                _ = try takeOrderBudget(apiKey: apiKey, now: now)
                let order: SimOrder
                switch request.op {
                case "order.create-batch": order = try placeOrder(apiKey: apiKey, item, now: now)
                case "order.amend-batch": order = try amendOrder(apiKey: apiKey, item, now: now)
                default: order = try cancelOrder(apiKey: apiKey, item, now: now)
                }
                results.append((order, item, nil))
            } catch {
                results.append((nil, item, error))
            }
        }
        let budget = orderBudget(apiKey: apiKey, now: now)
        return tradeAck(request, code: 0, message: "OK", connectionId: connection.connectionId, now: now, budget: budget, data: { out in
            out.beginObject()
            out.key("list")
            out.beginArray()
            for (order, item, _) in results {
                out.beginObject()
                out.field("category", "linear")
                out.field("symbol", item.string("symbol") ?? "")
                out.field("orderId", order?.orderId ?? "")
                out.field("orderLinkId", order?.orderLinkId ?? item.string("orderLinkId") ?? "")
                out.field("createAt", order.map { String($0.createdTime / 1_000_000) } ?? "")
                out.endObject()
            }
            out.endArray()
            out.endObject()
        }, extInfo: { out in
            out.beginObject()
            out.key("list")
            out.beginArray()
            for (_, _, error) in results {
                out.beginObject()
                out.field("code", error?.code ?? 0)
                out.field("msg", error?.message ?? "OK")
                out.endObject()
            }
            out.endArray()
            out.endObject()
        })
    }

    func tradeAck(_ request: BybitRequest, code: Int, message: String, connectionId: String, now: Int64, budget: RateLimitInfo? = nil,
                  data: ((inout JSONWriter) -> Void)? = nil, extInfo: ((inout JSONWriter) -> Void)? = nil) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        if let requestId = request.requestId { out.field("reqId", requestId) }
        out.field("retCode", code)
        out.field("retMsg", message)
        out.field("op", request.op)
        if request.op != "auth" {
            out.key("data")
            if let data { data(&out) } else { out.beginObject(); out.endObject() }
            out.key("retExtInfo")
            if let extInfo { extInfo(&out) } else { out.beginObject(); out.endObject() }
            out.key("header")
            out.beginObject()
            if let budget {
                out.field("X-Bapi-Limit", String(budget.limit))
                out.field("X-Bapi-Limit-Status", String(budget.remaining))
                out.field("X-Bapi-Limit-Reset-Timestamp", String(budget.resetMilliseconds))
            }
            out.field("Traceid", "sim-\(stats.messagesSent)")
            out.field("Timenow", String(now / 1_000_000))
            out.endObject()
        }
        out.field("connId", connectionId)
        out.endObject()
        return out.bytes
    }
}
