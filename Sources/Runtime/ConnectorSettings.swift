import Configuration
import Foundation
import SystemPackage

/// Everything `keel connector <exchange>` can be told (the bot reads the same keys and passes them on), from a YAML file (`--config FILE`, the same sections
/// as the bot's configuration) and command-line flags, flags winning. Every value is checked; a bad one
/// is an `Invalid` naming the key, what is wrong and the fix.
public struct ConnectorSettings: Sendable, Equatable {
    public var symbols: [String] = []
    public var depth = 50
    public var testnet = false
    public var publicURL: String?
    public var privateURL: String?
    public var tradeURL: String?
    public var restURL: String?
    public var caFile: String?
    public var pingInterval = 20.0
    public var pongTimeout = 10.0
    public var bookStaleAfter = 10.0
    public var tradeStaleAfter = 120.0
    public var statsInterval = 5.0
    public var reconnectBaseMilliseconds = 500
    public var reconnectCapMilliseconds = 60_000
    public var logLevel = "info"
    public var connectionsPerHost = 30
    /// All connections of the pool; the connector talks to one REST host, so the smaller of this and
    /// `connectionsPerHost` is what applies.
    public var connections = 100
    public var keepAlive = 30.0
    public var preWarmedConnections = 2
    public var requestTimeout = 10.0
    public var orderRateLimit = 10
    public var rateLimitReserve = 1
    public var submitTimeout = 3.0
    public var reconcileAttempts = 6
    /// `limits.rate_limit_wait`: after an IP rate-limit answer (Bybit 403, Binance 418 / 429 without
    /// `Retry-After`), REST requests wait this long before the next one.
    public var rateLimitWait = 60.0
    /// Bybit's disconnect-cancel (DCP) window in seconds, 3–300; nil: not armed.
    public var dcpWindow: Int?
    /// `recording.enabled`: the connector writes every public frame it receives, before parsing, to
    /// `recording.path` (`keel record`'s format), and the bot its order events.
    public var recordingEnabled = false
    public var recordingPath = "data/recordings"
    public var recordingFlushInterval = 5.0
    public var recordingMaxBytes: Int64 = 10 << 30
    public var recordingMinFreeBytes: Int64 = 1 << 30
    /// `exchange.binance.*`: where `keel connector binance-usdm` connects and how it keeps its books.
    public var binancePublicURL: String?
    public var binanceRestURL: String?
    /// The diff depth stream's update speed: `100ms`, `0ms` or `250ms` (Binance's plain `@depth`).
    public var binanceDepthSpeed = "100ms"
    public var binanceRotateAfter = 82_800.0
    public var binanceSnapshotWeightPerMinute = 1_200

    public init() {}

    /// One bad value: the key, what is wrong with it, and how to fix it.
    public typealias Invalid = SettingError

    /// Every key, as the YAML file nests it (`exchange.depth` is `depth:` under `exchange:`).
    public static let keys = [
        "exchange.symbols", "exchange.depth", "exchange.testnet", "exchange.public_url", "exchange.private_url",
        "exchange.trade_url", "exchange.rest_url", "exchange.ca_file", "exchange.dcp_time_window",
        "monitoring.ping_interval", "monitoring.pong_timeout", "monitoring.book_stale_after", "monitoring.trade_stale_after",
        "monitoring.stats_interval", "monitoring.reconnect_base_ms", "monitoring.reconnect_cap_ms", "monitoring.log_level",
        "connection_pool.limit", "connection_pool.limit_per_host", "connection_pool.keepalive_timeout", "connection_pool.prewarmed_connections",
        "connection_pool.request_timeout",
        "limits.order_rate_limit", "limits.rate_limit_reserve", "limits.submit_timeout", "limits.reconcile_attempts", "limits.rate_limit_wait",
        "recording.enabled", "recording.path", "recording.flush_interval", "recording.max_bytes", "recording.min_free_bytes",
        "exchange.binance.public_url", "exchange.binance.rest_url", "exchange.binance.depth_speed", "exchange.binance.rotate_after",
        "exchange.binance.snapshot_weight_per_minute",
    ] + bybitSection.map { "exchange.bybit." + $0 }

