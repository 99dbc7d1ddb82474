import ArgumentParser
import Connector
import Foundation
import Logging
import Runtime
import Storage

/// `keel connector`: the exchange connector process the bot supervises.
struct ConnectorCommandLine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Run an exchange connector: events on stdout, commands on stdin, JSON logs on stderr.",
        subcommands: [BybitConnectorCommand.self, BinanceConnectorCommand.self]
    )
}

/// The options every connector takes: the config file, symbols, certificates, the feed's watchdogs
/// and backoff, the log level and recording — each also a key of the `--config` file.
struct CommonConnectorOptions: ParsableArguments {
    @Option(help: "YAML file with sections exchange, monitoring, connection_pool, limits (flags win over it).")
    var config: String?

    @Option(help: "Comma-separated symbols, e.g. BTCUSDT,ETHUSDT (exchange.symbols).")
    var symbols: String?

    @Option(help: "PEM certificates to trust for wss:// and https:// instead of the system's, e.g. keel sim --tls's cert (exchange.ca_file).")
    var caFile: String?

    @Option(help: "Seconds between pings — Bybit's app-level ones, WebSocket pings on Binance (monitoring.ping_interval, default 20).")
    var pingInterval: String?

    @Option(help: "Seconds of silence on a book topic or stream that make the feed stale (monitoring.book_stale_after, default 10).")
    var bookStaleAfter: String?

    @Option(help: "Seconds of silence on a trade topic or stream that make the feed stale (monitoring.trade_stale_after, default 120).")
    var tradeStaleAfter: String?

    @Option(help: "Seconds between stats events (monitoring.stats_interval, default 5).")
    var statsInterval: String?

    @Option(help: "First reconnect delay in milliseconds, then ×2 with 0–30 % jitter (monitoring.reconnect_base_ms, default 500).")
    var reconnectBaseMs: String?

    @Option(help: "Longest reconnect delay in milliseconds (monitoring.reconnect_cap_ms, default 60000).")
    var reconnectCapMs: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (monitoring.log_level, default info).")
    var logLevel: String?

    @Option(help: "Record every frame received (Binance: and every REST snapshot), before parsing, to DIR as SYMBOL_YYYYMMDD.gz (recording.enabled + recording.path).")
    var record: String?

    /// These options as settings keys, then `more` (the exchange's own), leaving out what was not given.
    func flags(_ more: [(String, String?)]) -> [(key: String, value: String)] {
        let common: [(String, String?)] = [
            ("exchange.symbols", symbols), ("exchange.ca_file", caFile), ("monitoring.ping_interval", pingInterval),
            ("monitoring.book_stale_after", bookStaleAfter), ("monitoring.trade_stale_after", tradeStaleAfter),
            ("monitoring.stats_interval", statsInterval), ("monitoring.reconnect_base_ms", reconnectBaseMs),
            ("monitoring.reconnect_cap_ms", reconnectCapMs), ("monitoring.log_level", logLevel),
            ("recording.enabled", record.map { _ in "true" }), ("recording.path", record),
        ]
        return (common + more).compactMap { key, value in value.map { (key, $0) } }
    }
}

struct BybitConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bybit",
        abstract: "Bybit V5 linear connector: exact books, trades, account streams and order entry over NDJSON.",
        discussion: """
        Credentials: BYBIT_API_KEY and BYBIT_API_SECRET, or BYBIT_API_KEY_FILE / BYBIT_API_SECRET_FILE, or \
        /run/secrets/bybit_api_key and /run/secrets/bybit_api_secret; without them, public data only. \
        Every option is also a key of the --config YAML file (named in its help); flags win. \
        A bad option prints one line on stderr and exits 2; `shutdown` or the end of stdin exits 0.
        """
    )

    @OptionGroup var common: CommonConnectorOptions

    @Option(help: "Orderbook depth topic: 1, 50, 200 or 1000 (exchange.depth, default 50).")
    var depth: String?

    @Flag(help: "Use Bybit's testnet URLs (exchange.testnet; env BYBIT_CONNECTOR_TESTNET=true too).")
    var testnet = false

    @Option(help: "Public WebSocket URL, e.g. a keel sim's ws://127.0.0.1:9100/v5/public/linear (exchange.public_url).")
    var publicURL: String?

    @Option(help: "Private WebSocket URL (exchange.private_url).")
    var privateURL: String?

    @Option(help: "Trade WebSocket URL (exchange.trade_url).")
    var tradeURL: String?

    @Option(help: "REST base URL, e.g. http://127.0.0.1:9100 (exchange.rest_url).")
    var restURL: String?

    @Option(help: "Seconds to wait for a pong or an auth answer before dropping the connection (monitoring.pong_timeout, default 10).")
    var pongTimeout: String?

    @Option(help: "Seconds to wait for an order ack before the order is `unknown` and reconciled (limits.submit_timeout, default 3).")
    var submitTimeout: String?

    @Option(help: "Order requests a second before the exchange reports its own limit (limits.order_rate_limit, default 10).")
    var orderRateLimit: String?

    func run() async throws {
        var flags = common.flags([
            ("exchange.depth", depth), ("exchange.public_url", publicURL), ("exchange.private_url", privateURL),
            ("exchange.trade_url", tradeURL), ("exchange.rest_url", restURL), ("monitoring.pong_timeout", pongTimeout),
            ("limits.submit_timeout", submitTimeout), ("limits.order_rate_limit", orderRateLimit),
        ])
        if let environment = ProcessInfo.processInfo.environment["BYBIT_CONNECTOR_TESTNET"] { flags.append(("exchange.testnet", environment)) }
        if testnet { flags.append(("exchange.testnet", "true")) }
        // Bad configuration: one clear line naming the key and the fix, exit 2 (the bot reads the code).
        let settings: ConnectorSettings
        do throws(ConnectorSettings.Invalid) {
            settings = try await ConnectorSettings.load(file: common.config ?? ProcessInfo.processInfo.environment["BYBIT_CONNECTOR_CONFIG_FILE"], flags: flags)
        } catch {
            throw refuse(error.description, command: "keel connector bybit")
        }
        let credentials = try loadCredentials(command: "keel connector bybit")
        var options = settings.options(credentials: credentials)
        try await runConnector(settings, label: "keel.connector.bybit") { recorder, logger in
            if let recorder {
                options.publicSession.frameTap = recorder.bybitFrameTap
                options.recordingStats = { (recorder.stats.frames, recorder.stats.bytesOnDisk) }
            }
            return ConnectorProcess(options: options, logger: logger)
        }
    }
}

