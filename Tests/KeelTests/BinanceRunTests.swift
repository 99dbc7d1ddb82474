import Foundation
import Testing
import TestSupport

/// Binance USD-M end to end: `keel connector binance-usdm` as the bot runs it, and `keel run` with
/// `DATA_SOURCE=binance_ws`, both against `keel sim --exchange binance-usdm` children.
@Suite(.serialized)
struct BinanceRunTests {
    @Test func connectorStreamsBooksAnswersCommandsAndAcksShutdownLast() async throws {
        let sim = try await SimChildProcess(arguments: ["--exchange", "binance-usdm"])
        defer { sim.stop() }
        let child = try ConnectorChild(["binance-usdm", "--symbols", "BTCUSDT,ETHUSDT", "--public-url", "ws://127.0.0.1:\(sim.port)",
                                        "--rest-url", "http://127.0.0.1:\(sim.port)", "--stats-interval", "1"])
        let connector = child.process, stdout = child.stdout, stderr = child.stderr
        #expect(try await waitFor { stdout.text.components(separatedBy: "\"type\":\"depth\"").count > 20 && stdout.text.contains("\"type\":\"stats\"") })
        for line in [#"{"command":"instrument","symbol":"BTCUSDT","id":"i-1"}"#, #"{"command":"instrument","symbol":"DOGEUSDT","id":"i-2"}"#,
                     #"{"command":"place","id":"o-1","symbol":"BTCUSDT","side":"buy","qty":"0.001","price":"1000","client_id":"c-1"}"#,
                     #"{"command":"ping","id":"p-1"}"#, "not json"] {
            child.send(line)
        }
        #expect(try await waitFor { stdout.text.contains(#""id":"i-1""#) && stdout.text.contains(#""id":"i-2""#) })
        child.send(#"{"command":"shutdown","id":"bye"}"#)
        connector.waitUntilExit()
        #expect(connector.terminationStatus == 0)

        let objects = stdout.finished().split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        func first(_ type: String, id: String) -> [String: Any]? { objects.first { $0["type"] as? String == type && $0["id"] as? String == id } }
        let instrument = try #require(first("instrument", id: "i-1"))
        #expect(instrument["tick_size"] as? Double == 0.1 && instrument["qty_step"] as? Double == 0.001 && instrument["status"] as? String == "Trading")
        #expect(instrument["min_notional"] as? Double == 5)
        #expect(first("error", id: "i-2")?["code"] as? String == "instrument_unknown")
        #expect(first("error", id: "o-1")?["code"] as? String == "order_entry_unsupported")
        #expect(first("pong", id: "p-1") != nil)
        #expect(objects.contains { $0["type"] as? String == "error" && $0["code"] as? String == "bad_command" })
        #expect(objects.contains { $0["type"] as? String == "status" && $0["connector"] as? String == "binance-usdm" && $0["status"] as? String == "connected" })
        let symbols = Set(objects.filter { $0["type"] as? String == "depth" && $0["kind"] as? String == "snapshot" }.compactMap { $0["symbol"] as? String })
        #expect(symbols == ["BTCUSDT", "ETHUSDT"])
        let topics = objects.last { $0["type"] as? String == "stats" }?["topics"] as? [String: Any] ?? [:]
        #expect(Set(topics.keys).isSuperset(of: ["btcusdt@depth@100ms", "btcusdt@trade", "ethusdt@depth@100ms"]))
        #expect(objects.last?["type"] as? String == "ack" && objects.last?["id"] as? String == "bye")
        #expect(stderr.finished().split(separator: "\n").allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    @Test(arguments: [["--symbols", ""], ["--symbols", "BTCUSDT", "--depth-speed", "7ms"], ["--symbols", "BTCUSDT", "--public-url", "http://x"],
                      ["--symbols", "BTCUSDT", "--rotate-after", "soon"], ["--config", "/nonexistent.yaml"]])
    func badConfigurationIsOneLineNamingTheKeyAndExitTwo(arguments: [String]) async throws {
        let (status, _, text) = try await runKeel(["connector", "binance-usdm"] + arguments)
        #expect(status == 2)
        #expect(text.split(separator: "\n").count == 1, "\(text)")
        let named = ["exchange.symbols", "exchange.binance.depth_speed", "exchange.binance.public_url", "exchange.binance.rotate_after", "--config"]
        #expect(named.contains { text.contains($0) }, "\(text)")
    }

