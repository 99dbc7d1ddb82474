import Foundation
import MarketContext
import Prometheus
import Storage
import Strategy
import Supervisor

/// The bot's Prometheus metrics (swift-prometheus), brought up to date from the supervisor's health
/// and the market state at every scrape of `/metrics`.
final class BotMetrics: @unchecked Sendable {
    let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    private var reported: [String: Int] = [:]
    private var tickToQuoteWindow: [Int64] = []
    private let reconnectAttempts: Counter
    private let maxReconnectReached: Counter
    private let reconnectDelay: Gauge
    private let restarts: Counter
    private let deaths: Counter
    private let staleRestarts: Counter
    private let dropped: Counter
    private let parseErrors: Counter
    private let queueSize: Gauge
    private let secondsSinceLastEvent: Gauge
    private let connected: Gauge
    private let processAlive: Gauge
    private let tickToBot: DurationHistogram
    let tickToQuote: DurationHistogram
    private let residentMemory: Gauge
    private let cpuSeconds: Counter
    private var reportedCPU = 0.0
    private let openFileDescriptors: Gauge
    private let handleLock = NSLock()
    private var handles: [String: AnyObject] = [:]

    /// `exchange`: the primary connector's (`bybit`, `binance-usdm`), the label of its restart counters.
    init(exchange: String = "bybit") {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let labels = [("exchange", exchange), ("ws_type", "connector")]
        reconnectAttempts = BotMetrics.counter(registry, "ws_reconnect_attempts_total", BotMetrics.reconnectHelp, labels: labels)
        for session in ["public", "private", "trade"] {
            _ = BotMetrics.counter(registry, "ws_reconnect_attempts_total", BotMetrics.reconnectHelp,
                                   labels: [("exchange", exchange), ("ws_type", session)])
        }
        // At zero from the start, so an alert's increase() sees the first one.
        _ = BotMetrics.counter(registry, "keel_foreign_orders_total", BotMetrics.foreignHelp)
        for liquidity in ["maker", "taker"] { _ = BotMetrics.counter(registry, "keel_fills_total", BotMetrics.fillsHelp, labels: [("liquidity", liquidity)]) }
        maxReconnectReached = BotMetrics.counter(registry, "ws_max_reconnect_reached_total", "Times reconnecting gave up (never: it backs off up to its cap and keeps trying).", labels: labels)
        reconnectDelay = BotMetrics.gauge(registry, "ws_reconnect_delay_seconds", BotMetrics.delayHelp, labels: labels)
        restarts = BotMetrics.counter(registry, "keel_connector_restarts_total", "Connector child processes started after the first.")
        deaths = BotMetrics.counter(registry, "keel_connector_deaths_total", "Connector children that exited or were killed unasked.")
        staleRestarts = BotMetrics.counter(registry, "keel_connector_stale_restarts_total", "Restarts because no market event came within the stale threshold.")
        dropped = BotMetrics.counter(registry, "keel_connector_queue_dropped_total", "Market events dropped because the bot's queue was full.")
        parseErrors = BotMetrics.counter(registry, "keel_connector_parse_errors_total", "Connector stdout lines that were not events.")
        queueSize = BotMetrics.gauge(registry, "keel_connector_queue_size", "Events waiting in the bot's queue.")
        secondsSinceLastEvent = BotMetrics.gauge(registry, "keel_connector_seconds_since_last_event", "Seconds since the last market event (-1 before the first).")
        connected = BotMetrics.gauge(registry, "keel_connector_connected", "1 while market data flows from a live connector.")
        processAlive = BotMetrics.gauge(registry, "keel_connector_process_alive", "1 while the connector child runs.")
        tickToBot = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "keel_tick_to_bot_latency_seconds", unitName: "",
                                             helpText: "From a market message's arrival at the connector (recv_ns) to the bot taking its event."),
            buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
                      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100)])
        tickToQuote = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "keel_tick_to_quote_latency_seconds", unitName: "",
                                             helpText: "From a book message's arrival at the connector (recv_ns) to the order command it caused going out."),
            buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
                      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100)])
        residentMemory = BotMetrics.gauge(registry, "process_resident_memory_bytes", "Resident memory of the bot process.")
        cpuSeconds = BotMetrics.counter(registry, "process_cpu_seconds_total", "User and system CPU time of the bot process.")
        openFileDescriptors = BotMetrics.gauge(registry, "process_open_fds", "Open file descriptors of the bot process.")
    }

    static let reconnectHelp = "Reconnects: connector restarts (ws_type connector) and each WebSocket session's reconnect attempts (public, private, trade)."
    static let delayHelp = "The last reconnect delay chosen by the backoff."
    static let fillsHelp = "Executions counted (duplicates excluded)."
    static let foreignHelp = "Open orders found on the exchange that this run did not send (left by an earlier run)."

    /// A session of the connector reconnecting (its `status` `reconnecting`): counted per WebSocket type
    /// (`public`, `private`, `trade`) beside the connector restarts (`ws_type="connector"`).
    func sessionReconnecting(exchange: String, session: String, delayMilliseconds: Int64?) {
        let labels = [("exchange", exchange), ("ws_type", session)]
        lock.lock()
        defer { lock.unlock() }
        counter("ws_reconnect_attempts_total", BotMetrics.reconnectHelp, labels: labels).increment()
        if let delayMilliseconds {
            gauge("ws_reconnect_delay_seconds", BotMetrics.delayHelp, labels: labels)
                .set(Double(delayMilliseconds) / 1_000)
        }
    }

    static func counter(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// The registry's counter of this name and labels, kept after its first use: the registry's own
    /// `makeCounter` checks the help text and takes its lock every time, too slow for each decision.
    func counter(_ name: String, _ help: String, labels: [(String, String)] = []) -> Counter {
        handle(name, labels) { BotMetrics.counter(registry, name, help, labels: labels) }
    }

    /// The registry's gauge of this name and labels, kept after its first use (as `counter`).
    func gauge(_ name: String, _ help: String, labels: [(String, String)] = []) -> Gauge {
        handle(name, labels) { BotMetrics.gauge(registry, name, help, labels: labels) }
    }

    /// The metric of this name and labels made once by `make`, then kept (a name has one type in Prometheus).
    private func handle<Metric: AnyObject>(_ name: String, _ labels: [(String, String)], make: () -> Metric) -> Metric {
        let key = BotMetrics.handleKey(name, labels)
        handleLock.lock()
        defer { handleLock.unlock() }
        if let metric = handles[key] as? Metric { return metric }
        let metric = make()
        handles[key] = metric
        return metric
    }

    private static func handleKey(_ name: String, _ labels: [(String, String)]) -> String {
        labels.reduce(into: name) { key, label in key += "\u{0}\(label.0)=\(label.1)" }
    }

    func tickToBot(nanoseconds: Int64) {
        tickToBot.recordNanoseconds(max(0, nanoseconds))
    }

    /// Raises a counter to a total the supervisor keeps.
    private func advance(_ counter: Counter, _ name: String, to total: Int) {
        let previous = reported[name] ?? 0
        if total > previous { counter.increment(by: Int64(total - previous)) }
        reported[name] = max(previous, total)
    }

    func render(health: ConnectorHealth, books: [String: MarketState.BookSummary], counts: [String: Int],
                incidents: (reconnects: Int, resyncs: Int, gaps: Int) = (0, 0, 0), storage: StorageWriter.Stats? = nil) -> String {
        lock.lock()
        defer { lock.unlock() }
        advance(counter("keel_connector_errors_total", "Errors the connector reported (its error events)."), "errors", to: health.errorCount)
        advance(counter("keel_connector_resyncs_total", "Books rebuilt from a fresh snapshot after a fault or an exchange restart."),
                "resyncs", to: incidents.resyncs)
        advance(counter("keel_connector_gaps_total", "Resyncs that mended a broken sequence (a gap)."), "gaps", to: incidents.gaps)
        advance(reconnectAttempts, "reconnects", to: health.restarts)
        advance(restarts, "restarts", to: health.restarts)
        advance(deaths, "deaths", to: health.deaths)
        advance(staleRestarts, "stale", to: health.staleRestarts)
        advance(dropped, "dropped", to: health.droppedEvents)
        advance(parseErrors, "parse", to: health.decodeErrors)
        maxReconnectReached.increment(by: Int64(0))
        reconnectDelay.set(health.lastRestartDelaySeconds)
        queueSize.set(Double(health.queueSize))
        secondsSinceLastEvent.set(health.secondsSinceLastEvent ?? -1)
        connected.set(health.connected ? 1.0 : 0.0)
        processAlive.set(health.processAlive ? 1.0 : 0.0)
        for (type, total) in counts {
            advance(counter("keel_connector_events_total", "Connector events taken by the bot, by type.", labels: [("type", type)]),
                    "events." + type, to: total)
        }
        for (symbol, book) in books {
            gauge("keel_book_levels", "Levels in the bot's book.", labels: [("symbol", symbol), ("side", "bid")]).set(Double(book.bids))
            gauge("keel_book_levels", "Levels in the bot's book.", labels: [("symbol", symbol), ("side", "ask")]).set(Double(book.asks))
            gauge("keel_book_valid", "1 while the bot's book for the symbol is trustworthy.", labels: [("symbol", symbol)]).set(book.valid ? 1.0 : 0.0)
        }
        if let storage {
            gauge("keel_storage_queue_size", "Trading records waiting for the storage writer.").set(Double(storage.queued))
            advance(counter("keel_storage_records_written_total", "Trading records written to storage."), "storage.written", to: storage.written)
            advance(counter("keel_storage_snapshots_dropped_total", "Position / PnL snapshots dropped because the storage queue was full."),
                    "storage.dropped", to: storage.dropped)
            advance(counter("keel_storage_write_errors_total", "Failed storage transactions (each retried)."), "storage.failures", to: storage.failures)
            advance(counter("keel_storage_records_rejected_total",
                                       "Records the database refused on their own while it answered (each logged whole as keel_storage_record_rejected)."),
                    "storage.rejected", to: storage.rejected)
        }
        let process = ProcessStats.read()
        residentMemory.set(process.residentBytes)
        if process.cpuSeconds > reportedCPU {
            cpuSeconds.increment(by: process.cpuSeconds - reportedCPU)
            reportedCPU = process.cpuSeconds
        }
        openFileDescriptors.set(process.openFileDescriptors)
        return registry.emitToString()
    }
}

