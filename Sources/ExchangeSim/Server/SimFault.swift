/// A fault the simulator can inject (control API `POST /sim/faults`, or a schedule file).
public struct SimFault: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Close every WebSocket connection.
        case drop
        /// Keep sockets open and answer pings, but send no data, for `seconds`.
        case stall
        /// Skip one orderbook delta (of `symbol`, or every symbol): clients see `u` jump.
        case gap
        /// Bybit service restart: every orderbook topic (of `symbol`) restarts at `u == 1` with a snapshot.
        case restart
        /// Send one broken frame on every public connection.
        case malformed
        /// Refuse new WebSocket connections for `seconds`.
        case reject
        /// REST answers HTTP 503 for `seconds`.
        case restError = "rest_error"
        /// Order entry answers retCode 10006, and the kline endpoints the IP limit (Bybit HTTP 403, Binance 429), for `seconds`.
        case rateLimit = "rate_limit"
        /// Add `ms` of delay to REST answers and trade-stream acks for `seconds`.
        case latency
        /// Close every WebSocket with close code `code`.
        case closeCode = "close_code"
        /// Binance: the next depth diff of every stream (of `symbol`) is lost, so `pu` does not match.
        case puBreak = "pu_break"
        /// Binance: close every connection as Binance does when one reaches 24 h.
        case expire
    }

    public var kind: Kind
    public var seconds: Double?
    public var symbol: String?
    public var code: Int?
    public var ms: Int?
    /// In a schedule file: seconds after start when the fault is applied.
    public var at: Double?

    public init(kind: Kind, seconds: Double? = nil, symbol: String? = nil, code: Int? = nil, ms: Int? = nil, at: Double? = nil) {
        self.kind = kind
        self.seconds = seconds
        self.symbol = symbol
        self.code = code
        self.ms = ms
        self.at = at
    }
}

/// What the simulator has done, for `GET /sim/stats`.
public struct SimStats: Sendable, Codable, Equatable {
    public var connectionsOpened = 0
    public var connectionsOpen = 0
    public var connectionsRejected = 0
    public var slowConsumersDisconnected = 0
    public var messagesSent = 0
    public var bytesSent = 0
    public var restRequests = 0
    public var ordersPlaced = 0
    /// Orders cancelled by disconnect-cancel (DCP).
    public var dcpCancels = 0
    public var trades = 0
    public var steps = 0
    /// Recorded messages applied by `--replay`, and those that did not parse.
    public var replayMessages = 0
    public var replayErrors = 0
    public var faultsApplied: [String: Int] = [:]
}

/// A frame (or a close) queued for one WebSocket connection.
public enum SimOutgoing: Sendable, Equatable {
    case text(String)
    case close(code: UInt16, reason: String)
}
