import Market

/// A context as `GET /context/{symbol}` and `keel context` show it: prices and volumes as exact decimal
/// strings, σ and volatilities as numbers, `t` a candle's start in Unix ms. Encode with snake_case keys.
public struct ContextReport: Encodable, Sendable {
    public struct CandleRow: Encodable, Sendable {
        var t: Int64
        var o, h, l, c, v: String
        /// Null for a backfilled minute without a taker split (Bybit's klines: nor a trade count).
        var buyV, sellV: String?
        var n: Int?
        var vwap: String?
        var delta: String?
    }

    /// The REST backfill as the shell ran it.
    public struct Backfill: Encodable, Sendable {
        /// `off`, `waiting` (for the connector), `running`, `done` or `failed`.
        public var state: String
        public var chunk: Int
        public var chunks: Int
        public var candles: Int
        public var reason: String?
        /// The backfilled minutes: the first one's start and the last one's end, Unix ms.
        public var from: Int64?
        public var through: Int64?

        public init(state: String, chunk: Int = 0, chunks: Int = 0, candles: Int = 0, reason: String? = nil) {
            self.state = state
            self.chunk = chunk
            self.chunks = chunks
            self.candles = candles
            self.reason = reason
        }
    }

    public struct VWAP: Encodable, Sendable {
        var session: String?
        var sessionSigma: Double?
        /// The session VWAP ± 1σ and ± 2σ.
        var bands: [String: Double]?
        var rolling: String?
        var rollingSigma: Double?
        var rollingWindowSeconds: Double
    }

    public struct Profile: Encodable, Sendable {
        var rowTicks: Int
        var window: String
        var valueArea: Double
        var poc: String?
        var vah: String?
        var val: String?
        /// `[price, volume]`, lowest price first; a row is labelled by its lowest price.
        var rows: [[String]]
    }

    public struct CVD: Encodable, Sendable {
        var session: String
        /// Where it starts: the session's first trade seen, the session's start (backfilled minutes with a
        /// taker split), or live trades only (backfilled minutes without one).
        var since: String
    }

    /// σ of 1m log returns over the last hour and day, per √s and annualised.
    public struct Volatility: Encodable, Sendable {
        var perSqrtSecond1h: Double?
        var perSqrtSecond24h: Double?
        var annualised1h: Double?
        var annualised24h: Double?

        enum CodingKeys: String, CodingKey {
            case perSqrtSecond1h = "1h_per_sqrt_s", perSqrtSecond24h = "24h_per_sqrt_s", annualised1h = "1h_annualised", annualised24h = "24h_annualised"
        }
    }

    var symbol: String
    var trades: Int
    var sessionStart: Int64?
    var candles: [String: [CandleRow]]
    var vwap: VWAP
    var profile: Profile
    var cvd: CVD
    var volatility: Volatility
    /// Set by the shell that ran one (the bot); absent in `keel context`.
    public var backfill: Backfill?

    /// The last `count` candles of each of `intervals` (the open one last).
    public init(_ context: SymbolContext, intervals: [CandleInterval] = CandleInterval.allCases, count: Int = 60) {
        symbol = context.symbol
        trades = context.trades
        sessionStart = context.sessionStart.map { $0 / 1_000_000 }
        var rows: [String: [CandleRow]] = [:]
        for interval in intervals {
            rows[interval.rawValue] = context.candles[interval]!.last(count).map { candle in
                CandleRow(t: candle.start / 1_000_000, o: "\(candle.open)", h: "\(candle.high)", l: "\(candle.low)", c: "\(candle.close)",
                          v: "\(candle.volume)", buyV: candle.takerSplit ? "\(candle.buyVolume)" : nil,
                          sellV: candle.takerSplit ? "\(candle.volume - candle.buyVolume)" : nil, n: candle.takerSplit ? candle.trades : nil,
                          vwap: candle.vwap.map { "\($0)" }, delta: candle.takerSplit ? "\(candle.delta)" : nil)
            }
        }
        candles = rows
        let snapshot = context.snapshot
        var bands: [String: Double]?
        if let session = snapshot.sessionVWAP?.doubleValue, let sigma = snapshot.sessionSigma {
            bands = ["minus2": session - 2 * sigma, "minus1": session - sigma, "plus1": session + sigma, "plus2": session + 2 * sigma]
        }
        vwap = VWAP(session: snapshot.sessionVWAP.map { "\($0)" }, sessionSigma: snapshot.sessionSigma, bands: bands,
                    rolling: snapshot.rollingVWAP.map { "\($0)" }, rollingSigma: snapshot.rollingSigma,
                    rollingWindowSeconds: Double(context.configuration.vwapWindow) / 1e9)
        let profile = context.profile
        self.profile = Profile(rowTicks: context.configuration.profileRowTicks,
                               window: context.configuration.profileWindow.map { "\(Double($0) / 1e9) s" } ?? "session",
                               valueArea: context.configuration.valueArea, poc: snapshot.levels.map { "\($0.poc)" },
                               vah: snapshot.levels.map { "\($0.vah)" }, val: snapshot.levels.map { "\($0.val)" },
                               rows: profile.rows.sorted { $0.key < $1.key }.map { ["\(context.display(profile.price(ofRow: $0.key)))", "\($0.value)"] })
        let since: String
        if context.cvdFromLiveTradesOnly {
            since = "live trades only: the backfilled minutes' klines carry no taker split (Bybit), so they are not in it"
        } else if context.history != nil {
            since = "the session's start: backfilled minutes from the klines' taker-buy volume, then live trades"
        } else {
            since = "the session's first trade seen"
        }
        cvd = CVD(session: "\(snapshot.sessionCVD)", since: since)
        volatility = Volatility(perSqrtSecond1h: snapshot.volatility1hPerSqrtSecond, perSqrtSecond24h: snapshot.volatility24hPerSqrtSecond,
                                annualised1h: snapshot.volatility1hAnnualised, annualised24h: snapshot.volatility24hAnnualised)
    }
}