/// The bot's own resources for `/metrics`, from /proc.
enum ProcessStats {
    static func read() -> (residentBytes: Double, cpuSeconds: Double, openFileDescriptors: Double) {
        guard let own = ProcessResources.read(getpid()) else { return (0, 0, 0) }
        return (Double(own.rssBytes), own.userSeconds + own.systemSeconds, Double(own.openFiles))
    }
}

/// The strategy's metrics: orders by kind, fills, position, PnL, risk state, tick-to-quote latency.
extension BotMetrics {
    func order(_ kind: String) {
        counter("keel_orders_total", "Order commands and outcomes, by kind (sent, amended, cancelled, rejected).", labels: [("kind", kind)]).increment()
    }

    func fill(maker: Bool) {
        counter("keel_fills_total", BotMetrics.fillsHelp, labels: [("liquidity", maker ? "maker" : "taker")]).increment()
    }

    /// The market context of the quoted symbol; a figure not known yet is left as it was.
    func context(symbol: String, _ snapshot: SymbolContext.Snapshot) {
        let labels = [("symbol", symbol)]
        func set(_ name: String, _ help: String, _ value: Double?, _ extra: [(String, String)] = []) {
            if let value { gauge(name, help, labels: labels + extra).set(value) }
        }
        lock.lock()
        defer { lock.unlock() }
        set("keel_context_vwap", "Session (UTC day) VWAP of the symbol's trades.", snapshot.sessionVWAP?.doubleValue)
        set("keel_context_rolling_vwap", "VWAP over context.vwap_window.", snapshot.rollingVWAP?.doubleValue)
        set("keel_context_poc", "Volume profile's point of control (row's lowest price).", snapshot.levels?.poc.doubleValue)
        set("keel_context_vah", "Value area high (row's lowest price).", snapshot.levels?.vah.doubleValue)
        set("keel_context_val", "Value area low (row's lowest price).", snapshot.levels?.val.doubleValue)
        set("keel_context_cvd", "Session cumulative volume delta: taker buys minus taker sells.", snapshot.sessionCVD.doubleValue)
        set("keel_context_volatility", "Realised volatility of 1m log returns per square-root second.", snapshot.volatility1hPerSqrtSecond, [("window", "1h")])
        set("keel_context_volatility", "Realised volatility of 1m log returns per square-root second.", snapshot.volatility24hPerSqrtSecond, [("window", "24h")])
    }

