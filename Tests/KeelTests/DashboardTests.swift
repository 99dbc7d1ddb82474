import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport
@testable import Service
import Supervisor

/// The live dashboard: the page at `/` (compiled in, nothing fetched from elsewhere, the test hooks), the
/// updates `/ws/dashboard` pushes (a snapshot on connect, at most 10 a second, the bot's own figures), and
/// `monitoring.api_token` (every POST needs it once set; a non-loopback host is refused without it; the
/// token reaches no page, update, metric or log). The page in a real browser: `scripts/browser-test.sh`.
struct DashboardTests {
    static let token = "dashboard-test-token-0123456789abcdef"

    @Test func thePagePushesTheBotsOwnFiguresAndPOSTsNeedTheToken() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let strategy = """
        strategy:
          paper_trading: true
          quote_interval_ms: 100
        risk:
          max_consecutive_losses: 0
        """
        let tokenFile = directory.appendingPathComponent("token")
        try Data((Self.token + "\n").utf8).write(to: tokenFile)
        let bot = try await startBot(simYAML(sim.port, extra: strategy), in: directory, environment: ["MONITORING_API_TOKEN_FILE": tokenFile.path])
        defer { bot.stop() }
        #expect(try await waitFor(.seconds(60)) {
            guard let body = try? await get(bot.base + "/strategy/status").1,
                  let status = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return false }
            return !((status["live_orders"] as? [Any]) ?? []).isEmpty
        }, "the bot never quoted")

        // The page: HTML, every hook, nothing loaded from another origin.
        let (pageStatus, page) = try await get(bot.base + "/")
        #expect(pageStatus == 200 && page.hasPrefix("<!doctype html>"))
        for hook in ["connector-status", "last-update", "book-bids", "book-asks", "own-quotes", "position", "pnl-net", "risk-state", "halt", "resume"] {
            #expect(page.contains("data-testid=\"\(hook)\""), "no data-testid \(hook)")
        }
        #expect(page.range(of: #"(src|href)\s*=\s*["']?(https?:)?//"#, options: .regularExpression) == nil, "the page loads something from elsewhere")
        #expect(!page.contains("@import") && !page.contains("url(http"))

        // The socket: a snapshot at once, then at most 10 updates a second, each the bot's own figures.
        let ws = bot.base.replacingOccurrences(of: "http://", with: "ws://") + "/ws/dashboard"
        // Judged by the bot's own clock (each update carries its time): a test run starving this client for a
        // while would see late arrivals in a bunch, not the bot being slow or fast.
        let connecting = Int64(Date().timeIntervalSince1970 * 1e9)
        let messages = try await webSocketTexts(url: ws, seconds: 3)
        let times = messages.compactMap { message in
            ((try? JSONSerialization.jsonObject(with: Data(message.text.utf8))) as? [String: Any])?["time"] as? NSNumber
        }.map(\.int64Value)
        #expect(times.count == messages.count, "an update without its time")
        #expect(times.first.map { $0 - connecting < 1_000_000_000 } == true, "no snapshot on connect")
        #expect(messages.count >= 5, "\(messages.count) updates in 3 s")
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= 99_000_000 }, "more than 10 updates a second: \(times)")
        let lastMessage = try #require(messages.last)
        let update = try #require(try JSONSerialization.jsonObject(with: Data(lastMessage.text.utf8)) as? [String: Any])
        let sources = try #require(update["sources"] as? [[String: Any]])
        #expect(sources.first?["state"] as? String == "Connected" && sources.first?["name"] as? String == "bybit_connector", "\(sources)")
        let book = try #require(update["book"] as? [String: Any])
        let bids = try #require(book["bids"] as? [[String]]), asks = try #require(book["asks"] as? [[String]])
        #expect(bids.count == 20 && asks.count == 20, "\(bids.count) / \(asks.count) levels")
        let bestBid = try #require(Double(bids[0][0])), bestAsk = try #require(Double(asks[0][0]))
        #expect(bestBid < bestAsk)
        let strategyView = try #require(update["strategy"] as? [String: Any])
        #expect(!((strategyView["live_orders"] as? [Any]) ?? []).isEmpty)
        #expect(update["max_position"] as? String != nil && update["token_required"] as? Bool == true)
        #expect(!((update["trades"] as? [Any]) ?? []).isEmpty)
        #expect((update["pnl_curve"] as? [[Double]])?.isEmpty == false)

        // POSTs: 401 without the token or with a wrong one, 200 with it; the halt holds.
        let (noToken, refusal) = try await post(bot.base + "/strategy/halt", body: "")
        #expect(noToken == 401 && refusal.contains("monitoring.api_token") && !refusal.contains(Self.token))
        #expect(try await post(bot.base + "/strategy/halt", body: "", headers: ["Authorization": "Bearer wrong-token-wrong-token-00"]).0 == 401)
        let (halted, answer) = try await post(bot.base + "/strategy/halt", body: "", headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(halted == 200 && answer.contains(#""state":"HALTED""#), "\(answer)")
        // GETs need no token: reading is open (the server is on loopback by default).
        #expect(try await get(bot.base + "/strategy/status").0 == 200)
        // Every answer agrees: not ready (the data is), not quoting, nothing quoted, the page the same.
        let (readyStatus, readyBody) = try await get(bot.base + "/ready")
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(readyBody.utf8)) as? [String: Any])
        #expect(readyStatus == 503 && ready["ready"] as? Bool == false && ready["data_ready"] as? Bool == true, "\(readyBody)")
        #expect((ready["reasons"] as? [String])?.contains { $0.hasPrefix("not quoting: risk HALTED") } == true, "\(readyBody)")
        let halt = try #require(try JSONSerialization.jsonObject(with: Data(try await get(bot.base + "/strategy/status").1.utf8)) as? [String: Any])
        #expect(halt["quoting"] as? Bool == false && halt["trading_allowed"] as? Bool == false)
        #expect((halt["quotes"] as? [String: [Any]])?.values.allSatisfy(\.isEmpty) == true)
        let pushed = try #require(try await webSocketTexts(url: ws, seconds: 0.3).last)
        let view = try #require(try JSONSerialization.jsonObject(with: Data(pushed.text.utf8)) as? [String: Any])
        #expect(view["ready"] as? Bool == false && ((view["strategy"] as? [String: Any])?["risk"] as? [String: Any])?["state"] as? String == "HALTED")

        // The token is nowhere a reader could see it.
        let later = try await webSocketTexts(url: ws, seconds: 0.5)
        let (_, metrics) = try await get(bot.base + "/metrics")
        for (name, text) in [("page", page), ("updates", later.map(\.text).joined()), ("metrics", metrics)] {
            #expect(!text.contains(Self.token), "the token is in the \(name)")
        }
        // A connection that never sends a request (a browser's preconnect) does not hold the stop: the HTTP
        // server gets 2 s, then it is left to the exit; exit 0, well inside the 40 s bound.
        let idle = try Self.openIdleConnection(to: bot.base)
        defer { close(idle) }
        let stopping = ContinuousClock.now
        bot.process.interrupt()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        let took = ContinuousClock.now - stopping
        #expect(bot.process.terminationStatus == 0 && took < .seconds(8), "exit \(bot.process.terminationStatus) after \(took)")
        let log = await bot.stderr.drained()
        #expect(log.contains("keel_http_stop_bounded") && !log.contains("keel_forced_exit"))
        #expect(!log.contains(Self.token), "the token is in the log")
    }

    /// A TCP connection to `base` (http://127.0.0.1:PORT) that sends nothing.
    static func openIdleConnection(to base: String) throws -> Int32 {
        let port = try #require(base.split(separator: ":").last.flatMap { UInt16($0) })
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "could not connect to \(base)")
        return fd
    }

    @Test func aHostBeyondLoopbackIsRefusedWithoutAToken() async throws {
        let file = try temporaryFile("exchange:\n  symbols: [BTCUSDT]\nmonitoring:\n  http_host: 0.0.0.0\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            _ = try await BotSettings.load(file: file, environment: [:])
            Issue.record("a non-loopback host without a token was accepted")
        } catch {
            #expect(error.key == "monitoring.http_host" && error.description.contains("monitoring.api_token"), "\(error)")
        }
        // With a token it loads; the token itself is never echoed, not even when it is too short.
        let settings = try await BotSettings.load(file: file, environment: ["MONITORING_API_TOKEN": Self.token])
        #expect(settings.apiToken == Self.token && settings.httpHost == "0.0.0.0")
        #expect(!settings.report(credentials: nil).contains(Self.token))
        do {
            _ = try await BotSettings.load(file: file, environment: ["MONITORING_API_TOKEN": "short-secret"])
            Issue.record("a 12-character token was accepted")
        } catch {
            #expect(error.key.hasPrefix("monitoring.api_token") && !error.description.contains("short-secret"), "\(error)")
        }
        for host in ["127.0.0.1", "127.0.0.2", "localhost", "::1"] { #expect(BotSettings.isLoopback(host)) }
        for host in ["0.0.0.0", "10.0.0.5", "::", "example.com"] { #expect(!BotSettings.isLoopback(host)) }
    }

    @Test func aSourcesStateSaysWhy() {
        func health(connected: Bool, alive: Bool, silent: Double? = 0.1, restarts: Int = 0) -> ConnectorHealth {
            ConnectorHealth(connected: connected, processAlive: alive, pid: alive ? 42 : nil, queueSize: 0, errorCount: 0, decodeErrors: 0,
                            droppedEvents: 0, events: 1, lastEventTime: 0, secondsSinceLastEvent: silent, restarts: restarts, deaths: restarts,
                            staleRestarts: 0, restartAttempt: 0, lastRestartDelaySeconds: 0)
        }
        let state = DashboardUpdate.Source.state
        #expect(state(health(connected: true, alive: true), 10).state == "Connected")
        #expect(state(health(connected: true, alive: true), 10).reason == nil)
        #expect(state(health(connected: false, alive: true), 10).state == "Reconnecting")
        #expect(state(health(connected: true, alive: true, silent: 12.5), 10) == ("Reconnecting", "no market event for 12 s (stale after 10 s)"))
        let down = state(health(connected: false, alive: false, restarts: 2), 10)
        #expect(down.state == "Down" && down.reason?.contains("restarts so far: 2") == true)
        #expect(state(nil, 10).state == "Standby")
    }

    @Test func thePnLCurveKeepsTheWholeRunInBoundedPoints() throws {
        var curve = PnLCurve()
        let second: Int64 = 1_000_000_000
        for t in 0..<5_000 { curve.add(time: Int64(t) * second / 2, net: Double(t)) }
        #expect(curve.points.count <= PnLCurve.capacity)
        #expect(curve.points.first?.time == 0)
        let lastTime = try #require(curve.points.last?.time)
        #expect(lastTime >= 2_400 * second, "the curve stops before the run's end")
        let gaps = zip(curve.points, curve.points.dropFirst()).map { $1.time - $0.time }
        #expect(gaps.allSatisfy { $0 >= second })
    }
}
