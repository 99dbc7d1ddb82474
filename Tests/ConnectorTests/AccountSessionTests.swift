import Bybit
@testable import Connector
import ConnectorWire
import ExchangeSim
import Foundation
import Market
import Runtime
import Testing
import TestSupport

/// The private stream, trade stream, REST client and order entry against the sim, as a bot sees them.
private func withAccount(_ sim: SimHarness, configure: (inout ConnectorOptions) -> Void = { _ in },
                         _ body: (BotView, AccountSessions) async throws -> Void) async throws {
    let base = "127.0.0.1:\(sim.ports.main)"
    var settings = ConnectorSettings()
    settings.symbols = ["BTCUSDT"]
    settings.reconnectBaseMilliseconds = 100
    settings.reconnectCapMilliseconds = 2_000
    settings.reconcileAttempts = 8
    var options = settings.options(credentials: Credentials(apiKey: SimHarness.key, apiSecret: SimHarness.secret))
    options.privateSocket.url = "ws://\(base)/v5/private"
    options.tradeSocket.url = "ws://\(base)/v5/trade"
    options.rest.baseURL = "http://\(base)"
    options.orderEntry.reconcileBackoff = .milliseconds(100)
    configure(&options)
    try await following({ try AccountSessions(options: options, credentials: options.credentials!, logger: SimHarness.quiet, emit: $0) },
                        run: { await $0.run() }, stop: { await $0.stop() }, close: { await $0.rest.shutdown() }, body)
}

