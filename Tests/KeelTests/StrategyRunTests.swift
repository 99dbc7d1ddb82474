import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Market
import Storage
import Supervisor
import Testing
import TestSupport

/// The strategy end to end: `keel run` quoting against a `keel sim` child, in paper mode and on a
/// sim account, and leaving nothing behind.
@Suite(.serialized)
struct StrategyRunTests {
    private func status(_ bot: Bot) async throws -> [String: Any] {
        let (_, body) = try await get(bot.base + "/strategy/status")
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// The account's open orders on the sim (its truth, not the bot's view).
    private func simOrders(_ sim: SimChildProcess, key: String) async throws -> [String] {
        let (_, body) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/orders?api_key=\(key)")
        let list = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["list"] as? [[String: Any]])
        return list.compactMap { $0["orderLinkId"] as? String }
    }

    private static func strategy(paper: Bool) -> String {
        """
    strategy:
      paper_trading: \(paper)\(paper ? "\n  maker_fee: 0           # fee-free: the quotes sit nearer the touch, so fills come within the minute" : "")
      order_levels: 2
      level_spacing_ticks: 10
      min_spread_bps: 1
      quote_interval_ms: 100
    risk:
      max_position: 0.005
      max_consecutive_losses: 0
      enable_kill_switch: false
    """
    }

    /// What a finished run must have left in storage: one run, ended; every order it sent (ids inside its reserved
    /// blocks), each ended; every fill, once; and the last position equal to the fills' signed sum.
    static func checkStorage(_ store: TradingStore, sentAtLeast: Int, fillsAtLeast: Int) async throws {
        let runs = try await store.runs()
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        #expect(run.endedAt != nil, "the run's end was not flushed")
        let orders = try await store.orders(run: run.run)
        #expect(orders.count >= sentAtLeast, "orders in storage \(orders.count), sent at least \(sentAtLeast)")
        let open = orders.filter { !["cancelled", "filled", "rejected"].contains($0.status) }
        #expect(open.isEmpty, "orders stored as still open: \(open.map { "\($0.clientId) \($0.status)" })")
        let blocks = try await store.clientIdBlocks(run: run.run)
        for order in orders {
            let sequence = Int(order.clientId.split(separator: "-").last ?? "") ?? -1
            #expect(blocks.contains { $0.contains(sequence) }, "\(order.clientId) was sent without a reserved id")
        }
        if let first = orders.first {
            let events = try await store.orderEvents(clientId: first.clientId)
            #expect(events.first?.event == "submitted")
            #expect(events.count >= 2)
        }
        let fills = try await store.fills(run: run.run)
        #expect(fills.count >= fillsAtLeast)
        #expect(Set(fills.map(\.executionId)).count == fills.count)
        let signed = fills.reduce(FixedDecimal.zero) { $0 + ($1.side == .buy ? $1.qty : .zero - $1.qty) }
        let position = try await store.lastPosition(run: run.run)
        #expect(position?.size == signed, "last stored position \(position.map { "\($0.size)" } ?? "none"), fills sum to \(signed)")
        let pnl = try await store.lastPnL(run: run.run)
        #expect(pnl != nil)
        print("storage check (\(store.dialect.rawValue)): \(orders.count) orders, \(fills.count) fills, position \(signed), net \(pnl.map { "\($0.net)" } ?? "-")")
    }

    @Test func paperQuotesBothSidesFillsSkewsAndStopsClean() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let bot = try await startBot(simYAML(sim.port, extra: Self.strategy(paper: true)), in: directory)
        defer { bot.stop() }

