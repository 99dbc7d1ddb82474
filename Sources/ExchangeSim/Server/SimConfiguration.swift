import Market

/// An account the simulator accepts: its API key, secret and starting USDT balance.
public struct SimAccountConfig: Sendable, Equatable {
    public var apiKey: String
    public var secret: String
    public var balance: FixedDecimal
    public var makerFeeRate: FixedDecimal
    public var takerFeeRate: FixedDecimal

    public init(apiKey: String, secret: String, balance: FixedDecimal = FixedDecimal(100_000),
                makerFeeRate: FixedDecimal = FixedDecimal(mantissa: 2, scale: 4),
                takerFeeRate: FixedDecimal = FixedDecimal(mantissa: 55, scale: 5)) {
        self.apiKey = apiKey
        self.secret = secret
        self.balance = balance
        self.makerFeeRate = makerFeeRate
        self.takerFeeRate = takerFeeRate
    }

    /// The documented demo account that exists when no account is configured.
    public static let demo = SimAccountConfig(apiKey: "keel-demo-key", secret: "keel-demo-secret")
}

/// Which exchange's protocol the sim speaks.
public enum SimVenue: String, Sendable, CaseIterable {
    case bybit
    case binanceUSDM = "binance-usdm"
}

/// Everything `keel sim` can be told.
public struct SimConfiguration: Sendable {
    public var venue = SimVenue.bybit
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); the bound ports are reported once listening.
    public var port = 9100
    /// Default: `port + 1` (or a free port when `port` is 0).
    public var controlPort: Int?
    /// Serve wss/https on the main port (the control API stays plain HTTP on loopback).
    public var tls: SimTLS?
    /// Faults applied on a timetable from the start.
    public var faultSchedule = FaultSchedule(faults: [])
    /// Serve a recorded market instead of the synthetic flow.
    public var replay: ReplayConfiguration?
    public var seed: UInt64 = 1
    public var instruments: [Instrument] = SimConfiguration.defaultInstruments
    public var flow: [String: FlowParameters] = SimConfiguration.defaultFlow
    public var accounts: [SimAccountConfig] = [.demo]
    /// How often the market moves and books are published.
    public var stepMilliseconds = 20
    /// Frames queued for one connection before it counts as a slow consumer and is disconnected.
    public var sendBufferLimit = 20_000
    public var maxConnections = 500
    /// Bybit's limit on the total length of a connection's subscription args.
    public var maxArgsLength = 21_000
    /// REST requests per 5 s from one IP before HTTP 403 (Bybit: 600).
    public var ipRequestLimit = 600
    /// Order create/amend/cancel per second per account before retCode 10006 (Bybit linear: 10).
    public var orderRateLimit = 10
    /// Minutes of 1-minute candles kept for `/v5/market/kline`.
    public var klineHistoryMinutes = 10_080
    /// Minutes of seeded past before the sim's start (`--history`), served by the kline endpoints; 0: none.
    public var historyMinutes = 0
    /// Binance: the server's WebSocket ping period (Binance: 3 minutes); a connection that has not
    /// answered a ping when the next is due is closed.
    public var binancePingSeconds = 180.0
    /// Binance: connections are closed when they reach this age (Binance: 24 h); nil: never.
    public var connectionLifetimeNanoseconds: Int64? = 86_400_000_000_000

    public init() {}

    public static let defaultInstruments = [
        Instrument(symbol: "BTCUSDT", tickSize: FixedDecimal(mantissa: 10, scale: 2),
                   qtyStep: FixedDecimal(mantissa: 1, scale: 3), minQty: FixedDecimal(mantissa: 1, scale: 3)),
        Instrument(symbol: "ETHUSDT", tickSize: FixedDecimal(mantissa: 1, scale: 2),
                   qtyStep: FixedDecimal(mantissa: 1, scale: 2), minQty: FixedDecimal(mantissa: 1, scale: 2)),
    ]

    public static let defaultFlow: [String: FlowParameters] = [
        "BTCUSDT": FlowParameters(startPrice: 60_000),
        "ETHUSDT": {
            // No ETHUSDT capture to calibrate from: BTCUSDT's market, with half the sizes in ETH's lots.
            var parameters = FlowParameters(startPrice: 3_000)
            parameters.meanLots = 20
            parameters.marketMedianLots /= 2
            parameters.maxMarketLots /= 2
            parameters.depthLots = parameters.depthLots.map { $0 / 2 }
            return parameters
        }(),
    ]
}
