import Bybit
import Connector
import ConnectorWire
import ExchangeSim
import Foundation
import Market
import Runtime
import Testing
import TestSupport

/// Runs a public session against the sim for the length of `body`.
private func withSession(_ sim: SimHarness, configure: (inout PublicSessionConfiguration) -> Void = { _ in },
                         _ body: (BotView, BybitPublicSession) async throws -> Void) async throws {
    var configuration = PublicSessionConfiguration(url: sim.publicURL, symbols: ["BTCUSDT"], depth: 50)
    configuration.socket.reconnect = ReconnectPolicy(base: .milliseconds(100), cap: .seconds(2))
    // `settled` pauses the flow, and on a loaded machine a pause can outlast the 10 s default: the
    // session would then rightly call the book stale and reconnect. Only the stall test wants that.
    configuration.bookStaleAfter = .seconds(120)
    configure(&configuration)
    try await following({ BybitPublicSession(configuration: configuration, logger: SimHarness.quiet, emit: $0) },
                        run: { await $0.run() }, stop: { await $0.stop() }, body)
}

/// Pauses the flow, waits until the depth-50 topic's u stops moving and the bot has caught up to it.
private func settled(_ sim: SimHarness, _ view: BotView) async throws -> (bids: [PriceLevel], asks: [PriceLevel], u: Int64) {
    _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":true}"#)
    var truth = try await sim.truth(symbol: "BTCUSDT", depth: 50)
    for _ in 0..<100 {
        try await Task.sleep(for: .milliseconds(150))
        let next = try await sim.truth(symbol: "BTCUSDT", depth: 50)
        let caughtUp = await view.lastUpdateId == next.topics["orderbook.50.BTCUSDT"]
        if next.topics == truth.topics && caughtUp { break }
        truth = next
    }
    return (truth.bids, truth.asks, truth.topics["orderbook.50.BTCUSDT"] ?? -1)
}