/// Runs a connector process with JSON logs on stderr and, with `recording.enabled`, the frame recorder
/// (when it cannot start, the connector runs on without it, and says so).
func runConnector(_ settings: ConnectorSettings, label: String, _ make: (FrameRecorder?, Logger) throws -> ConnectorProcess) async throws {
    let level = Logger.Level(rawValue: settings.logLevel) ?? .info
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    let logger = Logger(label: label)
    var recorder: FrameRecorder?
    if settings.recordingEnabled {
        do throws(RecordingError) {
            recorder = try FrameRecorder(configuration: settings.recorderConfiguration, logger: logger)
        } catch {
            logger.error("keel_record_unavailable", metadata: ["path": "\(settings.recordingPath)", "reason": "\(error)"])
        }
    }
    let process = try make(recorder, logger)
    let flusher = recorder.map { recorder in
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                recorder.flushIfDue(now: WallClock.nanoseconds())
            }
        }
    }
    await process.run()
    flusher?.cancel()
    recorder?.close()
}

struct BinanceConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binance-usdm",
        abstract: "Binance USD-M futures connector: exact books and trades over NDJSON (market data; no order entry).",
        discussion: """
        Opens one combined-stream connection (<symbol>@depth@100ms, @trade, @bookTicker per symbol), syncs each \
        book from the REST snapshot by Binance's rules and resyncs on a `pu` break; reconnects with backoff; \
        before Binance's 24 h limit opens, syncs and swaps in a new connection. Every option is also a key of \
        the --config YAML file (named in its help); flags win. A bad option prints one line on stderr and \
        exits 2; `shutdown` or the end of stdin exits 0.
        """
    )

    @OptionGroup var common: CommonConnectorOptions

    @Option(help: "WebSocket base URL, e.g. a keel sim's ws://127.0.0.1:9100 (exchange.binance.public_url; default wss://fstream.binance.com).")
    var publicURL: String?

    @Option(help: "REST base URL, e.g. http://127.0.0.1:9100 (exchange.binance.rest_url; default https://fapi.binance.com).")
    var restURL: String?

    @Option(help: "Diff depth speed: 100ms, 0ms or 250ms (exchange.binance.depth_speed, default 100ms).")
    var depthSpeed: String?

    @Option(help: "Seconds after which a new connection is opened, synced and swapped in (exchange.binance.rotate_after, default 82800).")
    var rotateAfter: String?

    func run() async throws {
        let flags = common.flags([
            ("exchange.binance.public_url", publicURL), ("exchange.binance.rest_url", restURL),
            ("exchange.binance.depth_speed", depthSpeed), ("exchange.binance.rotate_after", rotateAfter),
        ])
        let settings: ConnectorSettings
        do throws(ConnectorSettings.Invalid) {
            settings = try await ConnectorSettings.load(file: common.config, flags: flags)
        } catch {
            throw refuse(error.description, command: "keel connector binance-usdm")
        }
        var options = settings.binanceOptions()
        try await runConnector(settings, label: "keel.connector.binance") { recorder, logger in
            if let recorder {
                options.session.frameTap = { frame, symbol, time in recorder.record(frame, symbol: symbol, receiveTime: time) }
                options.recordingStats = { (recorder.stats.frames, recorder.stats.bytesOnDisk) }
            }
            return try ConnectorProcess(binance: options, logger: logger)
        }
    }
}