    /// The REST backfill's chunks: `keel_backfill_chunks_total` counts the chunks each backfill asked
    /// takes (a retry's again), `keel_backfill_chunks_done` those received plus those of backfills that
    /// ended (done, or failed: `/ready` says which), so the two meet whenever no backfill runs.
    func backfill(symbol: String, planned: Int, done: Int) {
        let labels = [("symbol", symbol)]
        if planned > 0 {
            counter("keel_backfill_chunks_total", "Chunks (REST requests) the symbol's kline backfills take.", labels: labels).increment(by: Int64(planned))
        }
        gauge("keel_backfill_chunks_done", "Chunks of the symbol's kline backfills received, or ended.", labels: labels).set(Double(done))
    }

    /// Markouts by horizon, over the last fills and since start, all sides (positive: good for us).
    func markouts(recent: [Markouts.Figures], sinceStart: [Markouts.Figures]) {
        for (index, horizon) in Markouts.horizons.enumerated() {
            for (window, figures) in [("recent", recent[index]), ("start", sinceStart[index])] {
                guard let value = figures.all else { continue }
                gauge("keel_markout_bps", "Mean markout of our fills: the mid's move after the horizon, signed good-for-us, bp.",
                                 labels: [("horizon", Markouts.name(horizon)), ("window", window)]).set(value)
            }
        }
    }

