import ArgumentParser
import Connector
import ExchangeSim
import Foundation
import Logging
import Runtime
import Service
import Storage

/// `keel run`: the bot — its connector supervised, the HTTP API, a graceful stop on SIGTERM / SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the bot: a supervised connector child, its market state, the strategy (paper or live), and the HTTP API (/health, /ready, /ws/health, /metrics, /strategy/status).",
        discussion: """
        Configuration: --config FILE (YAML: exchange, strategy, risk, limits, monitoring, connection_pool, storage), overridden by \
        DATA_SOURCE, SYMBOL, BYBIT_CONNECTOR_TESTNET, LOG_LEVEL, CONNECTOR_PAPER_TRADING, STORAGE_BACKEND, STORAGE_POSTGRES_URL \
        (or its _FILE); credentials as for \
        `keel connector bybit`. A bad value prints one line naming the key and the fix, and exits 2.
        """
    )

    @Option(help: "The YAML configuration file (e.g. config/sim.yaml); default: $BYBIT_CONNECTOR_CONFIG_FILE.")
    var config: String?

    func run() async throws {
        let settings = try await loadBotSettings(config ?? ProcessInfo.processInfo.environment["BYBIT_CONNECTOR_CONFIG_FILE"])
        if settings.dataSource == .binanceWS, settings.trading.enabled, !settings.trading.paperTrading {
            throw refuse("strategy.paper_trading: false with exchange.data_source binance_ws: order entry on Binance USD-M is not offered; set it true (paper) or use bybit_connector")
        }
        if settings.dataSource == .stub, settings.trading.enabled, !settings.trading.paperTrading {
            throw refuse("strategy.paper_trading: false needs an exchange, and the stub data source has none; set it true or use bybit_connector")
        }
        // Read (and so registered with the log redactor) before anything logs; a bad secret file stops here.
        _ = try loadCredentials()
        try bootstrapLogging(settings.connector.logLevel, file: settings.logFile, rotation: settings.logRotation)
        let logger = Logger(label: "keel.run")
        if settings.dataSource == .binanceWS {
            logger.notice("keel_paper_only", metadata: ["data_source": "binance_ws", "reason": "Binance USD-M market data; orders are simulated (paper), never sent"])
        }
        let storage = try await openStorage(settings, logger: logger)
        let service = BotService(settings: settings, executable: currentExecutable(), storage: storage, logger: logger)
        try await service.run()
    }
}

