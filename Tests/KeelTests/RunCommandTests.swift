import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Service
import Supervisor
import Testing
import TestSupport

/// `keel run` as a user runs it: a child process with a YAML config, against a `keel sim` child.
@Suite(.serialized)
struct RunCommandTests {
    @Test func servesHealthReadyAndMetricsStopsOnSIGTERMAndNeverShowsASecret() async throws {
        let key = "known-bot-key-5d1e"
        let secret = "known-bot-secret-a93f07"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(account: key, secret: secret)
        defer { sim.stop() }
        // The secret travels as a file, the key as a variable: both ways in one run.
        let secretFile = directory.appendingPathComponent("secret")
        try Data(secret.utf8).write(to: secretFile)
        let running = try await startBot(simYAML(sim.port), in: directory,
                                          environment: ["BYBIT_API_KEY": key, "BYBIT_API_SECRET_FILE": secretFile.path])
        let (bot, stdout, stderr, base) = (running.process, running.stdout, running.stderr, running.base)
        defer { running.stop() }
        #expect(try await waitFor { (try? await get(base + "/ready"))?.0 == 200 })

        var answers: [String] = []
        let (healthStatus, healthBody) = try await get(base + "/ws/health")
        answers.append(healthBody)
        #expect(healthStatus == 200)
        let health = try #require((try JSONSerialization.jsonObject(with: Data(healthBody.utf8)) as? [String: Any])?["connector"] as? [String: Any])
        #expect(health["connected"] as? Bool == true)
        #expect(health["last_ts"] is String && health["queue_size"] is Int)
        let inner = try #require(health["connector_health"] as? [String: Any])
        #expect(inner["process_alive"] as? Bool == true && inner["pid"] is Int && inner["queue_size"] is Int && inner["error_count"] as? Int == 0)
        let connectorPid = try #require(inner["pid"] as? Int)
        #expect((health["books"] as? [String: Any])?["BTCUSDT"] != nil)

        let (_, ready) = try await get(base + "/ready")
        answers.append(ready)
        let (_, status) = try await get(base + "/strategy/status")
        answers.append(status)
        #expect(ready.contains(#""ready":true"#))
        let (metricsStatus, metrics) = try await get(base + "/metrics")
        answers.append(metrics)
        #expect(metricsStatus == 200)
        for name in [#"ws_reconnect_attempts_total{exchange="bybit",ws_type="connector"}"#, "keel_connector_queue_size", "keel_connector_seconds_since_last_event",
                     #"keel_book_levels{symbol="BTCUSDT",side="bid"}"#, "keel_tick_to_bot_latency_seconds_bucket", "process_resident_memory_bytes",
                     "process_open_fds", #"keel_connector_events_total{type="depth"}"#] {
            #expect(metrics.contains(name), "\(name)")
        }
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        if ProcessInfo.processInfo.environment["KEEL_REQUIRE_PROMTOOL"] != nil {
            #expect(promtool != nil, "promtool is required (scripts/test.sh installs Debian's prometheus)")
        }
        if let promtool {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: promtool)
            check.arguments = ["check", "metrics"]
            let input = Pipe()
            check.standardInput = input
            let checkOutput = Pipe()
            check.standardOutput = checkOutput
            check.standardError = checkOutput
            try check.run()
            input.fileHandleForWriting.write(Data(metrics.utf8))
            try input.fileHandleForWriting.close()
            check.waitUntilExit()
            let said = String(decoding: checkOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(check.terminationStatus == 0, "promtool: \(said)")
        }

        // SIGTERM: a clean exit within the bound, the connector stopped and reaped.
        let stoppedAt = ContinuousClock.now
        bot.terminate()
        #expect(try await waitFor(.seconds(40)) { !bot.isRunning })
        #expect(ContinuousClock.now - stoppedAt < .seconds(40))
        #expect(bot.terminationStatus == 0)
        await stderr.drained()
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(connectorPid)"))
        #expect(stderr.text.contains("bybit_connector_subprocess_exited"))
        // The connector's JSON log lines are the bot's own records (`source: connector`), not strings inside `line`.
        #expect(stderr.text.contains(#""source":"connector""#))
        #expect(!stderr.text.contains(#"\"event\":"#), "a connector log line logged as a string")
        #expect(stderr.text.contains(#""count":"0","event":"keel_children_at_exit""#), "the bot left a child behind")

        // Every log line, HTTP answer and byte stored (the SQLite file and its WAL): no key, no secret.
        let stored = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("keel.sqlite") }
            .map { String(decoding: FileManager.default.contents(atPath: directory.appendingPathComponent($0).path) ?? Data(), as: UTF8.self) }
        #expect(!stored.isEmpty)
        for text in [stdout.text, stderr.text] + answers + stored {
            #expect(!text.contains(key) && !text.contains(secret))
        }
    }

    /// `DATA_SOURCE=stub`: the in-process feed, no connector child; books valid, ready, a clean stop.
    @Test func stubDataSourceFeedsTheBotWithoutAConnector() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bot = try await startBot("exchange:\n  symbols: [BTCUSDT, ETHUSDT]\nmonitoring:\n  http_port: 0\n  metrics_port: 0\n", in: directory,
                                     environment: ["DATA_SOURCE": "stub"])
        defer { bot.stop() }
        #expect(try await waitFor { (try? await get(bot.base + "/ready"))?.0 == 200 })
        let (_, body) = try await get(bot.base + "/ws/health")
        let connector = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["connector"] as? [String: Any])
        #expect(connector["connected"] as? Bool == true)
        #expect((connector["connector_health"] as? [String: Any])?["pid"] is NSNull)
        let books = try #require(connector["books"] as? [String: [String: Any]])
        #expect(books["BTCUSDT"]?["valid"] as? Bool == true && books["ETHUSDT"]?["valid"] as? Bool == true)
        #expect(books["BTCUSDT"]?["bid_levels"] as? Int == 25)
        #expect(ProcessTable.children(of: bot.process.processIdentifier).isEmpty, "the stub starts no child")
        // monitoring.metrics_port: /metrics on its own port as well.
        _ = try await waitFor { bot.stderr.text.contains("keel_metrics_listening") }
        let metricsLine = try #require(bot.stderr.text.split(separator: "\n").first { $0.contains("keel_metrics_listening") })
        let metricsURL = try #require((try JSONSerialization.jsonObject(with: Data(metricsLine.utf8)) as? [String: Any])?["url"] as? String)
        let (metricsStatus, metrics) = try await get(metricsURL)
        #expect(metricsStatus == 200 && metrics.contains("keel_connector_connected 1"))
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(bot.process.terminationStatus == 0)
        await bot.stderr.drained()
        #expect(bot.stderr.text.contains(#""phase":"done","seconds""#) && bot.stderr.text.contains(#""step":"all""#))
    }

    /// SIGSTOP to `pid`, and the wait until it is stopped: a stop is delivered when the process next runs,
    /// and a bot signalled in that gap found its connector still answering (once, on CI).
    private func freeze(_ pid: Int32) async throws {
        kill(pid, SIGSTOP)
        let stopped = try await waitFor(.seconds(5)) { ProcessTable.entry(pid).map { $0.state == "T" || $0.state == "t" } ?? false }
        try #require(stopped, "the connector \(pid) did not stop")
    }

    /// A connector that answers nothing (SIGSTOP): the graceful stop escalates to SIGKILL and says so
    /// (`bybit_connector_cleanup_error`), still exits 0 well inside the bound; a second signal during
    /// such a stop exits at once with 128 + signal, the connector's group killed; the whole-stop
    /// deadline (`monitoring.shutdown_timeout`) does the same on its own.
    @Test func aHungConnectorIsKilledAndASecondSignalOrTheDeadlineForcesTheExit() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }

        // 1. Graceful stop of a frozen connector: shutdown (3 s) → SIGTERM (2 s) → SIGKILL, logged.
        var bot = try await startBot(simYAML(sim.port), in: directory)
        var pid = try await connectorPid(bot)
        try await freeze(pid)
        var stoppedAt = ContinuousClock.now
        bot.process.terminate()
        #expect(try await waitFor(.seconds(40)) { !bot.process.isRunning })
        var took = ContinuousClock.now - stoppedAt
        print("run test: graceful stop with a frozen connector took \(took)")
        #expect(bot.process.terminationStatus == 0)
        await bot.stderr.drained()
        #expect(took < .seconds(15))
        #expect(bot.stderr.text.contains("bybit_connector_cleanup_error"))
        #expect(ProcessTable.entry(pid) == nil)

        // 2. A second signal while the stop waits on the frozen connector: out at once, code 130.
        bot = try await startBot(simYAML(sim.port), in: directory)
        pid = try await connectorPid(bot)
        try await freeze(pid)
        bot.process.terminate()
        _ = try await waitFor { bot.stderr.text.contains(#""step":"stop the connector""#) }
        stoppedAt = ContinuousClock.now
        bot.process.interrupt()
        #expect(try await waitFor(.seconds(10)) { !bot.process.isRunning })
        took = ContinuousClock.now - stoppedAt
        print("run test: forced exit \(took) after the second signal")
        #expect(bot.process.terminationStatus == 128 + SIGINT)
        await bot.stderr.drained()
        #expect(took < .seconds(2))
        #expect(bot.stderr.text.contains("keel_forced_exit"))
        #expect(try await waitFor(.seconds(5)) { ProcessTable.entry(pid) == nil }, "the frozen connector was killed with its group")

        // 3. The deadline: a 1 s whole-stop bound forces the exit before the 5 s escalation ends.
        bot = try await startBot(simYAML(sim.port, extra: "  shutdown_timeout: 1"), in: directory)
        pid = try await connectorPid(bot)
        try await freeze(pid)
        stoppedAt = ContinuousClock.now
        bot.process.terminate()
        #expect(try await waitFor(.seconds(10)) { !bot.process.isRunning })
        took = ContinuousClock.now - stoppedAt
        print("run test: deadline exit after \(took)")
        #expect(bot.process.terminationStatus == 1)
        await bot.stderr.drained()
        #expect(took < .seconds(3))
        #expect(bot.stderr.text.contains("longer than 1.0 s"))
        #expect(try await waitFor(.seconds(5)) { ProcessTable.entry(pid) == nil })
    }

    @Test func prometheusCanBeSwitchedOff() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bot = try await startBot("exchange:\n  symbols: [BTCUSDT]\nmonitoring:\n  http_port: 0\n  enable_prometheus: false\n", in: directory,
                                     environment: ["DATA_SOURCE": "stub"])
        defer { bot.stop() }
        #expect(try await get(bot.base + "/metrics").0 == 404)
        #expect(try await get(bot.base + "/health").0 == 200)
    }

    @Test func badConfigurationNamesTheKeyAndExitsTwo() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bad-\(UUID().uuidString).yaml")
        try Data("exchange:\n  symbols: [BTCUSDT]\nmonitoring:\n  http_port: 99999\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        for (arguments, environment, mention) in [
            (["run", "--config", file.path], [String: String](), "monitoring.http_port: 99999 is not a port"),
            (["config", "check", file.path], [:], "monitoring.http_port"),
            (["run"], ["SYMBOL": "BTCUSDT", "DATA_SOURCE": "kafka"], "exchange.data_source (from DATA_SOURCE): kafka is not a data source"),
            (["run"], ["SYMBOL": "BTCUSDT", "DATA_SOURCE": "binance_ws", "CONNECTOR_PAPER_TRADING": "false"],
             "strategy.paper_trading: false with exchange.data_source binance_ws"),
            (["run"], ["LOG_LEVEL": "INFO"], "exchange.symbols"),
        ] {
            let bot = Process()
            bot.executableURL = try keelURL()
            bot.arguments = arguments
            bot.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.filter { !$0.key.hasPrefix("BYBIT_") }
            let errors = Pipe()
            bot.standardError = errors
            bot.standardOutput = FileHandle.nullDevice
            try bot.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            bot.waitUntilExit()
            #expect(bot.terminationStatus == 2, "\(arguments) \(environment)")
            #expect(text.contains(mention), "\(text)")
            #expect(text.split(separator: "\n").count == 1, "\(text)")
        }
    }
}