    func trading(position: Double, maxPosition: Double?, liveOrders: Int, realised: Double, unrealised: Double, fees: Double, state: String) {
        gauge("keel_position", "Signed position of the quoted symbol.").set(position)
        if let maxPosition {
            gauge("keel_risk_max_position", "risk.max_position: the position's limit either way.").set(maxPosition)
        }
        gauge("keel_live_orders", "Our orders open on the venue now.").set(Double(liveOrders))
        for (kind, value) in [("realised", realised), ("unrealised", unrealised), ("fees", fees), ("net", realised + unrealised - fees)] {
            gauge("keel_pnl", "PnL in quote currency, by kind.", labels: [("kind", kind)]).set(value)
        }
        for candidate in ["ACTIVE", "REDUCING", "HALTED"] {
            gauge("keel_risk_state", "1 for the risk manager's current state.", labels: [("state", candidate)]).set(candidate == state ? 1.0 : 0.0)
        }
    }

    /// An open order this run did not send, found on the exchange (left by an earlier run's stop).
    func foreignOrder() {
        counter("keel_foreign_orders_total", BotMetrics.foreignHelp).increment()
    }

    func riskTransition(to state: String) {
        counter("keel_risk_transitions_total", "Risk state changes, by the state entered.", labels: [("to", state)]).increment()
    }

    func tickToQuote(nanoseconds: Int64) {
        tickToQuote.recordNanoseconds(max(0, nanoseconds))
        lock.withLock {
            tickToQuoteWindow.append(max(0, nanoseconds))
            if tickToQuoteWindow.count > Self.recentLatencies { tickToQuoteWindow.removeFirst(tickToQuoteWindow.count - Self.recentLatencies) }
        }
    }

    /// How many of the last tick-to-quote latencies the dashboard's p50 / p99 are taken over.
    static let recentLatencies = 1_000

    /// The p50 and p99 of the last tick-to-quote latencies in seconds (nearest rank); nil before the first quote.
    func recentTickToQuote() -> (p50: Double, p99: Double, count: Int)? {
        let sorted = lock.withLock { tickToQuoteWindow }.sorted()
        guard !sorted.isEmpty else { return nil }
        func rank(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)]) / 1e9 }
        return (rank(0.5), rank(0.99), sorted.count)
    }
}

/// The raw-data recorder's counts, from the connector's `stats` events (`recording.enabled`).
extension BotMetrics {
    func recording(frames: Int, bytes: Int64) {
        gauge("keel_recording_frames", "Raw frames the connector has recorded since it started.").set(Double(frames))
        gauge("keel_recording_bytes", "Bytes the connector's recording files grew on disk since it started.").set(Double(bytes))
    }
}