/// `keel demo`: the simulator, the connector and the bot on loopback, in one command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start keel sim, the connector and the bot on loopback; print the URLs to open; run until Ctrl-C.",
        discussion: """
        The sim (synthetic BTCUSDT and ETHUSDT, its demo account) listens on a free port; the bot keeps both books, \
        quotes BTCUSDT in paper mode (fills simulated on the sim's feed), supervises its connector and serves the HTTP API. \
        Kill the connector by hand (`kill -9 <pid>`, the pid is in /ws/health) and watch the bot bring it back.
        """
    )

    @Option(help: "HTTP API port (0 picks a free one).")
    var httpPort = 8000

    @Option(help: "The SQLite file the demo's orders, fills and PnL are written to.")
    var storagePath = "data/keel-demo.sqlite"

    func run() async throws {
        bootstrapLogging("info")
        var quiet = Logger(label: "keel.demo.sim")
        quiet.logLevel = .warning
        var simConfiguration = SimConfiguration()
        simConfiguration.port = 0
        // Two days of past, as `keel sim` has by default: the bot backfills 24 h of it before it quotes.
        simConfiguration.historyMinutes = 2 * 1_440
        let sim = SimServer(configuration: simConfiguration, logger: quiet)
        let (ready, readySink) = AsyncStream.makeStream(of: SimPorts.self)
        let simTask = Task { try await sim.run { readySink.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        guard let ports = await iterator.next() else { throw refuse("keel sim did not start") }
        var settings = BotSettings()
        settings.connector.symbols = ["BTCUSDT", "ETHUSDT"]
        settings.connector.publicURL = "ws://127.0.0.1:\(ports.main)/v5/public/linear"
        settings.connector.privateURL = "ws://127.0.0.1:\(ports.main)/v5/private"
        settings.connector.tradeURL = "ws://127.0.0.1:\(ports.main)/v5/trade"
        settings.connector.restURL = "http://127.0.0.1:\(ports.main)"
        settings.httpPort = httpPort
        settings.staleThreshold = 10
        settings.staleGrace = 5
        // Paper quoting on the sim's synthetic flow: two levels a side; a longer losing streak than the
        // default before the risk manager halts (POST /strategy/resume starts it again).
        settings.trading.paperTrading = true
        settings.trading.orderLevels = 2
        settings.trading.levelSpacingTicks = 10
        settings.trading.risk.maxConsecutiveLosses = 25
        settings.storage.path = storagePath
        let logger = Logger(label: "keel.demo")
        let storage = try await openStorage(settings, logger: logger)
        let demo = SimAccountConfig.demo
        LogRedactor.register(demo.apiKey)
        LogRedactor.register(demo.secret)
        let service = BotService(settings: settings, executable: currentExecutable(),
                                 environment: ["BYBIT_API_KEY": demo.apiKey, "BYBIT_API_SECRET": demo.secret], storage: storage, logger: logger)
        defer { simTask.cancel() }
        try await service.run { port in
            print("""
            keel demo is running (Ctrl-C to stop). To open:
              dashboard       http://127.0.0.1:\(port)/   (live: book, our quotes, position, PnL, health; Halt / Resume)
              strategy        http://127.0.0.1:\(port)/strategy/status   (paper mode: quotes, fills, PnL, risk)
              health          http://127.0.0.1:\(port)/health
              feed health     http://127.0.0.1:\(port)/ws/health
              readiness       http://127.0.0.1:\(port)/ready
              metrics         http://127.0.0.1:\(port)/metrics
              sim stats       http://127.0.0.1:\(ports.control)/sim/stats
            Also:
              storage         \(storagePath)   (SQLite: runs, orders, order_events, fills, markouts, positions, pnl_snapshots, risk_events, candles)
              sim exchange    ws://127.0.0.1:\(ports.main)/v5/public/linear   (for a WebSocket client, not a browser)
            """)
            fflush(nil)
        }
    }
}

/// `keel config check FILE`: the effective configuration, secrets redacted.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Check a configuration file.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Print the effective configuration (file + environment), secrets redacted; exit 2 on a bad value.")

        @Argument(help: "The YAML configuration file.")
        var file: String

        func run() async throws {
            let settings = try await loadBotSettings(file)
            print(settings.report(credentials: try loadCredentials()))
        }
    }
}

/// The configured store and its writer, or exit 2 with the reason (a store that cannot be opened stops the start:
/// client ids must be durable before orders are sent).
func openStorage(_ settings: BotSettings, logger: Logger) async throws -> StorageWriter? {
    do {
        return try await BotService.openStorage(settings.storage, logger: logger)
    } catch {
        throw refuse("\(error)")
    }
}

/// One line on stderr, exit 2.
func refuse(_ message: String, command: String = "keel") -> ExitCode {
    FileHandle.standardError.write(Data("\(command): \(message)\n".utf8))
    return ExitCode(2)
}

func loadBotSettings(_ file: String?) async throws -> BotSettings {
    do throws(ConnectorSettings.Invalid) {
        return try await BotSettings.load(file: file)
    } catch {
        throw refuse(error.description)
    }
}

/// The API key pair (registered with the log redactor as it is read), or exit 2 naming the variable.
func loadCredentials(command: String = "keel") throws -> Credentials? {
    do throws(Credentials.LoadError) {
        return try Credentials.load()
    } catch {
        throw refuse(error.description, command: command)
    }
}

func bootstrapLogging(_ level: String) {
    let parsed = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: parsed) }
}

/// Logs to `file` (rotated: `monitoring.log_max_bytes`, `log_keep`, `log_total_cap`) when one is set, else stderr.
func bootstrapLogging(_ level: String, file: String?, rotation: RotatingLogFile.Policy) throws {
    guard let file else { return bootstrapLogging(level) }
    let log: RotatingLogFile
    do {
        log = try RotatingLogFile(path: file, policy: rotation)
    } catch {
        throw refuse("monitoring.log_file: \(file) cannot be written (\(error.localizedDescription)); give a writable path")
    }
    let parsed = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: parsed) { log.write($0) } }
}

/// This binary (from /proc/self/exe), which the bot starts again as its connector.
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
}
