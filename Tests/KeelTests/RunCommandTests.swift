import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Service
import Testing
import TestSupport

/// `keel run` as a user runs it: a child process with a YAML config, against a `keel sim` child.
@Suite(.serialized)
struct RunCommandTests {
    private func get(_ url: String) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func servesHealthReadyAndMetricsStopsOnSIGTERMAndNeverShowsASecret() async throws {
        let key = "known-bot-key-5d1e"
        let secret = "known-bot-secret-a93f07"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let simConfig = directory.appendingPathComponent("sim.json")
        try Data(#"{"accounts":[{"api_key":"\#(key)","secret":"\#(secret)"}]}"#.utf8).write(to: simConfig)
        let sim = try await SimChildProcess(arguments: ["--config", simConfig.path])
        defer { sim.stop() }
        let config = directory.appendingPathComponent("bot.yaml")
        try Data("""
        exchange:
          symbols: [BTCUSDT]
          public_url: ws://127.0.0.1:\(sim.port)/v5/public/linear
          private_url: ws://127.0.0.1:\(sim.port)/v5/private
          trade_url: ws://127.0.0.1:\(sim.port)/v5/trade
          rest_url: http://127.0.0.1:\(sim.port)
        monitoring:
          http_port: 0
          health_check_interval: 1
        """.utf8).write(to: config)
        // The secret travels as a file, the key as a variable: both ways in one run.
        let secretFile = directory.appendingPathComponent("secret")
        try Data(secret.utf8).write(to: secretFile)

        let bot = Process()
        bot.executableURL = try keelURL()
        bot.arguments = ["run", "--config", config.path]
        var environment = ProcessInfo.processInfo.environment
        environment["BYBIT_API_KEY"] = key
        environment["BYBIT_API_SECRET_FILE"] = secretFile.path
        environment.removeValue(forKey: "BYBIT_API_SECRET")
        bot.environment = environment
        let output = Pipe()
        let errors = Pipe()
        bot.standardOutput = output
        bot.standardError = errors
        bot.standardInput = FileHandle.nullDevice
        try bot.run()
        let stdout = Collector(output.fileHandleForReading)
        let stderr = Collector(errors.fileHandleForReading)
        defer { if bot.isRunning { bot.interrupt(); bot.waitUntilExit() } }

        #expect(try await waitFor { stderr.text.contains("keel_http_listening") })
        let line = try #require(stderr.text.split(separator: "\n").first { $0.contains("keel_http_listening") })
        let base = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["url"] as? String)
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
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(connectorPid)"))
        #expect(stderr.text.contains("bybit_connector_subprocess_exited"))

        for text in [stdout.text, stderr.text] + answers {
            #expect(!text.contains(key) && !text.contains(secret))
        }
    }

    @Test func badConfigurationNamesTheKeyAndExitsTwo() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bad-\(UUID().uuidString).yaml")
        try Data("exchange:\n  symbols: [BTCUSDT]\nmonitoring:\n  http_port: 99999\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        for (arguments, environment, mention) in [
            (["run", "--config", file.path], [String: String](), "monitoring.http_port: 99999 is not a port"),
            (["config", "check", file.path], [:], "monitoring.http_port"),
            (["run"], ["SYMBOL": "BTCUSDT", "DATA_SOURCE": "kafka"], "exchange.data_source (from DATA_SOURCE): kafka is not a data source"),
            (["run"], ["SYMBOL": "BTCUSDT", "DATA_SOURCE": "binance_ws"], "not available yet"),
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
