import ArgumentParser
import Connector
import Foundation
import Logging

/// `keel connector`: the exchange connector process the bot supervises.
struct ConnectorCommandLine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Run an exchange connector: events on stdout, commands on stdin, JSON logs on stderr.",
        subcommands: [BybitConnectorCommand.self]
    )
}

struct BybitConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bybit",
        abstract: "Bybit V5 linear connector: exact books and trades as NDJSON events.",
        discussion: """
        Credentials: BYBIT_API_KEY and BYBIT_API_SECRET, or BYBIT_API_KEY_FILE / BYBIT_API_SECRET_FILE, or \
        /run/secrets/bybit_api_key and /run/secrets/bybit_api_secret; without them, public data only. \
        A bad option prints one line on stderr and exits 2; `shutdown` or the end of stdin exits 0.
        """
    )

    @Option(help: "Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")
    var symbols: String

    @Option(help: "Orderbook depth topic: 1, 50, 200 or 1000.")
    var depth = 50

    @Flag(help: "Use Bybit's testnet URLs.")
    var testnet = false

    @Option(help: "Public WebSocket URL (e.g. a keel sim's ws://127.0.0.1:9100/v5/public/linear).")
    var publicURL: String?

    @Option(help: "Private WebSocket URL (used once private streams are in; accepted now).")
    var privateURL: String?

    @Option(help: "Trade WebSocket URL (used once order entry is in; accepted now).")
    var tradeURL: String?

    @Option(help: "REST base URL (used once order entry is in; accepted now).")
    var restURL: String?

    @Option(help: "PEM certificates to trust for wss:// (e.g. keel sim --tls's cert).")
    var caFile: String?

    @Option(help: "Seconds between app-level pings.")
    var pingInterval = 20.0

    @Option(help: "Seconds to wait for a pong before dropping the connection.")
    var pongTimeout = 10.0

    @Option(help: "Seconds of silence on an orderbook topic that make the feed stale.")
    var bookStaleAfter = 10.0

    @Option(help: "Seconds of silence on a trade topic that make the feed stale.")
    var tradeStaleAfter = 120.0

    @Option(help: "Seconds between stats events.")
    var statsInterval = 5.0

    @Option(help: "First reconnect delay in milliseconds (then ×2 with 0–30 % jitter).")
    var reconnectBaseMs = 500

    @Option(help: "Longest reconnect delay in milliseconds.")
    var reconnectCapMs = 60_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        // Bad configuration: one clear line, exit 2 (the bot reads the code).
        func refuse(_ message: String) -> ExitCode {
            FileHandle.standardError.write(Data("keel connector bybit: \(message)\n".utf8))
            return ExitCode(2)
        }
        let list = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        guard !list.isEmpty else { throw refuse("--symbols needs at least one symbol, e.g. BTCUSDT") }
        guard [1, 50, 200, 1_000].contains(depth) else { throw refuse("--depth must be 1, 50, 200 or 1000 (Bybit's linear orderbook topics)") }
        for (name, value) in [("--ping-interval", pingInterval), ("--pong-timeout", pongTimeout), ("--book-stale-after", bookStaleAfter),
                              ("--trade-stale-after", tradeStaleAfter), ("--stats-interval", statsInterval)] where !(value > 0) {
            throw refuse("\(name) must be a positive number of seconds")
        }
        guard reconnectBaseMs > 0, reconnectCapMs >= reconnectBaseMs else { throw refuse("--reconnect-base-ms must be positive and at most --reconnect-cap-ms") }
        guard let level = Logger.Level(rawValue: logLevel) else { throw refuse("--log-level must be trace, debug, info, notice, warning, error or critical") }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { throw refuse("--ca-file \(caFile) cannot be read") }
        let url = publicURL ?? (testnet ? "wss://stream-testnet.bybit.com/v5/public/linear" : "wss://stream.bybit.com/v5/public/linear")
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else { throw refuse("--public-url must start with ws:// or wss://") }
        let credentials: Credentials?
        do throws(Credentials.LoadError) {
            credentials = try Credentials.load()
        } catch {
            throw refuse(error.description)
        }

        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "keel.connector.bybit")
        var session = PublicSessionConfiguration(url: url, symbols: list, depth: depth)
        session.pingInterval = .milliseconds(Int64(pingInterval * 1_000))
        session.pongTimeout = .milliseconds(Int64(pongTimeout * 1_000))
        session.bookStaleAfter = .milliseconds(Int64(bookStaleAfter * 1_000))
        session.tradeStaleAfter = .milliseconds(Int64(tradeStaleAfter * 1_000))
        session.reconnect = ReconnectPolicy(base: .milliseconds(reconnectBaseMs), cap: .milliseconds(reconnectCapMs))
        session.caFile = caFile
        var options = ConnectorOptions(publicSession: session, credentials: credentials)
        options.statsInterval = .milliseconds(Int64(statsInterval * 1_000))
        await ConnectorProcess(options: options, logger: logger).run()
    }
}
