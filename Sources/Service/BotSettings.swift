import Foundation
import Runtime
import Storage

/// `keel run`'s configuration: the connector's keys (`exchange.*`, `monitoring.*`, `connection_pool.*`,
/// `limits.*`, passed on to the connector child) plus the bot's own, from one YAML file, with the
/// environment over the file. Every bad value names its key and the fix.
public struct BotSettings: Sendable {
    public enum DataSource: String, Sendable {
        case bybitConnector = "bybit_connector"
        case binanceWS = "binance_ws"
        case stub
    }

    public var connector = ConnectorSettings()
    /// `strategy.*`, `risk.*`, `limits.max_active_per_side`.
    public var trading = TradingSettings()
    /// The YAML file, passed on to the connector child as its `--config`.
    public var file: String?
    public var dataSource = DataSource.bybitConnector
    /// `exchange.fallback`: the sources market data falls back to, in order, when the active one has
    /// delivered no trusted book for `fallbackAfter` seconds (`exchange.fallback_after`).
    public var fallback: [DataSource] = []
    public var fallbackAfter = 30.0
    public var httpHost = "127.0.0.1"
    public var httpPort = 8000
    /// `monitoring.api_token` (or `MONITORING_API_TOKEN`, its `_FILE`, `/run/secrets/monitoring_api_token`):
    /// when set, every `POST` (Halt, Resume) needs it in `Authorization: Bearer …`; a non-loopback
    /// `http_host` is refused without it.
    public var apiToken: String?
    public var healthCheckInterval = 5.0
    public var staleThreshold = 60.0
    public var staleGrace = 30.0
    public var healthLogInterval = 60.0
    public var queueSize = 10_000
    /// The whole graceful stop may take this long; then the connector is killed and the bot exits.
    public var shutdownTimeout = 40.0
    /// `/metrics` served at all, and on its own port too when `metricsPort` is set.
    public var enablePrometheus = true
    public var metricsPort: Int?
    /// `monitoring.log_file`: the bot's JSON log lines go to this file (rotated by size) instead of stderr.
    public var logFile: String?
    public var logRotation = RotatingLogFile.Policy()
    /// `storage.*`: where orders, fills, positions, PnL and risk events are kept.
    public var storage = StorageConfiguration()

    public init() {}

    /// The bot's own keys.
    public static let keys = [
        "exchange.data_source", "exchange.fallback", "exchange.fallback_after", "monitoring.http_host", "monitoring.http_port", "monitoring.api_token", "monitoring.health_check_interval",
        "monitoring.stale_threshold", "monitoring.stale_grace", "monitoring.health_log_interval", "monitoring.shutdown_timeout",
        "monitoring.enable_prometheus", "monitoring.metrics_port", "limits.queue_size",
        "monitoring.log_file", "monitoring.log_max_bytes", "monitoring.log_keep", "monitoring.log_total_cap",
        "storage.backend", "storage.path", "storage.postgres_url", "storage.queue_size", "storage.batch_size",
        "storage.snapshot_interval", "storage.client_id_block",
    ]