    /// Bybit's keys, also accepted in a section of their own (`exchange.bybit.public_url` is
    /// `exchange.public_url`; the section wins when a file has both).
    public static let bybitSection = ["depth", "testnet", "public_url", "private_url", "trade_url", "rest_url", "dcp_time_window"]

    /// Sets one key from its text.
    public mutating func set(_ key: String, _ text: String) throws(Invalid) {
        if key.hasPrefix("exchange.bybit."), ConnectorSettings.bybitSection.contains(String(key.dropFirst("exchange.bybit.".count))) {
            do throws(Invalid) {
                try set("exchange." + key.dropFirst("exchange.bybit.".count), text)
            } catch {
                var named = error
                named.key = key
                throw named
            }
            return
        }
        let setting = SettingValue(key: key, text: text)
        let value = setting.text
        func url(_ schemes: [String]) throws(Invalid) -> String {
            guard schemes.contains(where: { value.hasPrefix($0 + "://") }), URL(string: value)?.host != nil else {
                throw Invalid(key: key, problem: "\(value) is not a \(schemes.joined(separator: " or ")) URL", fix: "write e.g. \(schemes.last!)://127.0.0.1:9100\(key.hasSuffix("rest_url") ? "" : "/v5/...")")
            }
            return value.hasSuffix("/") && key.hasSuffix("rest_url") ? String(value.dropLast()) : value
        }
        switch key {
        case "exchange.symbols":
            let list = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
            guard !list.isEmpty, list.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber } }) else {
                throw Invalid(key: key, problem: "\(value.isEmpty ? "no symbols" : value) is not a list of symbols", fix: "write e.g. BTCUSDT,ETHUSDT")
            }
            symbols = list
        case "exchange.depth":
            guard let number = Int(value), [1, 50, 200, 1_000].contains(number) else {
                throw Invalid(key: key, problem: "\(value) is not one of Bybit's linear orderbook depths", fix: "use 1, 50, 200 or 1000")
            }
            depth = number
        case "exchange.testnet": testnet = try setting.bool()
        case "exchange.public_url": publicURL = try url(["ws", "wss"])
        case "exchange.private_url": privateURL = try url(["ws", "wss"])
        case "exchange.trade_url": tradeURL = try url(["ws", "wss"])
        case "exchange.rest_url": restURL = try url(["http", "https"])
        case "exchange.ca_file":
            guard FileManager.default.isReadableFile(atPath: value) else {
                throw Invalid(key: key, problem: "\(value) cannot be read", fix: "give the path of a readable PEM file")
            }
            caFile = value
        case "exchange.dcp_time_window": dcpWindow = setting.isAbsent(["none", "off"]) ? nil : try setting.integer(3...300)
        case "monitoring.ping_interval": pingInterval = try setting.seconds()
        case "monitoring.pong_timeout": pongTimeout = try setting.seconds()
        case "monitoring.book_stale_after": bookStaleAfter = try setting.seconds()
        case "monitoring.trade_stale_after": tradeStaleAfter = try setting.seconds()
        case "monitoring.stats_interval": statsInterval = try setting.seconds()
        case "monitoring.reconnect_base_ms": reconnectBaseMilliseconds = try setting.integer(1...600_000)
        case "monitoring.reconnect_cap_ms": reconnectCapMilliseconds = try setting.integer(1...3_600_000)
        case "monitoring.log_level":
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(value) else { throw Invalid(key: key, problem: "\(value) is not a log level", fix: "use one of \(levels.joined(separator: ", "))") }
            logLevel = value
        case "connection_pool.limit": connections = try setting.integer(1...10_000)
        case "connection_pool.limit_per_host": connectionsPerHost = try setting.integer(1...1_000)
        case "connection_pool.keepalive_timeout": keepAlive = try setting.seconds()
        case "connection_pool.prewarmed_connections": preWarmedConnections = try setting.integer(0...100)
        case "connection_pool.request_timeout": requestTimeout = try setting.seconds()
        case "limits.order_rate_limit": orderRateLimit = try setting.integer(1...10_000)
        case "limits.rate_limit_reserve": rateLimitReserve = try setting.integer(0...100)
        case "limits.submit_timeout": submitTimeout = try setting.seconds()
        case "limits.reconcile_attempts": reconcileAttempts = try setting.integer(1...100)
        case "limits.rate_limit_wait": rateLimitWait = try setting.seconds(example: "60")
        case "recording.enabled": recordingEnabled = try setting.bool()
        case "recording.path":
            guard !value.isEmpty else { throw Invalid(key: key, problem: "no directory", fix: "give the directory for the recordings, e.g. data/recordings") }
            recordingPath = value
        case "recording.flush_interval": recordingFlushInterval = try setting.seconds(example: "5")
        case "recording.max_bytes":
            guard let bytes = Int64(value), bytes >= 0 else { throw Invalid(key: key, problem: "\(value) is not a byte count", fix: "write a whole number of bytes, 0 for no cap, e.g. 10737418240") }
            recordingMaxBytes = bytes
        case "recording.min_free_bytes":
            guard let bytes = Int64(value), bytes >= 0 else { throw Invalid(key: key, problem: "\(value) is not a byte count", fix: "write a whole number of bytes, e.g. 1073741824") }
            recordingMinFreeBytes = bytes
        case "exchange.binance.public_url": let base = try url(["ws", "wss"]); binancePublicURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        case "exchange.binance.rest_url": binanceRestURL = try url(["http", "https"])
        case "exchange.binance.depth_speed":
            guard ["100ms", "0ms", "250ms"].contains(value) else {
                throw Invalid(key: key, problem: "\(value) is not a Binance diff depth speed", fix: "use 100ms (default), 0ms or 250ms")
            }
            binanceDepthSpeed = value
        case "exchange.binance.rotate_after": binanceRotateAfter = try setting.seconds(example: "82800")
        case "exchange.binance.snapshot_weight_per_minute": binanceSnapshotWeightPerMinute = try setting.integer(20...2_400)
        default:
            throw Invalid(key: key, problem: "unknown key", fix: "use one of \(ConnectorSettings.keys.joined(separator: ", "))")
        }
    }

    /// The file's values (when given), then the flags; then checks what only makes sense together.
    public static func load(file: String?, flags: [(key: String, value: String)]) async throws(Invalid) -> ConnectorSettings {
        var settings = ConnectorSettings()
        for (key, value) in try await fileValues(file, keys: keys) + flags { try settings.set(key, value) }
        try settings.validate()
        return settings
    }

    /// The values a YAML file gives for `keys`, in that order, as text (a list, such as `exchange.symbols` or
    /// `strategy.level_sizes`, joined with commas);
    /// none without a file. Keys the file does not have are left out; keys it has that are not asked for
    /// are ignored (the bot's sections share the connector's file).
    public static func fileValues(_ file: String?, keys: [String]) async throws(Invalid) -> [(key: String, value: String)] {
        guard let file else { return [] }
        let reader: ConfigReader
        do {
            reader = ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
        } catch {
            throw Invalid(key: "--config", problem: "\(file) is not a readable YAML file (\(error))", fix: "give the path of a YAML file with sections exchange, monitoring, connection_pool, limits")
        }
        var values: [(key: String, value: String)] = []
        for key in keys {
            if let text = reader.string(forKey: ConfigKey(key)) {
                values.append((key, text))
            } else if let list = reader.stringArray(forKey: ConfigKey(key)) {
                values.append((key, list.joined(separator: ",")))
            }
        }
        return values
    }

    public func validate() throws(Invalid) {
        guard !symbols.isEmpty else { throw Invalid(key: "exchange.symbols", problem: "no symbols", fix: "pass --symbols BTCUSDT or set exchange.symbols in the config file") }
        guard reconnectCapMilliseconds >= reconnectBaseMilliseconds else {
            throw Invalid(key: "monitoring.reconnect_cap_ms", problem: "\(reconnectCapMilliseconds) is below monitoring.reconnect_base_ms (\(reconnectBaseMilliseconds))", fix: "make the cap at least the base")
        }
        guard rateLimitReserve < orderRateLimit else {
            throw Invalid(key: "limits.rate_limit_reserve", problem: "\(rateLimitReserve) leaves no budget for orders (limit \(orderRateLimit))", fix: "keep it below limits.order_rate_limit")
        }
    }

    /// Seconds as a configuration writes them, to the millisecond.
    public static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1_000).rounded())) }
}
