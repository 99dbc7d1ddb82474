import Bybit
import ExchangeSim
import Foundation
import HummingbirdWSClient
import Market
import Testing
import TestSupport

private func code(_ answer: (status: Int, json: [String: Any], headers: [String: String])) -> Int? { answer.json["retCode"] as? Int }
private func result(_ answer: (status: Int, json: [String: Any], headers: [String: String])) -> [String: Any] { answer.json["result"] as? [String: Any] ?? [:] }

private func order(_ side: String, _ qty: String, _ type: String = "Limit", price: String? = nil, link: String = "", tif: String? = nil) -> String {
    var fields = [#""category":"linear""#, #""symbol":"BTCUSDT""#, #""side":"\#(side)""#, #""orderType":"\#(type)""#, #""qty":"\#(qty)""#]
    if let price { fields.append(#""price":"\#(price)""#) }
    if !link.isEmpty { fields.append(#""orderLinkId":"\#(link)""#) }
    if let tif { fields.append(#""timeInForce":"\#(tif)""#) }
    return "{" + fields.joined(separator: ",") + "}"
}

/// Collects every text frame of one socket; JSON is parsed on the reader's side.
actor Frames {
    var texts: [String] = []
    func add(_ text: String) { texts.append(text) }
    func snapshot() -> [String] { texts }

    nonisolated func all() async -> [[String: Any]] {
        await snapshot().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
    nonisolated func topic(_ name: String) async -> [[String: Any]] { await all().filter { $0["topic"] as? String == name } }
    nonisolated func op(_ name: String) async -> [[String: Any]] { await all().filter { $0["op"] as? String == name } }
}

private func waitFor(_ timeout: Duration = .seconds(5), _ condition: @Sendable () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

private func authFrame(key: String = SimHarness.key, secret: String = SimHarness.secret) -> String {
    let expires = Int64(Date().timeIntervalSince1970 * 1_000) + 10_000
    return BybitEncode.auth(requestId: "auth", apiKey: key, expires: expires, signature: BybitSigning.authSignature(secret: secret, expires: expires))
}

@Suite(.serialized)
struct SimOrderEntryTests {
    @Test func signedRestOrderLifecycleWithBybitErrorCodes() async throws {
        try await SimHarness.with { sim in
            // The REST book mirrors the 1000-level topic, first published after 200 ms.
            var bids: [[String]] = []
            for _ in 0..<50 where bids.isEmpty {
                let (_, book) = try await sim.get("/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=1")
                bids = ((try JSONSerialization.jsonObject(with: book) as! [String: Any])["result"] as! [String: Any])["b"] as! [[String]]
                if bids.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let bestBid = try FixedDecimal(parsing: try #require(bids.first?.first))
            let farPrice = (bestBid - FixedDecimal(1_000)).description
            let created = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice, link: "rest-1"))
            #expect(code(created) == 0, "\(created.json)")
            #expect(created.headers["x-bapi-limit"] == "10")
            #expect(created.headers["x-bapi-limit-status"] == "9")
            let orderId = try #require(result(created)["orderId"] as? String)
            #expect(result(created)["orderLinkId"] as? String == "rest-1")

            let open = try await sim.signed("GET", "/v5/order/realtime", query: "category=linear&symbol=BTCUSDT")
            let list = result(open)["list"] as? [[String: Any]] ?? []
            #expect(list.map { $0["orderId"] as? String } == [orderId])
            #expect(list.first?["orderStatus"] as? String == "New")
            #expect(list.first?["price"] as? String == farPrice)

            let again = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice, link: "rest-1"))
            #expect(code(again) == 110072, "\(again.json)")
            #expect(code(try await sim.signed("POST", "/v5/order/amend", body: #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"rest-1","qty":"0.020"}"#)) == 0)
            let (_, truthData) = try await sim.control("GET", "/sim/orders?api_key=\(SimHarness.key)")
            let truth = ((try JSONSerialization.jsonObject(with: truthData) as! [String: Any])["list"] as! [[String: Any]])
            #expect(truth.first?["qty"] as? String == "0.020")
            #expect(code(try await sim.signed("POST", "/v5/order/cancel", body: #"{"category":"linear","symbol":"BTCUSDT","orderId":"\#(orderId)"}"#)) == 0)
            #expect(code(try await sim.signed("POST", "/v5/order/cancel", body: #"{"category":"linear","symbol":"BTCUSDT","orderId":"\#(orderId)"}"#)) == 110001)

            // Authentication and parameters, each with its code; never echoing the key or secret.
            let wrongSecret = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice), secret: "not-the-secret")
            #expect(code(wrongSecret) == 10004)
            #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice), key: "nobody")) == 10003)
            let stale = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice), timestamp: Int64(Date().timeIntervalSince1970 * 1_000) - 60_000)
            #expect(code(stale) == 10002)
            #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.010", price: farPrice + "5"))) == 10001)
            #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Up", "0.010", price: farPrice))) == 10001)
            #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.0001", price: farPrice))) == 10001)
            for answer in [wrongSecret, stale] {
                let text = String(describing: answer.json)
                #expect(!text.contains(SimHarness.secret) && !text.contains(SimHarness.key))
            }
        }
    }

    @Test func orderRateLimitAnswers10006WithItsHeaders() async throws {
        try await SimHarness.with({ $0.orderRateLimit = 3 }) { sim in
            // A concurrent burst lands inside one second even on a loaded machine.
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let answer = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.001", price: "1000.00", link: "rl-\(index)"))
                        return (code(answer) ?? -1, answer.headers["x-bapi-limit"] ?? "")
                    }
                }
                var all: [(Int, String)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(answers.filter { $0.0 == 0 }.count <= 3)
            #expect(answers.filter { $0.0 == 10006 }.count >= 5 - 3)
            #expect(answers.allSatisfy { $0.1 == "3" })
            try await Task.sleep(for: .milliseconds(1_100))
            try await sim.fault(#"{"kind":"rate_limit","seconds":5}"#)
            #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.001", price: "1000.00"))) == 10006)
        }
    }

    @Test func marketOrderFillsAndThePrivateStreamReportsOrderExecutionPositionWallet() async throws {
        try await SimHarness.with { sim in
            let frames = Frames()
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(sim.ports.main)/v5/private", logger: SimHarness.quiet) { inbound, outbound, _ in
                let reader = Task { for try await message in inbound.messages(maxSize: 1 << 22) { if case .text(let text) = message { await frames.add(text) } } }
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "early", topics: ["order"])))
                try await outbound.write(.text(authFrame()))
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "s", topics: ["order", "execution", "position", "wallet"])))
                #expect(try await waitFor { await frames.op("subscribe").count == 2 })
                let subscribes = await frames.op("subscribe")
                #expect(subscribes[0]["success"] as? Bool == false)    // before auth
                #expect(subscribes[1]["success"] as? Bool == true)
                #expect((await frames.op("auth")).first?["success"] as? Bool == true)

                let placed = try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.050", "Market", link: "mkt-1"))
                #expect(code(placed) == 0)
                #expect(try await waitFor { !(await frames.topic("wallet")).isEmpty })
                let orders = (await frames.topic("order")).flatMap { $0["data"] as! [[String: Any]] }
                #expect(orders.last?["orderStatus"] as? String == "Filled")
                #expect(orders.last?["orderLinkId"] as? String == "mkt-1")
                let executions = (await frames.topic("execution")).flatMap { $0["data"] as! [[String: Any]] }
                let filled = executions.reduce(FixedDecimal.zero) { $0 + (try! FixedDecimal(parsing: $1["execQty"] as! String)) }
                #expect(filled == (try FixedDecimal(parsing: "0.050")))
                #expect(executions.allSatisfy { $0["isMaker"] as? Bool == false })
                let position = (await frames.topic("position")).last.map { ($0["data"] as! [[String: Any]])[0] }
                #expect(position?["size"] as? String == "0.050" && position?["side"] as? String == "Buy")
                // Keel's own private decoder reads every frame the sim sent, to the same account state.
                var decodedFills: [Fill] = []
                var lastOrder: OrderUpdate?
                var lastPosition: PositionUpdate?
                for text in await frames.snapshot() {
                    switch try text.withBytes({ try BybitPrivateDecoder().decode($0) }) {
                    case .orders(let orders): lastOrder = orders.last
                    case .fills(let fills): decodedFills += fills
                    case .positions(let positions): lastPosition = positions.last
                    default: break
                    }
                }
                let expected = try FixedDecimal(parsing: "0.050")
                let total = decodedFills.reduce(FixedDecimal.zero) { $0 + $1.qty }
                #expect(lastOrder?.state == .filled && lastOrder?.clientId == "mkt-1" && lastOrder?.filledQty == expected)
                #expect(total == expected)
                #expect(Set(decodedFills.map(\.executionId)).count == decodedFills.count)
                #expect(lastPosition?.size == expected)
                reader.cancel()
                try await outbound.close(.normalClosure, reason: nil)
            }
            let positions = try await sim.signed("GET", "/v5/position/list", query: "category=linear&symbol=BTCUSDT")
            #expect(((result(positions)["list"] as? [[String: Any]])?.first?["size"] as? String) == "0.050")
            let wallet = try await sim.signed("GET", "/v5/account/wallet-balance", query: "accountType=UNIFIED")
            let coin = (((result(wallet)["list"] as? [[String: Any]])?.first?["coin"]) as? [[String: Any]])?.first
            #expect(coin?["coin"] as? String == "USDT")
            #expect((try FixedDecimal(parsing: coin?["walletBalance"] as? String ?? "0")) < FixedDecimal(100_000))   // fees paid
        }
    }

    @Test func tradeStreamAcksOrdersAndLatencyDelaysOnlyTheAck() async throws {
        try await SimHarness.with { sim in
            let frames = Frames()
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(sim.ports.main)/v5/trade", logger: SimHarness.quiet) { inbound, outbound, _ in
                let reader = Task { for try await message in inbound.messages(maxSize: 1 << 22) { if case .text(let text) = message { await frames.add(text) } } }
                try await outbound.write(.text(authFrame()))
                #expect(try await waitFor { (await frames.op("auth")).first?["retCode"] as? Int == 0 })
                func request(_ id: String, _ op: String, _ args: String) -> String {
                    let stamp = Int64(Date().timeIntervalSince1970 * 1_000)
                    return #"{"reqId":"\#(id)","header":{"X-BAPI-TIMESTAMP":"\#(stamp)","X-BAPI-RECV-WINDOW":"5000"},"op":"\#(op)","args":[\#(args)]}"#
                }
                try await outbound.write(.text(request("c1", "order.create", order("Sell", "0.010", price: "999999.00", link: "ws-1"))))
                #expect(try await waitFor { !(await frames.op("order.create")).isEmpty })
                let ack = (await frames.op("order.create"))[0]
                #expect(ack["reqId"] as? String == "c1" && ack["retCode"] as? Int == 0)
                #expect(((ack["data"] as? [String: Any])?["orderLinkId"] as? String) == "ws-1")
                #expect(((ack["header"] as? [String: Any])?["X-Bapi-Limit-Status"] as? String) == "9")

                try await outbound.write(.text(request("b1", "order.create-batch",
                    #"{"category":"linear","request":[\#(order("Sell", "0.010", price: "999999.00", link: "ws-2")),\#(order("Sell", "0.010", price: "999999.05", link: "ws-3"))]}"#)))
                #expect(try await waitFor { !(await frames.op("order.create-batch")).isEmpty })
                let batch = (await frames.op("order.create-batch"))[0]
                let codes = (((batch["retExtInfo"] as? [String: Any])?["list"]) as? [[String: Any]])?.map { $0["code"] as? Int }
                #expect(codes == [0, 10001])

                try await sim.fault(#"{"kind":"latency","seconds":10,"ms":1500}"#)
                let sent = ContinuousClock.now
                try await outbound.write(.text(request("c2", "order.create", order("Sell", "0.010", price: "999998.00", link: "ws-late"))))
                try await Task.sleep(for: .milliseconds(200))
                // Not acknowledged yet, but already on the exchange: a client that timed out must reconcile, not resend.
                #expect((await frames.op("order.create")).count == 1)
                let (_, truthData) = try await sim.control("GET", "/sim/orders?api_key=\(SimHarness.key)")
                #expect(String(decoding: truthData, as: UTF8.self).contains("ws-late"))
                #expect(try await waitFor(.seconds(20)) { (await frames.op("order.create")).count == 2 })
                #expect(ContinuousClock.now - sent >= .milliseconds(1_500))
                reader.cancel()
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }

    @Test func disconnectCancelCancelsEverythingOnceTheDcpConnectionsAreGone() async throws {
        try await SimHarness.with { sim in
            #expect(code(try await sim.signed("POST", "/v5/order/disconnected-cancel-all", body: #"{"product":"DERIVATIVES","timeWindow":5}"#)) == 0)
            #expect(code(try await sim.signed("POST", "/v5/order/disconnected-cancel-all", body: #"{"timeWindow":1}"#)) == 10001)
            let frames = Frames()
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(sim.ports.main)/v5/private", logger: SimHarness.quiet) { inbound, outbound, _ in
                let reader = Task { for try await message in inbound.messages(maxSize: 1 << 22) { if case .text(let text) = message { await frames.add(text) } } }
                try await outbound.write(.text(authFrame()))
                try await outbound.write(.text(BybitEncode.subscribe(requestId: "d", topics: ["dcp.future"])))
                #expect(try await waitFor { (await frames.op("subscribe")).first?["success"] as? Bool == true })
                #expect(code(try await sim.signed("POST", "/v5/order/create", body: order("Buy", "0.001", price: "1000.00", link: "dcp-1"))) == 0)
                reader.cancel()
                try await outbound.close(.normalClosure, reason: nil)
            }
            let closed = ContinuousClock.now
            let before = try await sim.signed("GET", "/v5/order/realtime", query: "category=linear&orderLinkId=dcp-1")
            if ContinuousClock.now - closed < .seconds(4) {
                #expect(((result(before)["list"] as? [[String: Any]])?.first?["orderStatus"] as? String) == "New")
            }
            var cancelled: [String: Any]?
            while ContinuousClock.now - closed < .seconds(30) {
                try await Task.sleep(for: .milliseconds(250))
                let after = try await sim.signed("GET", "/v5/order/realtime", query: "category=linear&orderLinkId=dcp-1")
                cancelled = (result(after)["list"] as? [[String: Any]])?.first
                if cancelled?["orderStatus"] as? String != "New" { break }
            }
            #expect(ContinuousClock.now - closed >= .seconds(5))
            #expect(cancelled?["orderStatus"] as? String == "Cancelled")
            #expect(cancelled?["cancelType"] as? String == "CancelByDCP")
        }
    }
}