@Suite(.serialized)
struct PublicSessionTests {
    @Test func botBookFromDepthEventsEqualsTheTruthAtCheckpoints() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, _ in
                for checkpoint in 0..<3 {
                    #expect(try await wait { await view.depthEvents() > 60 * (checkpoint + 1) })
                    let truth = try await settled(sim, view)
                    #expect(await view.book.levels(.bid) == truth.bids, "checkpoint \(checkpoint)")
                    #expect(await view.book.levels(.ask) == truth.asks, "checkpoint \(checkpoint)")
                    #expect(await view.lastUpdateId == truth.u)
                    _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":false}"#)
                }
                let statuses = await view.events.compactMap { event -> String? in
                    if case .status(let status) = event { return "\(status.status) \(status.reason ?? "")" } else { return nil }
                }
                #expect(await view.statuses(.resynced).isEmpty, "\(statuses)")
                #expect(await view.snapshots == 1, "\(statuses)")
            }
        }
    }

    @Test func gapAndRestartResyncWithTheirReasons() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, session in
                #expect(try await wait { await view.depthEvents() > 10 })
                try await sim.fault(#"{"kind":"gap","symbol":"BTCUSDT"}"#)
                #expect(try await wait { await view.statuses(.resynced).count == 1 })
                #expect(await view.statuses(.resynced).first?.reason?.contains("sequence gap") == true)
                try await sim.fault(#"{"kind":"restart","symbol":"BTCUSDT"}"#)
                #expect(try await wait { await view.statuses(.resynced).count == 2 })
                #expect(await view.statuses(.resynced).last?.reason == "exchange restart (u == 1)")
                let truth = try await settled(sim, view)
                #expect(await view.book.levels(.bid) == truth.bids)
                #expect(await view.book.levels(.ask) == truth.asks)
                #expect(await session.resyncs == 2)
            }
        }
    }

    /// Chaos: 20 gaps, then 20 exchange restarts; after every resync the book equals the sim's truth.
    @Test func twentyGapsAndTwentyRestartsEachEndWithTheTruthsBook() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, session in
                #expect(try await wait { await view.depthEvents() > 10 })
                var resyncs: [Double] = []
                for round in 0..<40 {
                    let kind = round < 20 ? "gap" : "restart"
                    let before = await view.statuses(.resynced).count
                    let start = ContinuousClock.now
                    try await sim.fault(#"{"kind":"\#(kind)","symbol":"BTCUSDT"}"#)
                    #expect(try await wait { await view.statuses(.resynced).count == before + 1 }, "round \(round) (\(kind)): no resync")
                    let took = ContinuousClock.now - start
                    resyncs.append(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
                    let truth = try await settled(sim, view)
                    #expect(await view.book.levels(.bid) == truth.bids, "round \(round) (\(kind))")
                    #expect(await view.book.levels(.ask) == truth.asks, "round \(round) (\(kind))")
                    _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":false}"#)
                    // A gap needs deltas to skip: let a few flow before the next fault.
                    let events = await view.depthEvents()
                    #expect(try await wait { await view.depthEvents() > events + 3 })
                }
                #expect(await session.resyncs == 40)
                let sorted = resyncs.sorted()
                print(String(format: "chaos (gap ×20, restart ×20): 40 resyncs, each book equal to the truth; fault → resynced min %.3f / median %.3f / max %.3f s",
                             sorted.first ?? 0, sorted[sorted.count / 2], sorted.last ?? 0))
            }
        }
    }

    @Test func malformedFrameIsCountedAndTheFeedGoesOn() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, session in
                #expect(try await wait { await view.depthEvents() > 5 })
                try await sim.fault(#"{"kind":"malformed"}"#)
                #expect(try await wait { await session.malformed == 1 })
                let before = await view.depthEvents()
                #expect(try await wait { await view.depthEvents() > before + 5 })
                #expect(await view.statuses(.disconnected).isEmpty)
            }
        }
    }

    @Test func dropReconnectsAndStartsFromAFreshSnapshot() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, _ in
                #expect(try await wait { await view.depthEvents() > 10 })
                try await sim.fault(#"{"kind":"drop"}"#)
                #expect(try await wait { await view.statuses(.connected).count == 2 })
                #expect(await view.statuses(.reconnecting).first?.attempt == 1)
                #expect(try await wait { await view.snapshots == 2 })
                let truth = try await settled(sim, view)
                #expect(await view.book.levels(.bid) == truth.bids)
                #expect(await view.book.levels(.ask) == truth.asks)
            }
        }
    }

    @Test func stallIsDetectedAsAStaleFeedAndRecovered() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim, configure: { $0.bookStaleAfter = .seconds(1) }) { view, _ in
                #expect(try await wait { await view.depthEvents() > 10 })
                let stalled = ContinuousClock.now
                try await sim.fault(#"{"kind":"stall","seconds":3}"#)
                #expect(try await wait { !(await view.statuses(.stale)).isEmpty })
                let detected = ContinuousClock.now - stalled
                #expect(detected < .seconds(1) + .seconds(1) + .milliseconds(500))   // threshold + 1 s (+ scheduling)
                #expect(await view.statuses(.stale).first?.topic == "orderbook.50.BTCUSDT")
                #expect(try await wait { await view.reconnectedWithSnapshot() })
            }
        }
    }

    @Test func rejectedReconnectsFollowTheBackoffThenRecover() async throws {
        try await SimHarness.with { sim in
            try await withSession(sim) { view, _ in
                #expect(try await wait { await view.depthEvents() > 5 })
                try await sim.fault(#"{"kind":"reject","seconds":3}"#)
                try await sim.fault(#"{"kind":"drop"}"#)
                #expect(try await wait { await view.statuses(.connected).count == 2 })
                let attempts = await view.statuses(.reconnecting)
                // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s (+ ≤ 30 % jitter) covers 3 s: a handful of tries, no storm.
                #expect(attempts.count >= 2 && attempts.count <= 6, "\(attempts.count) attempts")
                let delays = attempts.compactMap(\.retryDelayMilliseconds)
                #expect(zip(delays, delays.dropFirst()).allSatisfy { $1 >= $0 })
                let (_, data) = try await sim.control("GET", "/sim/stats")
                let stats = try JSONSerialization.jsonObject(with: data) as! [String: Any]
                #expect((stats["connections_rejected"] as? Int ?? 0) == attempts.count - 1)
            }
        }
    }
}

struct ConnectorWireTests {
    @Test func eventsAreWrittenWithExactDecimals() throws {
        let trade = TradeTick(symbol: "BTCUSDT", price: try FixedDecimal(parsing: "50000.10"), qty: try FixedDecimal(parsing: "0.020"),
                              aggressor: .sell, tradeId: "12345", exchangeTime: 1_717_440_000_000_000_000, receiveTime: 7)
        #expect(String(decoding: ConnectorEvent.trade(trade).line, as: UTF8.self)
            == #"{"type":"trade","symbol":"BTCUSDT","timestamp":1717440000000,"price":50000.10,"qty":0.020,"side":"sell","is_buyer_maker":true,"id":"12345","recv_ns":7}"#)
        let update = DepthUpdate(symbol: "BTCUSDT", kind: .delta, bids: [PriceLevel(price: try FixedDecimal(parsing: "50000.0"), qty: try FixedDecimal(parsing: "1.5"))],
                                 asks: [PriceLevel(price: try FixedDecimal(parsing: "50001.0"), qty: .zero)], lastUpdateId: 42,
                                 exchangeTime: 1_717_440_000_000_000_000, receiveTime: 9)
        #expect(String(decoding: ConnectorEvent.depth(.init(update: update, depth: 50)).line, as: UTF8.self)
            == #"{"type":"depth","symbol":"BTCUSDT","timestamp":1717440000000,"kind":"delta","bids":[[50000.0,1.5]],"asks":[[50001.0,0]],"last_update_id":42,"depth":50,"recv_ns":9}"#)
        #expect(String(decoding: ConnectorEvent.status(.init(status: .connected)).line, as: UTF8.self) == #"{"type":"status","status":"connected","connector":"bybit"}"#)
    }

    @Test func accountEventsAreWrittenWithExactDecimals() throws {
        func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
        let order = OrderUpdate(symbol: "BTCUSDT", orderId: "o-1", clientId: "q-7", side: .buy, orderType: "Limit", timeInForce: "PostOnly",
                                price: d("50000.10"), qty: d("0.020"), filledQty: d("0.005"), averagePrice: d("50000.10"), state: .partiallyFilled,
                                reduceOnly: false, rejectReason: "EC_NoError", cancelType: "UNKNOWN", createdTime: 1_000_000, updatedTime: 2_000_000)
        #expect(String(decoding: ConnectorEvent.order(order).line, as: UTF8.self)
            == #"{"type":"order","symbol":"BTCUSDT","order_id":"o-1","client_id":"q-7","side":"buy","order_type":"limit","time_in_force":"PostOnly","price":50000.10,"qty":0.020,"filled_qty":0.005,"avg_price":50000.10,"status":"partially_filled","reduce_only":false,"reject_reason":"EC_NoError","cancel_type":"UNKNOWN","timestamp":2}"#)
        let fill = Fill(symbol: "BTCUSDT", orderId: "o-1", clientId: "q-7", executionId: "e-9", side: .buy, price: d("50000.10"), qty: d("0.005"),
                        fee: d("0.0500001"), feeRate: d("0.0002"), isMaker: true, leavesQty: d("0.015"), closedSize: d("0"), time: 3_000_000)
        #expect(String(decoding: ConnectorEvent.fill(fill).line, as: UTF8.self)
            == #"{"type":"fill","symbol":"BTCUSDT","order_id":"o-1","client_id":"q-7","exec_id":"e-9","side":"buy","price":50000.10,"qty":0.005,"fee":0.0500001,"fee_rate":0.0002,"is_maker":true,"leaves_qty":0.015,"closed_size":0,"timestamp":3}"#)
        let position = PositionUpdate(symbol: "BTCUSDT", size: d("-0.005"), entryPrice: d("50000.10"), markPrice: d("50001.00"),
                                      unrealisedPnl: d("-0.0045"), realisedPnl: d("1.5"), updatedTime: 4_000_000)
        #expect(String(decoding: ConnectorEvent.position(position).line, as: UTF8.self)
            == #"{"type":"position","symbol":"BTCUSDT","size":-0.005,"entry_price":50000.10,"mark_price":50001.00,"unrealised_pnl":-0.0045,"realised_pnl":1.5,"timestamp":4}"#)
    }

    @Test func commandsDecodeAndBadLinesAreTypedErrors() throws {
        func decode(_ text: String) throws -> ConnectorCommand { try ConnectorCommand.decode(Array(text.utf8)) }
        #expect(try decode(#"{"command":"subscribe","channel":"depth","symbol":"BTCUSDT","id":"1"}"#) == .subscribe(channel: .depth, symbol: "BTCUSDT", id: "1"))
        #expect(try decode(#"{"command":"ping"}"#) == .ping(id: nil))
        let place = try decode(#"{"command":"place","id":"9","symbol":"BTCUSDT","side":"buy","order_type":"limit","qty":"0.010","price":50000.5,"time_in_force":"PostOnly","client_id":"q-1"}"#)
        guard case .place(_, let order) = place else { Issue.record("not a place"); return }
        let qty = try FixedDecimal(parsing: "0.010")
        let price = try FixedDecimal(parsing: "50000.5")
        #expect(order.qty == qty && order.price == price && order.timeInForce == .postOnly)
        for (line, mention) in [("garbage", "not a JSON"), (#"{"command":"fly","id":"2"}"#, "unknown command"),
                                (#"{"command":"subscribe","channel":"candles","symbol":"X","id":"3"}"#, "channel"),
                                (#"{"command":"place","id":"4","symbol":"BTCUSDT","side":"buy","qty":"1","client_id":"c"}"#, "needs price")] {
            do {
                _ = try decode(line)
                Issue.record("accepted \(line)")
            } catch let error as ConnectorCommand.DecodeError {
                #expect(error.message.contains(mention), "\(error.message)")
                if line.contains("\"id\"") { #expect(error.id != nil) }
            }
        }
    }

    @Test func credentialsComeFromEnvironmentFilesOrSecretsAndNeverPrint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keel-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "file-secret\n".write(to: folder.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try "dir-key".write(to: folder.appendingPathComponent("bybit_api_key"), atomically: true, encoding: .utf8)
        let fromFile = try Credentials.load(environment: ["BYBIT_API_KEY": "env-key", "BYBIT_API_SECRET_FILE": folder.appendingPathComponent("secret.txt").path],
                                            secretsDirectory: "/nonexistent")
        #expect(fromFile == Credentials(apiKey: "env-key", apiSecret: "file-secret"))
        #expect(try Credentials.load(environment: [:], secretsDirectory: "/nonexistent") == nil)
        #expect(throws: Credentials.LoadError.onlyOne(present: "BYBIT_API_KEY", missing: "BYBIT_API_SECRET")) {
            try Credentials.load(environment: [:], secretsDirectory: folder.path)
        }
        #expect(!"\(fromFile!)".contains("env-key") && !"\(fromFile!)".contains("file-secret"))
    }
}
