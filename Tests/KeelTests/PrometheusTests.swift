import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Runtime
import Testing
import TestSupport

/// deploy/prometheus and deploy/grafana for real: promtool checks the rules and runs their unit tests (one
/// for every alert); a real Prometheus server (Debian's) on loopback scrapes a paper bot against the sim,
/// every panel query of the Grafana dashboard evaluates to a non-empty result, and a `stall` of the sim's
/// feed makes the stale-feed alert fire (a test copy of the rules, its threshold 2 s) and then resolve.
@Suite(.serialized)
struct PrometheusTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy")

    static func tool(_ name: String) -> String? {
        let found = ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if ProcessInfo.processInfo.environment["KEEL_REQUIRE_PROMTOOL"] != nil {
            #expect(found != nil, "\(name) is required (scripts/test.sh installs Debian's prometheus)")
        }
        return found
    }

    static func run(_ tool: String, _ arguments: [String]) async throws -> (Int32, String) {
        try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, said)
        }
    }

    @Test func theRulesPassPromtoolAndEveryAlertHasAUnitTest() async throws {
        guard let promtool = Self.tool("promtool") else { return }
        let rules = Self.deploy.appendingPathComponent("prometheus/alerts.yml").path
        let (checked, checkSaid) = try await Self.run(promtool, ["check", "rules", rules])
        #expect(checked == 0, "\(checkSaid)")
        let (tested, testSaid) = try await Self.run(promtool, ["test", "rules", Self.deploy.appendingPathComponent("prometheus/alerts_test.yml").path])
        #expect(tested == 0, "\(testSaid)")
        let alerts = Set(try String(contentsOfFile: rules, encoding: .utf8).matches(of: /- alert: (\w+)/).map { String($0.1) })
        let covered = Set(try String(contentsOfFile: Self.deploy.appendingPathComponent("prometheus/alerts_test.yml").path, encoding: .utf8)
            .matches(of: /alertname: (\w+)/).map { String($0.1) })
        #expect(alerts.count >= 11 && alerts.isSubset(of: covered), "alerts without a unit test: \(alerts.subtracting(covered).sorted())")
        let (configChecked, configSaid) = try await Self.run(promtool, ["check", "config", "--syntax-only",
                                                                         Self.deploy.appendingPathComponent("prometheus/prometheus.yml").path])
        #expect(configChecked == 0, "\(configSaid)")
    }

    @Test func aRealPrometheusScrapesTheBotEveryPanelHasDataAndTheStaleAlertFiresAndResolves() async throws {
        guard let prometheus = Self.tool("prometheus") else { return }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let bot = try await startBot(simYAML(sim.port, extra: "strategy:\n  paper_trading: true\n  quote_interval_ms: 100\nrisk:\n  max_consecutive_losses: 0\n"),
                                     in: directory)
        defer { bot.stop() }
        let botAddress = try #require(bot.base.split(separator: "/").last)

        // A test copy of the rules: the stale-feed warning after 2 s instead of 30.
        let rules = try String(contentsOfFile: Self.deploy.appendingPathComponent("prometheus/alerts.yml").path, encoding: .utf8)
        let testRules = rules.replacingOccurrences(of: "keel_connector_seconds_since_last_event > 30", with: "keel_connector_seconds_since_last_event > 2")
        #expect(testRules != rules)
        try Data(testRules.utf8).write(to: directory.appendingPathComponent("alerts.yml"))
        try Data("""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: [\(directory.appendingPathComponent("alerts.yml").path)]
        scrape_configs:
          - job_name: keel
            static_configs:
              - targets: ["\(botAddress)"]
        """.utf8).write(to: directory.appendingPathComponent("prometheus.yml"))
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = ["--config.file=\(directory.appendingPathComponent("prometheus.yml").path)",
                            "--storage.tsdb.path=\(directory.appendingPathComponent("tsdb").path)",
                            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
        let serverLog = Pipe()
        server.standardOutput = serverLog
        server.standardError = serverLog
        try server.run()
        let said = Collector(serverLog.fileHandleForReading)
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        let api = "http://127.0.0.1:\(port)/api/v1"

        func query(_ expression: String) async -> [Any]? {
            var components = URLComponents(string: api + "/query")!
            components.queryItems = [URLQueryItem(name: "query", value: expression)]
            guard let (status, body) = try? await get(components.url!.absoluteString), status == 200,
                  let answer = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let data = answer["data"] as? [String: Any] else { return nil }
            return data["result"] as? [Any]
        }

        let scraped = try await waitFor(.seconds(60)) { await query(#"up{job="keel"} == 1"#)?.isEmpty == false }
        #expect(scraped, "Prometheus never scraped the bot: \(said.text.suffix(1_000))")
        // Quoting, so the order and latency panels have something to show.
        #expect(try await waitFor(.seconds(60)) {
            guard let body = try? await get(bot.base + "/strategy/status").1 else { return false }
            return body.contains(#""live_orders":[{"#)
        })

        // Every panel query of the Grafana dashboard has data (rates need a few scrapes: each is retried).
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.deploy.appendingPathComponent("grafana/keel-dashboard.json")))
            as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var expressions: [(panel: String, expr: String)] = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                expressions.append((panel["title"] as? String ?? "?", try #require(target["expr"] as? String)))
            }
        }
        #expect(expressions.count >= 25)
        for (panel, expression) in expressions {
            let answered = try await waitFor(.seconds(30)) { await query(expression)?.isEmpty == false }
            #expect(answered, "panel \(panel): \(expression) is empty")
        }

        // A stalled feed: the stale alert fires, then resolves once the feed is back.
        let (faultStatus, faultBody) = try await post("http://127.0.0.1:\(sim.controlPort)/sim/faults", body: #"{"kind":"stall","seconds":8}"#)
        #expect(faultStatus == 200, "\(faultBody)")
        func staleAlert() async -> String? {
            guard let (_, body) = try? await get(api + "/alerts"),
                  let answer = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let alerts = (answer["data"] as? [String: Any])?["alerts"] as? [[String: Any]] else { return nil }
            let stale = alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "KeelFeedStale" }
            return stale?["state"] as? String ?? "none"
        }
        let fired = try await waitFor(.seconds(20)) { await staleAlert() == "firing" }
        #expect(fired, "KeelFeedStale never fired")
        let resolved = try await waitFor(.seconds(40)) { await staleAlert() == "none" }
        #expect(resolved, "KeelFeedStale never resolved")
    }
}