        // Quotes on both sides, bid below ask, within the per-side limit.
        var snapshot: [String: Any] = [:]
        // (Start, instrument, backfill, first quotes: seconds alone, longer beside the whole suite.)
        try #require(try await waitFor(.seconds(60)) {
            guard let current = try? await status(bot) else { return false }
            snapshot = current
            let live = current["live_orders"] as? [[String: Any]] ?? []
            return Set(live.compactMap { $0["side"] as? String }) == ["buy", "sell"]
        })
        #expect(snapshot["mode"] as? String == "paper")
        // Quoting began only once the exchange (the sim) had confirmed the symbol's grid.
        let instrument = snapshot["instrument"] as? [String: Any] ?? [:]
        #expect(instrument["confirmed_by_exchange"] as? Bool == true, "\(instrument)")
        #expect(bot.stderr.text.contains("keel_instrument_confirmed"))
        let live = snapshot["live_orders"] as? [[String: Any]] ?? []
        let bids = live.filter { $0["side"] as? String == "buy" }.compactMap { Double($0["price"] as? String ?? "") }
        let asks = live.filter { $0["side"] as? String == "sell" }.compactMap { Double($0["price"] as? String ?? "") }
        #expect(try #require(bids.max()) < (try #require(asks.min())))
        #expect(bids.count <= 2 && asks.count <= 2)

        // Fills come; with a position the quotes lean against it.
        var skewChecked = false
        _ = try await waitFor(.seconds(60)) {
            // The depths of the last decision, with the inventory (position ÷ order size) they were made for.
            guard let current = try? await status(bot), let model = current["model"] as? [String: Any],
                  let inventory = model["inventory"] as? Double, inventory != 0, let bid = model["bid_depth_ticks"] as? Double,
                  let ask = model["ask_depth_ticks"] as? Double, let sigma = model["sigma_ticks"] as? Double, sigma > 0 else { return false }
            // Long: the bid moves away and the ask comes in (sell the inventory); short: the mirror.
            #expect(inventory > 0 ? bid > ask : ask > bid, "inventory \(inventory): bid depth \(bid), ask depth \(ask)")
            #expect(abs(inventory) <= 5 + 1e-9, "inventory \(inventory) order sizes past risk.max_position")
            skewChecked = true
            return true
        }
        #expect(skewChecked, "no fill in a minute of paper quoting")
        // Each fill's markout a second later, in the status (and in storage, below).
        var markouts: [String: Any] = [:]
        #expect(try await waitFor(.seconds(20)) {
            guard let current = try? await status(bot), let view = current["markouts"] as? [String: Any],
                  let one = (view["1s"] as? [String: Any])?["since_start"] as? [String: Any], (one["fills"] as? Int ?? 0) > 0 else { return false }
            markouts = view
            return one["all"] is Double
        }, "no 1 s markout in the status")
        #expect(Set(markouts.keys) == ["1s", "5s", "30s"])
        let orders = try await status(bot)["orders"] as? [String: Int] ?? [:]
        print("strategy test (paper): orders \(orders)")

        // Stopped while orders are live, so the cancel below has something to say it cancelled. At the position
        // limit, with the other side pulled, there can be none for a while, and a live one can fill or be pulled
        // between a look and the signal (CI saw it): once orders are live the market is frozen (the sim's stall:
        // no data, so no fill and no decision) and the stop comes while they still are.
        var frozen = false
        for _ in 0..<5 where !frozen {
            #expect(try await waitFor(.seconds(10)) {
                !((try? await status(bot))?["live_orders"] as? [[String: Any]] ?? []).isEmpty
            }, "no live order to stop on")
            try await sim.fault(#"{"kind":"stall","seconds":5}"#)
            try await Task.sleep(for: .milliseconds(300))  // what was already on its way lands
            frozen = !((try? await status(bot))?["live_orders"] as? [[String: Any]] ?? []).isEmpty
            if !frozen { try await Task.sleep(for: .seconds(5)) }
        }
        try #require(frozen, "no order stayed live through a frozen market in five tries")
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(bot.process.terminationStatus == 0)
        await bot.stderr.drained()
        // The cancel says what it cancelled (paper quoting has orders live at the stop), and the whole stop is
        // accounted for: signal → steps → servers closed, adding up to the total.
        let lines = bot.stderr.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let cancelled = try #require(lines.first { $0["event"] as? String == "keel_orders_cancelled" })
        #expect(Int(cancelled["cancelled"] as? String ?? "") ?? 0 > 0 && !(cancelled["client_ids"] as? String ?? "").isEmpty, "\(cancelled)")
        let stopped = try #require(lines.first { $0["event"] as? String == "keel_stopped" })
        let parts = ["before_steps", "steps", "after_steps"].map { Double(stopped[$0] as? String ?? "") ?? -1 }
        let total = Double(stopped["seconds"] as? String ?? "") ?? -1
        #expect(parts.allSatisfy { $0 >= 0 } && abs(parts.reduce(0, +) - total) < 0.01, "\(stopped)")

        // The SQLite file holds every order the run sent and every fill it counted, and every order ended.
        var configuration = StorageConfiguration()
        configuration.path = directory.appendingPathComponent("keel.sqlite").path
        let store = try #require(try await TradingStore.open(configuration, logger: Logger(label: "test")))
        try await Self.checkStorage(store, sentAtLeast: orders["sent"] ?? 1, fillsAtLeast: orders["fills"] ?? 1)
        #expect(try await store.count("markouts") > 0)
        let fill = try #require(try await store.fills().first)
        let stored = try await store.markouts(executionId: fill.executionId)
        #expect(stored.first?.horizon == 1, "\(stored)")
        await store.close()
    }

    /// A configured grid that is not the exchange's (tick 0.01 and lot 0.0001 where the sim's BTCUSDT has
    /// 0.10 and 0.001): the bot says so, takes the exchange's, and every order the sim holds is on it.
    @Test func theExchangesGridWinsOverAWrongConfiguredOne() async throws {
        let key = "grid-test-key-5c1e"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(account: key, secret: "grid-test-secret-77d0")
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: Self.strategy(paper: false).replacingOccurrences(
            of: "  paper_trading: false\n", with: "  paper_trading: false\n  tick_size: 0.01\n  qty_step: 0.0001\n  min_qty: 0.0001\n  order_size: 0.0015\n"))
        let bot = try await startBot(yaml, in: directory, environment: ["BYBIT_API_KEY": key, "BYBIT_API_SECRET": "grid-test-secret-77d0"])
        defer { bot.stop() }
        var orders: [[String: Any]] = []
        #expect(try await waitFor {
            let (_, body) = (try? await get("http://127.0.0.1:\(sim.controlPort)/sim/orders?api_key=\(key)")) ?? (0, "")
            orders = ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["list"] as? [[String: Any]] ?? []
            return orders.count >= 2
        })
        #expect(bot.stderr.text.contains("keel_instrument_differs"))
        let tick = FixedDecimal("0.1")!, lot = FixedDecimal("0.001")!
        for order in orders {
            let price = try #require(FixedDecimal(order["price"] as? String ?? ""))
            let qty = try #require(FixedDecimal(order["qty"] as? String ?? ""))
            #expect(price.rounded(toMultipleOf: tick, .down) == price, "price \(price) off the exchange's tick")
            // 0.0015 on the configured lot; the exchange's lot makes it 0.001.
            #expect(qty == lot, "qty \(qty) not on the exchange's lot")
        }
        let instrument = try await status(bot)["instrument"] as? [String: Any] ?? [:]
        #expect(FixedDecimal(instrument["tick_size"] as? String ?? "") == tick)
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
    }

    /// kill -9 of the bot with the sim's synthetic flow paused first (it would fill the orders left behind
    /// while we wait, and prove nothing); returns once the orphaned connector, seeing its stdin close, exited.
    private func killWithTheFlowPaused(_ bot: Bot, sim: SimChildProcess) async throws {
        let connector = try await connectorPid(bot)
        let (paused, _) = try await post("http://127.0.0.1:\(sim.controlPort)/sim/flow", body: #"{"paused":true}"#)
        #expect(paused == 200)
        kill(bot.process.processIdentifier, SIGKILL)
        bot.process.waitUntilExit()
        #expect(try await waitFor(.seconds(10)) { ProcessTable.entry(connector) == nil })
    }

    /// On a sim account: the sim holds exactly the bot's orders; SIGTERM leaves none; after a
    /// `kill -9` of the bot its orders are orphans until the next start cancels them.
    @Test func simAccountLeavesNoOrderBehindOnSIGTERMOrAfterAKill() async throws {
        let key = "strategy-test-key-7f21"
        let secret = "strategy-test-secret-90ab"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(account: key, secret: secret)
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: Self.strategy(paper: false))
        let credentials = ["BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret]

        // 1. Quoting live on the account: the sim's open orders are the bot's live orders.
        var bot = try await startBot(yaml, in: directory, environment: credentials)
        #expect(try await waitFor { ((try? await simOrders(sim, key: key)) ?? []).count >= 2 })
        let mode = try await status(bot)["mode"] as? String
        #expect(mode == "live")
        #expect(try await waitFor {
            guard let onSim = try? await simOrders(sim, key: key), let current = try? await status(bot) else { return false }
            let ours = Set((current["live_orders"] as? [[String: Any]] ?? []).compactMap { $0["client_id"] as? String })
            return Set(onSim) == ours && !ours.isEmpty
        })
        let stoppedAt = ContinuousClock.now
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        print("strategy test (sim account): SIGTERM to exit \(ContinuousClock.now - stoppedAt)")
        // The shutdown's own log lines (cancel-all, the exchange's list) say where a slow stop spent its time.
        #expect(ContinuousClock.now - stoppedAt < .seconds(10), "\(bot.stderr.text.split(separator: "\n").suffix(30).joined(separator: "\n"))")
        #expect(bot.process.terminationStatus == 0)
        await bot.stderr.drained()
        #expect(try await simOrders(sim, key: key).isEmpty, "SIGTERM left orders on the exchange")
        #expect(bot.stderr.text.contains("keel_orders_verified_closed"), "shutdown did not check the exchange's open orders")

        // 2. kill -9 with orders open: they stay (nobody cancelled them) …
        bot = try await startBot(yaml, in: directory, environment: credentials)
        #expect(try await waitFor { ((try? await simOrders(sim, key: key)) ?? []).count >= 2 })
        try await killWithTheFlowPaused(bot, sim: sim)
        let orphans = try await simOrders(sim, key: key)
        #expect(!orphans.isEmpty)
        // … until the next start reconciles and cancels every one of them.
        bot = try await startBot(yaml, in: directory, environment: credentials)
        defer { bot.stop() }
        #expect(try await waitFor {
            guard let onSim = try? await simOrders(sim, key: key) else { return false }
            return Set(onSim).isDisjoint(with: orphans)
        }, "orphans \(orphans) still open")
        #expect(bot.stderr.text.contains("keel_foreign_order_cancelled"))
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(try await simOrders(sim, key: key).isEmpty)
        for text in [bot.stderr.text, bot.stdout.text] { #expect(!text.contains(secret)) }
    }

    /// Storage on a sim account, in SQLite and (built with the Postgres trait) PostgreSQL: every order the
    /// sim ever listed for the account is stored, every stored order ended, fills match the sim's position.
    @Test("storage holds every order and fill, in SQLite and PostgreSQL", arguments: TestDatabases.backends)
    func storageHoldsEveryOrderAndFill(backend: StorageConfiguration.Backend) async throws {
        let key = "storage-test-key-\(backend.rawValue)"
        let secret = "storage-test-secret-\(UUID().uuidString.prefix(8))"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(account: key, secret: secret)
        defer { sim.stop() }
        var environment = ["BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret]
        var storageYAML = "storage:\n  path: \(directory.appendingPathComponent("keel.sqlite").path)\n  snapshot_interval: 1\n"
        var postgresURL: String?
        if backend == .postgres {
            let url = try await TestDatabases.freshPostgresDatabase()
            postgresURL = url
            // The URL (with its password) comes from the environment, as a secret should.
            environment["STORAGE_POSTGRES_URL"] = url
            storageYAML = "storage:\n  backend: postgres\n  snapshot_interval: 1\n"
        }
        let bot = try await startBot(simYAML(sim.port, extra: Self.strategy(paper: false) + "\n" + storageYAML), in: directory, environment: environment)
        defer { bot.stop() }
        // Watch the sim's open orders for a while: every id it lists must end up stored.
        var seen: Set<String> = []
        let watchUntil = ContinuousClock.now + .seconds(8)
        while ContinuousClock.now < watchUntil {
            seen.formUnion((try? await simOrders(sim, key: key)) ?? [])
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen.count >= 2)
        let sent = (try await status(bot)["orders"] as? [String: Int])?["sent"] ?? 0
        bot.process.terminate()
        #expect(try await waitFor(.seconds(20)) { !bot.process.isRunning })
        #expect(bot.process.terminationStatus == 0)
        await bot.stderr.drained()
        #expect(bot.stderr.text.contains("keel_storage_flushed"))
        #expect(try await simOrders(sim, key: key).isEmpty)

        var configuration = StorageConfiguration()
        configuration.backend = backend
        configuration.path = directory.appendingPathComponent("keel.sqlite").path
        configuration.postgresURL = postgresURL
        let store = try #require(try await TradingStore.open(configuration, logger: Logger(label: "test")))
        let stored = Set(try await store.orders().map(\.clientId))
        #expect(seen.isSubset(of: stored), "listed on the sim, not stored: \(seen.subtracting(stored))")
        try await Self.checkStorage(store, sentAtLeast: sent, fillsAtLeast: 0)
        // The sim's position for the account is what the stored fills add up to.
        let (_, body) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/positions?api_key=\(key)")
        let list = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["list"] as? [[String: Any]] ?? []
        let row = list.first { $0["symbol"] as? String == "BTCUSDT" }
        let size = FixedDecimal(row?["size"] as? String ?? "0") ?? .zero
        let onSim = row?["side"] as? String == "Sell" ? .zero - size : size
        let fills = try await store.fills()
        let signed = fills.reduce(FixedDecimal.zero) { $0 + ($1.side == .buy ? $1.qty : .zero - $1.qty) }
        #expect(signed == onSim, "stored fills sum to \(signed), the sim holds \(onSim)")
        await store.close()
        for text in [bot.stderr.text, bot.stdout.text] {
            #expect(!text.contains(secret))
            if let postgresURL { #expect(!text.contains(postgresURL)) }
            #expect(!text.contains("keel-test-password"))
        }
    }

    /// Bybit's DCP as the safety net: with `exchange.dcp_time_window: 3` the connector arms it and subscribes
    /// to `dcp.future`; a `kill -9` of the bot (its connector follows) and no restart → the exchange itself
    /// cancels the orders once the window has passed.
    @Test func disconnectCancelClearsTheBookAfterAKillWithoutARestart() async throws {
        let key = "dcp-test-key-51c0"
        let secret = "dcp-test-secret-\(UUID().uuidString.prefix(8))"
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess(account: key, secret: secret)
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: Self.strategy(paper: false), exchange: ["dcp_time_window: 3"])
        let bot = try await startBot(yaml, in: directory, environment: ["BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret])
        defer { bot.stop() }
        #expect(try await waitFor { ((try? await simOrders(sim, key: key)) ?? []).count >= 2 })
        #expect(bot.stderr.text.contains("bybit_dcp_armed"))
        try await killWithTheFlowPaused(bot, sim: sim)
        let killedAt = ContinuousClock.now
        #expect(!(try await simOrders(sim, key: key)).isEmpty, "orders were open when the bot died")
        #expect(try await waitFor(.seconds(15)) { ((try? await simOrders(sim, key: key)) ?? ["?"]).isEmpty }, "DCP did not cancel the orders")
        print("strategy test (DCP 3 s): orders gone \(ContinuousClock.now - killedAt) after the connector exited")
        let (_, body) = try await get("http://127.0.0.1:\(sim.controlPort)/sim/stats")
        let stats = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect((stats?["dcp_cancels"] as? Int ?? 0) >= 2, "\(stats ?? [:])")
    }
}