private func place(_ clientId: String, side: Side = .buy, qty: String = "0.001", price: String?, type: String = "limit",
                   tif: String = "GTC", id: String? = nil) throws -> ConnectorCommand {
    var fields = #"{"command":"place","symbol":"BTCUSDT","side":"\#(side.rawValue)","qty":"\#(qty)","order_type":"\#(type)","time_in_force":"\#(tif)","client_id":"\#(clientId)""#
    if let price { fields += #","price":"\#(price)""# }
    if let id { fields += #","id":"\#(id)""# }
    return try ConnectorCommand.decode(Array((fields + "}").utf8))
}

private func command(_ json: String) throws -> ConnectorCommand {
    try ConnectorCommand.decode(Array(json.utf8))
}

/// The sim's open orders for the demo account, by client id.
private func openOrders(_ sim: SimHarness) async throws -> [String] {
    let (_, data) = try await sim.control("GET", "/sim/orders?api_key=\(SimHarness.key)")
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    return (object["list"] as! [[String: Any]]).map { $0["orderLinkId"] as! String }
}

/// A price far below the market, so a buy rests.
private func restingBid(_ sim: SimHarness) async throws -> FixedDecimal {
    let truth = try await sim.truth(symbol: "BTCUSDT", depth: 1)
    return truth.bids[0].price - FixedDecimal(500)
}

@Suite(.serialized)
struct AccountSessionTests {
    @Test func placeAmendCancelCancelAllAndFillsMatchTheSimsTruth() async throws {
        try await SimHarness.with { sim in
            try await withAccount(sim) { view, account in
                #expect(try await wait { await view.statuses(.reconciled).count == 1 })
                let price = try await restingBid(sim)
                await account.entry.submit(try place("keel-a", price: price.description, id: "p1"))
                #expect(try await wait { await view.answered("p1", "keel-a", state: .new) })
                #expect(await view.orders("keel-a").last?.state == .new)
                #expect(await view.orders("keel-a").last?.price == price)

                let moved = price - FixedDecimal(1)
                await account.entry.submit(try command(#"{"command":"amend","id":"a1","symbol":"BTCUSDT","client_id":"keel-a","price":"\#(moved)"}"#))
                #expect(try await wait { await view.answered("a1", "keel-a", state: .new) })
                #expect(await view.orders("keel-a").last?.price == moved)

                await account.entry.submit(try command(#"{"command":"cancel","id":"c1","symbol":"BTCUSDT","client_id":"keel-a"}"#))
                #expect(try await wait { await view.answered("c1", "keel-a", state: .cancelled) })

                await account.entry.submit(try place("keel-b", price: price.description))
                await account.entry.submit(try place("keel-c", price: (price - FixedDecimal(2)).description))
                #expect(try await wait { (try? await openOrders(sim).sorted()) == ["keel-b", "keel-c"] })
                await account.entry.submit(try command(#"{"command":"cancel_all","id":"x1","symbol":"BTCUSDT"}"#))
                #expect(try await wait { await view.acks("x1") == 1 })
                #expect(try await wait { await view.answered("x1", "keel-b", state: .cancelled) })
                #expect(try await wait { await view.answered("x1", "keel-c", state: .cancelled) })
                #expect(try await openOrders(sim).isEmpty)

                // A marketable order: fills and a position, as the sim's truth has them.
                await account.entry.submit(try place("keel-m", qty: "0.002", price: nil, type: "market", tif: "IOC", id: "m1"))
                #expect(try await wait { await view.orders("keel-m").last?.state == .filled })
                let fills = await view.fills("keel-m")
                #expect(fills.reduce(FixedDecimal.zero) { $0 + $1.qty } == (try FixedDecimal(parsing: "0.002")))
                let expected = try FixedDecimal(parsing: "0.002")
                #expect(try await wait { await view.positions("BTCUSDT").last?.size == expected })
                let (_, data) = try await sim.control("GET", "/sim/positions?api_key=\(SimHarness.key)")
                let list = (try JSONSerialization.jsonObject(with: data) as! [String: Any])["list"] as! [[String: Any]]
                #expect(list.first { $0["symbol"] as? String == "BTCUSDT" }?["size"] as? String == "0.002")
                let errors = await view.errors()
                #expect(errors.isEmpty, "\(errors)")
            }
        }
    }

    @Test func anAckLostToLatencyEndsInAReconciledOrderNeverADuplicate() async throws {
        try await SimHarness.with { sim in
            try await withAccount(sim, configure: { $0.orderEntry.submitTimeout = .milliseconds(300) }) { view, account in
                #expect(try await wait { await view.statuses(.reconciled).count == 1 })
                let price = try await restingBid(sim)
                try await sim.fault(#"{"kind":"latency","ms":1500,"seconds":4}"#)
                await account.entry.submit(try place("keel-late", price: price.description, id: "late"))
                #expect(try await wait { await view.unknowns("keel-late") == 1 })
                #expect(try await wait { await view.acks("late") == 1 })
                #expect(await view.orders("keel-late").last?.state == .new)
                #expect(try await openOrders(sim) == ["keel-late"])
                // The late ack still arrives; nothing changes.
                try await Task.sleep(for: .seconds(2))
                #expect(try await openOrders(sim) == ["keel-late"])
                #expect(await view.acks("late") == 1)
                let errors = await view.errors()
                #expect(errors.isEmpty, "\(errors)")
            }
        }
    }

    @Test func theRateBudgetAnswersRateLimitedBeforeTheExchangeWould() async throws {
        try await SimHarness.with({ $0.orderRateLimit = 5 }) { sim in
            try await withAccount(sim, configure: { $0.orderEntry.rateLimit = 5; $0.orderEntry.rateLimitReserve = 0 }) { view, account in
                #expect(try await wait { await view.statuses(.reconciled).count == 1 })
                let price = try await restingBid(sim)
                for index in 0..<8 {
                    await account.entry.submit(try place("keel-r\(index)", price: (price - FixedDecimal(index)).description, id: "r\(index)"))
                }
                #expect(try await wait { await view.answeredCount((0..<8).map { "r\($0)" }) == 8 })
                let limited = await view.errors(code: "rate_limited")
                #expect(limited.count == 3)
                #expect(limited.allSatisfy { $0.exchangeCode == nil })   // refused here, never by the exchange
                #expect(try await openOrders(sim).count == 5)
            }
        }
    }

    @Test func ordersGoOverRESTWhenTheTradeStreamIsDown() async throws {
        try await SimHarness.with { sim in
            try await withAccount(sim, configure: { $0.tradeSocket.url = "ws://127.0.0.1:1/v5/trade" }) { view, account in
                #expect(try await wait { await view.statuses(.reconciled).count == 1 })
                let price = try await restingBid(sim)
                await account.entry.submit(try place("keel-rest", price: price.description, id: "rest"))
                #expect(try await wait { await view.answered("rest", "keel-rest", state: .new) })
                #expect(await account.entry.restFallbacks == 1)
                // A refusal comes back typed, with the exchange's code.
                await account.entry.submit(try place("keel-rest", price: price.description, id: "dup"))
                #expect(try await wait { await view.errors(code: "duplicate_client_id").first?.id == "dup" })
                #expect(await view.errors(code: "duplicate_client_id").first?.exchangeCode == 110072)
            }
        }
    }

    @Test func aDroppedConnectionReconnectsReauthenticatesAndReconcilesAgain() async throws {
        try await SimHarness.with { sim in
            try await withAccount(sim) { view, account in
                #expect(try await wait { await view.statuses(.reconciled).count == 1 })
                let price = try await restingBid(sim)
                await account.entry.submit(try place("keel-keep", price: price.description, id: "k"))
                #expect(try await wait { await view.acks("k") == 1 })
                let before = await view.orders("keel-keep").count
                try await sim.fault(#"{"kind":"drop"}"#)
                #expect(try await wait { await view.statuses(.reconciled).count == 2 })
                #expect(try await wait { await view.statuses(.authenticated).count >= 4 })   // private + trade, twice (each on its own backoff)
                // The reconciliation reports the order that is still open.
                #expect(await view.orders("keel-keep").count > before)
                #expect(await view.statuses(.reconciled).last?.reason == "1 open orders, 0 positions")
                // Order entry works on the new connections.
                await account.entry.submit(try command(#"{"command":"cancel","id":"k2","symbol":"BTCUSDT","client_id":"keel-keep"}"#))
                #expect(try await wait { await view.acks("k2") == 1 })
            }
        }
    }
}
