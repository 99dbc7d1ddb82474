import Foundation
import Testing
import TestSupport

/// `exchange.fallback`: the Bybit sim refused for longer than `fallback_after` → the bot's market data
/// comes from the Binance sim (shown in `/ws/health` and `/ready`), a live venue stops quoting; Bybit
/// back and synced → the primary is restored and quoting resumes.
@Suite(.serialized)
struct FallbackTests {
    private func json(_ url: String) async throws -> [String: Any] {
        let (_, body) = try await get(url)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    private func simOrders(_ sim: SimChildProcess, key: String) async throws -> Int {
        let object = try await json("http://127.0.0.1:\(sim.controlPort)/sim/orders?api_key=\(key)")
        return (object["list"] as? [[String: Any]])?.count ?? -1
    }

    @Test func bybitRefusedFallsBackToBinanceAndIsRestoredWhenBack() async throws {
        let key = "fallback-test-key-51c0"
        let secret = "fallback-test-secret-2e9d"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bybit = try await SimChildProcess(account: key, secret: secret)
        defer { bybit.stop() }
        let binance = try await SimChildProcess(arguments: ["--exchange", "binance-usdm"])
        defer { binance.stop() }
        let yaml = simYAML(bybit.port, extra: """
        strategy:
          paper_trading: false
          order_levels: 1
          quote_interval_ms: 100
        risk:
          max_consecutive_losses: 0
          enable_kill_switch: false
        """, exchange: ["fallback: [binance_ws]", "fallback_after: 2", "binance:", "  public_url: ws://127.0.0.1:\(binance.port)",
                        "  rest_url: http://127.0.0.1:\(binance.port)"], monitoring: ["reconnect_base_ms: 200", "reconnect_cap_ms: 1000"])
        let bot = try await startBot(yaml, in: directory, environment: ["BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret])
        defer { bot.stop() }

        // Quoting live on Bybit, market data from Bybit.
        #expect(try await waitFor { ((try? await simOrders(bybit, key: key)) ?? 0) >= 2 })
        var health = try await json(bot.base + "/ws/health")
        #expect((health["data_source"] as? [String: Any])?["active"] as? String == "bybit_connector")

        // Bybit refuses connections for 60 s (long enough for the checks below while fifty other suites load the machine) and drops every socket: no trusted book → Binance's data.
        try await bybit.fault(#"{"kind":"reject","seconds":60}"#)
        try await bybit.fault(#"{"kind":"drop"}"#)
        #expect(try await waitFor(.seconds(15)) {
            guard let current = try? await json(bot.base + "/ws/health") else { return false }
            health = current
            return (current["data_source"] as? [String: Any])?["active"] as? String == "binance_ws"
        })
        let source = health["data_source"] as? [String: Any] ?? [:]
        #expect(source["fallback"] as? Bool == true && source["primary"] as? String == "bybit_connector")
        #expect((source["reason"] as? String)?.contains("no trusted book") == true, "\(source)")
        #expect(bot.stderr.text.contains("keel_data_source_fallback"))
        // The bot's book is Binance's (its update ids), valid; /ready names the source.
        #expect(try await waitFor {
            guard let current = try? await json(bot.base + "/ws/health"),
                  let book = ((current["connector"] as? [String: Any])?["books"] as? [String: Any])?["BTCUSDT"] as? [String: Any] else { return false }
            return book["valid"] as? Bool == true && ((book["last_update_id"] as? NSNumber)?.int64Value ?? 0) >= 7_000_000_000
        })
        let ready = try await json(bot.base + "/ready")
        #expect(ready["data_source"] as? String == "binance_ws")
        // A live venue does not quote on another venue's prices.
        var lastReady: [String: Any] = [:]
        #expect(try await waitFor {
            guard let ready = try? await json(bot.base + "/ready") else { return false }
            lastReady = ready
            return ready["trading_allowed"] as? Bool == false && (ready["trading_reason"] as? String)?.contains("prices from another venue") == true
        }, "last /ready: \(lastReady)")
        // Its quotes are pulled from the exchange (the cancel goes to the primary's connector, over REST while its sockets are refused).
        #expect(try await waitFor(.seconds(10)) { ((try? await simOrders(bybit, key: key)) ?? -1) == 0 })
        #expect(((try? await json(bot.base + "/ws/health"))?["data_source"] as? [String: Any])?["active"] as? String == "binance_ws")

        // Bybit back: the connector reconnects and resyncs, the primary is restored, quoting resumes.
        #expect(try await waitFor(.seconds(90)) {
            ((try? await json(bot.base + "/ws/health"))?["data_source"] as? [String: Any])?["active"] as? String == "bybit_connector"
        })
        #expect(bot.stderr.text.contains("keel_data_source_restored"))
        #expect(try await waitFor(.seconds(30)) {
            guard let current = try? await json(bot.base + "/ws/health"),
                  let book = ((current["connector"] as? [String: Any])?["books"] as? [String: Any])?["BTCUSDT"] as? [String: Any] else { return false }
            return book["valid"] as? Bool == true && ((book["last_update_id"] as? NSNumber)?.int64Value ?? .max) < 7_000_000_000
        })
        #expect(try await waitFor(.seconds(30)) { ((try? await simOrders(bybit, key: key)) ?? 0) >= 2 })
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(bot.process.terminationStatus == 0)
        #expect(try await simOrders(bybit, key: key) == 0)
    }
}