    public mutating func set(_ key: String, _ text: String) throws(ConnectorSettings.Invalid) {
        let setting = SettingValue(key: key, text: text)
        let value = setting.text
        switch key {
        case "exchange.data_source":
            guard let source = DataSource(rawValue: value) else {
                throw setting.invalid("\(value) is not a data source", fix: "use bybit_connector, binance_ws or stub")
            }
            dataSource = source
        case "exchange.fallback":
            var list: [DataSource] = []
            for name in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).filter({ !$0.isEmpty && $0 != "none" }) {
                guard let source = DataSource(rawValue: name), !list.contains(source) else {
                    throw setting.invalid("\(name) is not a data source, or is listed twice", fix: "list each of bybit_connector, binance_ws, stub at most once, e.g. [binance_ws, stub]")
                }
                list.append(source)
            }
            fallback = list
        case "exchange.fallback_after": fallbackAfter = try setting.seconds(example: "30")
        case "monitoring.http_host": httpHost = value
        case "monitoring.http_port": httpPort = try setting.port()
        case "monitoring.api_token":
            // A secret: registered before anything can log it; never echoed.
            LogRedactor.register(value)
            guard value.count >= 16, !value.contains(where: \.isWhitespace) else {
                throw ConnectorSettings.Invalid(key: key, problem: "too short or has spaces (value not shown: it is a secret)",
                                                fix: "use at least 16 characters without spaces, e.g. the output of `openssl rand -hex 24`")
            }
            apiToken = value
        case "monitoring.health_check_interval": healthCheckInterval = try setting.seconds(example: "5")
        case "monitoring.stale_threshold": staleThreshold = try setting.seconds(example: "5")
        case "monitoring.stale_grace": staleGrace = try setting.seconds(example: "5")
        case "monitoring.health_log_interval": healthLogInterval = try setting.seconds(example: "5")
        case "monitoring.shutdown_timeout": shutdownTimeout = try setting.seconds(example: "5")
        case "monitoring.enable_prometheus": enablePrometheus = try setting.bool()
        case "monitoring.metrics_port": metricsPort = setting.isAbsent(["none"]) ? nil : try setting.port()
        case "limits.queue_size": queueSize = try setting.integer(10...10_000_000)
        case "monitoring.log_file": logFile = setting.isAbsent(["none", "stderr"]) ? nil : value
        case "monitoring.log_max_bytes": logRotation.maxBytes = Int64(try setting.integer(1_024...1_000_000_000_000))
        case "monitoring.log_keep": logRotation.keep = try setting.integer(0...1_000)
        case "monitoring.log_total_cap": logRotation.totalCap = Int64(try setting.integer(4_096...100_000_000_000_000))
        case "storage.backend":
            guard let backend = StorageConfiguration.Backend(rawValue: value) else {
                throw setting.invalid("\(value) is not a storage backend", fix: "use sqlite, postgres (a build with --traits Postgres) or none")
            }
            storage.backend = backend
        case "storage.path":
            guard !value.isEmpty else { throw setting.invalid("empty", fix: "name the SQLite file, e.g. data/keel.sqlite") }
            storage.path = value
        case "storage.postgres_url":
            // A secret: it carries the password. Registered before anything can log it; never echoed.
            LogRedactor.register(value)
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") else {
                throw ConnectorSettings.Invalid(key: key, problem: "not a postgres:// URL (value not shown: it may hold a password)",
                                                fix: "write postgres://USER:PASSWORD@HOST:PORT/DATABASE, or set STORAGE_POSTGRES_URL_FILE")
            }
            storage.postgresURL = value
        case "storage.queue_size": storage.queueSize = try setting.integer(100...10_000_000)
        case "storage.batch_size": storage.batchSize = try setting.integer(1...100_000)
        case "storage.snapshot_interval": storage.snapshotInterval = try setting.seconds(example: "10")
        case "storage.client_id_block": storage.clientIdBlock = try setting.integer(1...1_000_000)
        default:
            if try trading.set(key, value) { return }
            try connector.set(key, value)
        }
    }

    /// The file, then the environment (`DATA_SOURCE`, `SYMBOL`, `BYBIT_CONNECTOR_TESTNET`, `LOG_LEVEL`, `CONNECTOR_PAPER_TRADING`),
    /// then `overrides` (command-line flags).
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [(key: String, value: String)] = []) async throws(ConnectorSettings.Invalid) -> BotSettings {
        var settings = BotSettings()
        settings.file = file
        // Each value with the variable it came from, so an error can name it.
        var values = try await ConnectorSettings.fileValues(file, keys: ConnectorSettings.keys + keys + TradingSettings.keys).map { ($0.key, $0.value, nil as String?) }
        for (variable, key) in [("DATA_SOURCE", "exchange.data_source"), ("SYMBOL", "exchange.symbols"),
                                ("BYBIT_CONNECTOR_TESTNET", "exchange.testnet"), ("LOG_LEVEL", "monitoring.log_level"),
                                ("CONNECTOR_PAPER_TRADING", "strategy.paper_trading")] {
            if let value = environment[variable], !value.isEmpty { values.append((key, variable == "LOG_LEVEL" ? value.lowercased() : value, variable)) }
        }
        // The PostgreSQL URL is a secret: STORAGE_POSTGRES_URL, its _FILE, or /run/secrets/storage_postgres_url.
        do {
            if let url = try Credentials.secret("STORAGE_POSTGRES_URL", environment: environment) {
                values.append(("storage.postgres_url", url, "STORAGE_POSTGRES_URL"))
            }
        } catch {
            throw ConnectorSettings.Invalid(key: "storage.postgres_url", problem: error.description, fix: "point STORAGE_POSTGRES_URL_FILE at a readable file")
        }
        do {
            if let token = try Credentials.secret("MONITORING_API_TOKEN", environment: environment) {
                values.append(("monitoring.api_token", token, "MONITORING_API_TOKEN"))
            }
        } catch {
            throw ConnectorSettings.Invalid(key: "monitoring.api_token", problem: error.description, fix: "point MONITORING_API_TOKEN_FILE at a readable file")
        }
        if let backend = environment["STORAGE_BACKEND"], !backend.isEmpty { values.append(("storage.backend", backend, "STORAGE_BACKEND")) }
        values += overrides.map { ($0.key, $0.value, nil) }
        for (key, value, variable) in values {
            do throws(ConnectorSettings.Invalid) {
                try settings.set(key, value)
            } catch {
                var named = error
                if let variable { named.key = "\(key) (from \(variable))" }
                throw named
            }
        }
        try settings.connector.validate()
        try settings.trading.validate()
        if settings.apiToken == nil, !Self.isLoopback(settings.httpHost) {
            throw ConnectorSettings.Invalid(key: "monitoring.http_host", problem: "\(settings.httpHost) is not a loopback address and monitoring.api_token is not set: anyone who reaches the port could halt or resume trading",
                                            fix: "set monitoring.api_token (or MONITORING_API_TOKEN_FILE), or listen on 127.0.0.1")
        }
        if settings.fallback.contains(settings.dataSource) {
            throw ConnectorSettings.Invalid(key: "exchange.fallback", problem: "lists the primary source \(settings.dataSource.rawValue)",
                                            fix: "list only other sources, e.g. [binance_ws, stub] for bybit_connector")
        }
        return settings
    }

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost): only this machine reaches it.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The connector child's arguments: its config file and every value that came from elsewhere.
    public func connectorArguments(for source: DataSource? = nil) -> [String] {
        let c = connector
        guard (source ?? dataSource) != .binanceWS else {
            var arguments = ["connector", "binance-usdm"]
            if let file { arguments += ["--config", file] }
            arguments += ["--symbols", c.symbols.joined(separator: ","), "--log-level", c.logLevel]
            for (flag, value) in [("--public-url", c.binancePublicURL), ("--rest-url", c.binanceRestURL), ("--ca-file", c.caFile)] {
                if let value { arguments += [flag, value] }
            }
            return arguments
        }
        var arguments = ["connector", "bybit"]
        if let file { arguments += ["--config", file] }
        arguments += ["--symbols", c.symbols.joined(separator: ","), "--depth", String(c.depth), "--log-level", c.logLevel]
        if c.testnet { arguments.append("--testnet") }
        for (flag, value) in [("--public-url", c.publicURL), ("--private-url", c.privateURL), ("--trade-url", c.tradeURL),
                              ("--rest-url", c.restURL), ("--ca-file", c.caFile)] {
            if let value { arguments += [flag, value] }
        }
        return arguments
    }

    /// The effective configuration, one `key: value` a line, secrets redacted (`keel config check`).
    public func report(credentials: Credentials?) -> String {
        let c = connector
        var lines: [(String, String)] = [
            ("exchange.data_source", dataSource.rawValue),
            ("exchange.fallback", fallback.isEmpty ? "none" : fallback.map(\.rawValue).joined(separator: ",")), ("exchange.fallback_after", "\(fallbackAfter)"),
            ("exchange.symbols", c.symbols.joined(separator: ",")), ("exchange.depth", "\(c.depth)"),
            ("exchange.testnet", "\(c.testnet)"), ("exchange.public_url", c.publicURL ?? "(Bybit's)"), ("exchange.private_url", c.privateURL ?? "(Bybit's)"),
            ("exchange.trade_url", c.tradeURL ?? "(Bybit's)"), ("exchange.rest_url", c.restURL ?? "(Bybit's)"), ("exchange.ca_file", c.caFile ?? "(none)"),
            ("exchange.dcp_time_window", c.dcpWindow.map { "\($0)" } ?? "none"),
            ("exchange.binance.public_url", c.binancePublicURL ?? "(Binance's)"), ("exchange.binance.rest_url", c.binanceRestURL ?? "(Binance's)"),
            ("exchange.binance.depth_speed", c.binanceDepthSpeed), ("exchange.binance.rotate_after", "\(c.binanceRotateAfter)"),
            ("exchange.binance.snapshot_weight_per_minute", "\(c.binanceSnapshotWeightPerMinute)"),
            ("exchange.api_key", credentials == nil ? "(none: public data only)" : "<redacted>"),
            ("exchange.api_secret", credentials == nil ? "(none: public data only)" : "<redacted>"),
            ("monitoring.http_host", httpHost), ("monitoring.http_port", "\(httpPort)"),
            ("monitoring.api_token", apiToken == nil ? "(none: POSTs need no token on loopback)" : "<redacted>"),
            ("monitoring.health_check_interval", "\(healthCheckInterval)"), ("monitoring.stale_threshold", "\(staleThreshold)"),
            ("monitoring.stale_grace", "\(staleGrace)"), ("monitoring.health_log_interval", "\(healthLogInterval)"),
            ("monitoring.shutdown_timeout", "\(shutdownTimeout)"), ("monitoring.enable_prometheus", "\(enablePrometheus)"),
            ("monitoring.metrics_port", metricsPort.map { "\($0)" } ?? "none (http_port)"), ("connection_pool.limit", "\(c.connections)"),
            ("monitoring.log_level", c.logLevel), ("limits.queue_size", "\(queueSize)"),
        ]
        lines += [("monitoring.ping_interval", "\(c.pingInterval)"), ("monitoring.pong_timeout", "\(c.pongTimeout)"),
                  ("monitoring.book_stale_after", "\(c.bookStaleAfter)"), ("limits.submit_timeout", "\(c.submitTimeout)"),
                  ("limits.order_rate_limit", "\(c.orderRateLimit)")]
        lines += [("monitoring.log_file", logFile ?? "none (stderr)"), ("monitoring.log_max_bytes", "\(logRotation.maxBytes)"),
                  ("monitoring.log_keep", "\(logRotation.keep)"), ("monitoring.log_total_cap", "\(logRotation.totalCap)")]
        lines += [("storage.backend", storage.backend.rawValue), ("storage.path", storage.path),
                  ("storage.postgres_url", storage.postgresURL == nil ? "(none)" : "<redacted>"), ("storage.queue_size", "\(storage.queueSize)"),
                  ("storage.batch_size", "\(storage.batchSize)"), ("storage.snapshot_interval", "\(storage.snapshotInterval)"),
                  ("storage.client_id_block", "\(storage.clientIdBlock)")]
        lines += [("recording.enabled", "\(c.recordingEnabled)"), ("recording.path", c.recordingPath),
                  ("recording.flush_interval", "\(c.recordingFlushInterval)"), ("recording.max_bytes", "\(c.recordingMaxBytes)"),
                  ("recording.min_free_bytes", "\(c.recordingMinFreeBytes)")]
        lines += trading.report
        // One block per section (exchange, monitoring, …), in the order the sections first appear; the keys keep
        // their order inside it.
        var order: [String] = []
        var sections: [String: [String]] = [:]
        for (key, value) in lines {
            let section = String(key.prefix { $0 != "." })
            if sections[section] == nil { order.append(section) }
            sections[section, default: []].append("\(key): \(value)")
        }
        return order.map { sections[$0]!.joined(separator: "\n") }.joined(separator: "\n\n")
    }
}
