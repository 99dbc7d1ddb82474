import Foundation
import Testing
import TestSupport

/// `keel backtest` on the shared Binance USD-M capture, as a user runs it.
struct BacktestCommandTests {
    static let config = """
    strategy:
      model: touch
      touch_offset_ticks: 0
      min_spread_bps: 0
      quote_interval_ms: 100
    risk:
      max_position: 0.05
      max_drawdown: none
      max_loss: none
      max_consecutive_losses: 0
    backtest:
      order_latency_ms: 20
      queue_model: probabilistic
      queue_function: power
      queue_power: 2
    """

    @Test func theSharedCaptureGivesASummaryCSVsAndASelfContainedReport() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bot.yaml")
        try Data(Self.config.utf8).write(to: config)
        let out = directory.appendingPathComponent("out").path
        let run = try await runKeel(["backtest", "--exchange", "binance-usdm", "--config", config.path, "--out", out,
                            SharedData.path("binance-usdm/btcusdt_20240808.gz")])
        #expect(run.status == 0, "\(run.stderr)")
        let last = try #require(run.stdout.split(separator: "\n").last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in ["events", "seconds", "events_per_sec", "orders", "amends", "cancels", "fills", "maker_fills", "position", "realised_pnl",
                    "unrealised_pnl", "fees", "net_pnl", "max_drawdown", "round_trips", "quote_uptime"] {
            #expect(summary[key] != nil, "\(key) missing from \(last)")
        }
        #expect(summary["symbol"] as? String == "BTCUSDT")
        // Markouts of the fills at 1, 5 and 30 s.
        let markouts = try #require(summary["markouts"] as? [String: [String: Any]], "\(last)")
        #expect(Set(markouts.keys) == ["1s", "5s", "30s"])
        #expect((markouts["1s"]?["fills"] as? Int ?? 0) > 0 && markouts["1s"]?["all"] is Double)
        #expect((summary["fills"] as? Int ?? 0) > 10 && (summary["quote_uptime"] as? Double ?? 0) > 0.1)
        let fills = try String(contentsOfFile: out + "/fills.csv", encoding: .utf8).split(separator: "\n")
        #expect(fills.first == "time,client_id,side,price,qty,fee,maker,mid" && fills.count == (summary["fills"] as! Int) + 1)
        let equity = try String(contentsOfFile: out + "/equity.csv", encoding: .utf8).split(separator: "\n")
        #expect(equity.first == "time,mid,position,realised,unrealised,net" && equity.count > 100)
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("<polygon") && report.contains("quote uptime"))
        // Self-contained: no script, no stylesheet or image from anywhere (the SVG namespace is a name, not a fetch).
        #expect(!report.contains("<script") && !report.contains("src=") && !report.contains("href="))
    }

    @Test func aBadBacktestKeyNamesTheKeyAndTheFix() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bot.yaml")
        try Data("backtest:\n  queue_model: optimistic\n".utf8).write(to: config)
        let run = try await runKeel(["backtest", "--exchange", "bybit", "--config", config.path, SharedData.path("bybit/recorded-sample.txt")])
        #expect(run.status == 2 && run.stderr.contains("backtest.queue_model") && run.stderr.contains("risk_averse or probabilistic"))
    }

    /// A recording of the other exchange is refused with what to do, not replayed as an empty market that
    /// traded nothing; nothing is cached for it.
    @Test func theOtherExchangesRecordingIsRefusedWithTheExchangeToName() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bot.yaml")
        try Data(Self.config.utf8).write(to: config)
        let cache = directory.appendingPathComponent("cache").path
        let run = try await runKeel(["backtest", "--exchange", "bybit", "--config", config.path, "--cache", cache,
                                     SharedData.path("binance-usdm/btcusdt_20240808.gz")])
        #expect(run.status == 2, "\(run.stdout)")
        #expect(run.stderr.contains("is a bybit market message") && run.stderr.contains("--exchange binance-usdm"), "\(run.stderr)")
        #expect(!run.stdout.contains("\"events\""))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).isEmpty)
    }
}
