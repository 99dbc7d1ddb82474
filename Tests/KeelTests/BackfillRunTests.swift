import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Market
import Storage
import Testing
import TestSupport

/// `keel run` against a `keel sim` with a past: the REST backfill at start, its progress where a user
/// looks, the gate, the context it fills, and a restart that asks only for what storage lacks.
@Suite(.serialized)
struct BackfillRunTests {
    private func json(_ bot: Bot, _ path: String) async throws -> [String: Any] {
        let (_, body) = try await get(bot.base + path)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test("a start backfills with visible progress while quoting waits, then quotes; a restart resumes from storage")
    func backfillGateAndResume() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(arguments: ["--history", "1d"])
        defer { sim.stop() }
        // The sim's kline endpoint answers the IP limit (403) until the gate has been seen shut.
        try await sim.fault(#"{"kind":"rate_limit","seconds":300}"#)
        let yaml = simYAML(sim.port, extra: """
            strategy:
              paper_trading: true
              quote_interval_ms: 100
            risk:
              max_consecutive_losses: 0
              enable_kill_switch: false
            limits:
              rate_limit_wait: 1
            context:
              backfill: 86400
            """)
        let firstStart = Date()
        let bot = try await startBot(yaml, in: directory)
        // While the backfill waits: /ready and /strategy/status say why, and nothing is quoted.
        var gate = ""
        #expect(try await waitFor(.seconds(20)) {
            guard let ready = try? await json(bot, "/ready"), let reason = ready["trading_reason"] as? String else { return false }
            gate = reason
            return reason.hasPrefix("backfilling BTCUSDT: ") && ready["trading_allowed"] as? Bool == false
        }, "the gate never said it was backfilling: \(gate)")
        let waiting = try await json(bot, "/strategy/status")
        #expect(waiting["trading_allowed"] as? Bool == false)
        #expect((waiting["live_orders"] as? [Any])?.isEmpty == true)
        #expect((waiting["backfill"] as? [String: Any])?["state"] as? String == "running")
        #expect(try await waitFor(.seconds(30)) { bot.stderr.text.contains("keel_backfill_waiting") })
        // The limit lifts (a new fault window that ends at once).
        try await sim.fault(#"{"kind":"rate_limit","seconds":0.1}"#)
        // Then done: quoting starts.
        #expect(try await waitFor(.seconds(40)) {
            guard let status = try? await json(bot, "/strategy/status") else { return false }
            return status["trading_allowed"] as? Bool == true && ((status["live_orders"] as? [Any])?.count ?? 0) > 0
        }, "no quotes after the backfill: \(bot.stderr.text.suffix(2_000))")
        let context = try await json(bot, "/context/BTCUSDT")
        let backfill = try #require(context["backfill"] as? [String: Any])
        #expect(backfill["state"] as? String == "done")
        #expect(backfill["chunks"] as? Int == 2)
        // The window starts a day before the ask and ends at the last minute closed when the connector
        // fetched it: each minute boundary crossed while the limit held adds one minute.
        let grown = Int(Date().timeIntervalSince(firstStart) / 60) + 1
        let candles = try #require(backfill["candles"] as? Int)
        #expect((1_440...1_440 + grown).contains(candles), "\(candles) candles")
        #expect(((context["candles"] as? [String: Any])?["1h"] as? [Any])?.count ?? 0 >= 24)
        #expect(((context["cvd"] as? [String: Any])?["since"] as? String)?.contains("no taker split") == true)
        #expect((context["vwap"] as? [String: Any])?["session"] is String)
        let (_, metrics) = try await get(bot.base + "/metrics")
        // 2 chunks a backfill; a loaded machine may have restarted the connector mid-way (a second backfill):
        // whatever was asked, done meets total once none runs.
        func metric(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + #"{symbol="BTCUSDT"} "#) }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let total = try #require(metric("keel_backfill_chunks_total"))
        #expect(total >= 2 && total.truncatingRemainder(dividingBy: 2) == 0)
        #expect(metric("keel_backfill_chunks_done") == total)
        let log = bot.stderr.text
        #expect(log.contains("keel_backfill_progress") && log.contains("keel_backfill_waiting") && log.contains("keel_backfill_done"))
        bot.stop()

        // The candles are stored: a restart asks only for the minutes since.
        var storage = StorageConfiguration()
        storage.path = directory.appendingPathComponent("keel.sqlite").path
        let store = try #require(try await TradingStore.open(storage, logger: .init(label: "test")))
        let stored = try await store.count("candles")
        #expect(stored >= 1_440)
        await store.close()
        let again = try await startBot(yaml, in: directory)
        defer { again.stop() }
        #expect(try await waitFor(.seconds(30)) { again.stderr.text.contains("keel_backfill_done") })
        let started = try #require(again.stderr.text.split(separator: "\n").first { $0.contains("keel_backfill_started") })
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(started.utf8)) as? [String: Any])
        // The window slides with the clock: each minute boundary crossed between the two starts takes its
        // oldest minute out of the restart's window.
        let crossed = Int(Date().timeIntervalSince(firstStart) / 60) + 1
        #expect(Int(fields["stored"] as? String ?? "") ?? 0 >= 1_440 - crossed, "\(started)")
        let done = try #require(again.stderr.text.split(separator: "\n").first { $0.contains("keel_backfill_done") })
        // The minutes since the first run's backfill: none or one request.
        #expect(done.contains(#""chunks":"0""#) || done.contains(#""chunks":"1""#), "\(done)")
        let resumed = try await json(again, "/context/BTCUSDT")
        #expect((resumed["backfill"] as? [String: Any])?["state"] as? String == "done")
    }
}