    /// The issue's "done when": `DATA_SOURCE=binance_ws keel run` quotes in paper mode from a Binance
    /// sim, its book exact (equal to the sim's truth at the top once the flow is paused).
    @Test func botQuotesInPaperModeFromBinanceData() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(arguments: ["--exchange", "binance-usdm"])
        defer { sim.stop() }
        let yaml = """
        exchange:
          symbols: [BTCUSDT]
          binance:
            public_url: ws://127.0.0.1:\(sim.port)
            rest_url: http://127.0.0.1:\(sim.port)
        monitoring:
          http_port: 0
          health_check_interval: 1
        strategy:
          enabled: true
          order_levels: 1
          quote_interval_ms: 100
        risk:
          max_consecutive_losses: 0
          enable_kill_switch: false
        """
        let bot = try await startBot(yaml, in: directory, environment: ["DATA_SOURCE": "binance_ws"])
        defer { bot.stop() }
        #expect(try await waitFor {
            guard let (_, body) = try? await get(bot.base + "/strategy/status"),
                  let status = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return false }
            let live = status["live_orders"] as? [[String: Any]] ?? []
            return status["mode"] as? String == "paper" && Set(live.compactMap { $0["side"] as? String }) == ["buy", "sell"]
        })
        #expect(bot.stderr.text.contains("keel_paper_only"))
        // The supervisor's log names are the exchange's: no `bybit_` line about a Binance connector.
        #expect(bot.stderr.text.contains("binance_connector_subprocess_connected") && !bot.stderr.text.contains("bybit_connector_"))
        #expect(bot.stderr.text.contains("keel_instrument_confirmed"))
        // The bot's book against the sim's truth, with the flow paused.
        _ = try await post("http://127.0.0.1:\(sim.controlPort)/sim/flow", body: #"{"paused":true}"#)
        var equal = false
        _ = try await waitFor {
            guard let (_, truthBody) = try? await get("http://127.0.0.1:\(sim.controlPort)/sim/book?symbol=BTCUSDT&depth=1"),
                  let truth = try? JSONSerialization.jsonObject(with: Data(truthBody.utf8)) as? [String: Any],
                  let (_, healthBody) = try? await get(bot.base + "/ws/health"),
                  let health = try? JSONSerialization.jsonObject(with: Data(healthBody.utf8)) as? [String: Any],
                  let book = ((health["connector"] as? [String: Any])?["books"] as? [String: Any])?["BTCUSDT"] as? [String: Any] else { return false }
            equal = book["valid"] as? Bool == true && (book["last_update_id"] as? NSNumber)?.int64Value == (truth["update_id"] as? NSNumber)?.int64Value
            return equal
        }
        #expect(equal, "the bot's book never caught up with the sim's update id")
        let (_, truthBody) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/book?symbol=BTCUSDT&depth=1")
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(truthBody.utf8)) as? [String: Any])
        let (_, statusBody) = try await get(bot.base + "/strategy/status")
        let status = try #require(try JSONSerialization.jsonObject(with: Data(statusBody.utf8)) as? [String: Any])
        let market = status["market"] as? [String: Any] ?? [:]
        let bestBid = try #require(((truth["bids"] as? [[String]])?.first?.first).flatMap(Double.init))
        let bestAsk = try #require(((truth["asks"] as? [[String]])?.first?.first).flatMap(Double.init))
        let mid = try #require((market["mid"] as? String).flatMap(Double.init), "\(market)")
        #expect(abs(mid - (bestBid + bestAsk) / 2) < 1e-6, "bot mid \(mid), truth \(bestBid)/\(bestAsk)")
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(bot.process.terminationStatus == 0)
    }
}
