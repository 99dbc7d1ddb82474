import Foundation
import Market

/// How the context is kept (`context.*` keys).
public struct ContextConfiguration: Sendable, Equatable {
    /// `context.vwap_window`: the rolling VWAP's window, ns (default 1 h).
    public var vwapWindow: Int64 = 3_600_000_000_000
    /// `context.profile_window`: the volume profile's window, ns; nil: the UTC session (default).
    public var profileWindow: Int64?
    /// `context.profile_row_ticks`: ticks per profile row.
    public var profileRowTicks = 10
    /// `context.value_area`: the share of volume in the value area.
    public var valueArea = 0.70
    /// A timer tick (the local clock) closes candles only this long after their end, so a trade the
    /// exchange's clock stamped just before the end still lands in its candle.
    public var tickLateness: Int64 = 1_000_000_000
    /// Closed candles kept per interval.
    public var keep: [CandleInterval: Int] = [.s1: 600, .m1: 1_440, .m5: 576, .m15: 384, .h1: 168, .h4: 180, .d1: 90]

    public init() {}
}

/// The market context of one symbol, from its trades in exchange time (pure: time comes with the
/// trades and timer ticks): candles at 1s … 1d, the session and rolling VWAP with bands, the volume
/// profile with POC / VAH / VAL, cumulative volume delta, realised volatility of 1m log returns.
/// Prices and volumes are exact; σ, bands and volatilities are `Double`.
public struct SymbolContext: Sendable {
    public let symbol: String
    public let configuration: ContextConfiguration
    public private(set) var instrument: Instrument
    public private(set) var candles: CandleSeriesSet
    /// The UTC day the session figures belong to (its start, ns).
    public private(set) var sessionStart: Int64?
    public private(set) var session = VWAPState()
    public private(set) var rolling: RollingVWAP
    public private(set) var sessionProfile: VolumeProfile
    /// With a rolling `profileWindow`: per-minute profiles, the oldest leaving the sum.
    private var profileMinutes: [(minute: Int64, profile: VolumeProfile)] = []
    private var windowProfile: VolumeProfile
    /// Taker-buy minus taker-sell volume since the session began.
    public private(set) var sessionCVD: Quantity = .zero
    public private(set) var trades = 0
    public private(set) var lastTime: Int64?
    /// What a REST backfill brought (nil: none yet).
    public private(set) var history: History?
    /// While a backfill runs, live trades wait here; `finishBackfill` applies those its candles do not cover.
    public private(set) var deferred: [TradeTick]?
    /// The session's CVD counts only live trades: its backfilled minutes had no taker split (Bybit's klines).
    public private(set) var cvdFromLiveTradesOnly = false

    /// Trades held while a backfill runs, at most (about 50 MB; hours of a busy symbol).
    public static let deferredCap = 500_000

    /// The candles a backfill brought.
    public struct History: Sendable, Equatable {
        public var candles: Int
        /// The first backfilled minute's start and the last one's end (ns).
        public var from: Int64
        public var through: Int64
        /// Every backfilled minute carried the taker split (Binance's klines do, Bybit's do not).
        public var takerSplit: Bool
    }
    /// Prices are shown at the tick's digits (`0.1` and `0.10` alike: one), VWAPs at four more.
    public var priceScale: UInt8 { instrument.tickSize.minimalScale }

    public init(instrument: Instrument, configuration: ContextConfiguration = .init()) {
        symbol = instrument.symbol
        self.instrument = instrument
        self.configuration = configuration
        candles = CandleSeriesSet(keep: configuration.keep)
        rolling = RollingVWAP(window: configuration.vwapWindow)
        sessionProfile = VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)
        windowProfile = sessionProfile
    }

    /// One market trade (off-book prints — insurance fund, ADL — never reach here: the feeds keep them out).
    public mutating func onTrade(_ trade: TradeTick) {
        if deferred != nil {
            // A backfill that keeps failing must not hold memory without end: past the cap the oldest
            // waiting trades go (their minutes then come from the klines alone, or are missing).
            if deferred!.count >= SymbolContext.deferredCap { deferred!.removeFirst(SymbolContext.deferredCap / 10) }
            deferred!.append(trade)
            return
        }
        let time = trade.exchangeTime
        roll(to: time)
        // One price × qty (and p²·q) for every series and VWAP the trade goes into.
        let value = trade.price * trade.qty, squares = VWAPState.squares(price: trade.price, qty: trade.qty)
        candles.add(price: trade.price, qty: trade.qty, value: value, aggressor: trade.aggressor, time: time)
        session.add(qty: trade.qty, value: value, squares: squares)
        rolling.add(qty: trade.qty, value: value, squares: squares, time: time)
        addToProfiles(price: trade.price, qty: trade.qty, minute: CandleInterval.m1.start(of: time, near: profileMinutes.last?.minute))
        sessionCVD += trade.aggressor == .buy ? trade.qty : -trade.qty
        trades += 1
    }

    /// A timer tick at `time`: candles close, windows age, a new UTC day starts a new session.
    public mutating func advance(to time: Int64) {
        guard deferred == nil, roll(to: time) else { return }
        candles.advance(to: time)
    }

    // MARK: Backfill

    /// A backfill begins: live trades wait until it ends.
    public mutating func beginBackfill() {
        if deferred == nil { deferred = [] }
    }

    /// The backfill's closed 1m candles (any order; a start seen twice counts once), then the trades that
    /// waited, those its candles do not cover (at or after the last candle's end): the seam has no
    /// minute counted twice or missing. Higher intervals are built from the 1m candles; the session and
    /// rolling VWAP take each minute's exact volume and turnover, the profile each minute's volume at its
    /// VWAP's row, and the session CVD the minutes with a taker split.
    public mutating func finishBackfill(_ minutes: [Candle]) {
        let waiting = deferred ?? []
        deferred = nil
        var seen = Set<Int64>()
        let sorted = minutes.sorted { $0.start < $1.start }.filter { seen.insert($0.start).inserted && $0.start >= (lastTime ?? .min) }
        for minute in sorted { add(minute: minute) }
        if let first = sorted.first, let last = sorted.last {
            let split = sorted.allSatisfy(\.takerSplit)
            history = History(candles: (history?.candles ?? 0) + sorted.count, from: min(history?.from ?? first.start, first.start),
                              through: last.end, takerSplit: split && (history?.takerSplit ?? true))
            advance(to: last.end)
        }
        let covered = sorted.last?.end ?? .min
        for trade in waiting where trade.exchangeTime >= covered { onTrade(trade) }
    }

    /// Volume at `price` into the session's profile and, with a rolling `profileWindow`, into the
    /// minute's profile (a new minute starts a new one) and the window's sum.
    private mutating func addToProfiles(price: Price, qty: Quantity, minute: Int64) {
        // Every profile here has the session's row size: the row is found once.
        let row = sessionProfile.row(of: price)
        sessionProfile.add(row: row, qty: qty)
        guard configuration.profileWindow != nil else { return }
        if profileMinutes.last?.minute != minute {
            profileMinutes.append((minute, VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)))
        }
        profileMinutes[profileMinutes.count - 1].profile.add(row: row, qty: qty)
        windowProfile.add(row: row, qty: qty)
    }

    private mutating func add(minute: Candle) {
        roll(to: minute.start)
        candles.add(minute: minute)
        session.add(candle: minute)
        rolling.add(candle: minute)
        if minute.volume.signum > 0 { addToProfiles(price: minute.vwap ?? minute.close, qty: minute.volume, minute: minute.start) }
        if minute.takerSplit { sessionCVD += minute.delta } else { cvdFromLiveTradesOnly = true }
        trades += minute.trades
    }

    /// What moves with time, whatever moves it: the session (a new UTC day starts a new one) and the
    /// windows. False for a time behind the last one seen.
    @discardableResult
    private mutating func roll(to time: Int64) -> Bool {
        let day = CandleInterval.d1.start(of: time, near: sessionStart)
        if sessionStart != day {
            if sessionStart == nil || day > sessionStart! {
                sessionStart = day
                session = VWAPState()
                sessionProfile = VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)
                sessionCVD = .zero
                cvdFromLiveTradesOnly = false
            }
        }
        guard time >= (lastTime ?? .min) else { return false }
        lastTime = time
        rolling.advance(to: time)
        if let window = configuration.profileWindow {
            while let first = profileMinutes.first, first.minute + 60_000_000_000 <= time - window {
                windowProfile.remove(first.profile)
                profileMinutes.removeFirst()
            }
        }
        return true
    }

    /// The profile the levels come from: the session's, or the rolling window's.
    public var profile: VolumeProfile { configuration.profileWindow == nil ? sessionProfile : windowProfile }

    /// The figures at one moment, for `/context`, `keel context`, metrics and the strategy.
    public struct Snapshot: Sendable, Equatable {
        public var sessionVWAP: Price?
        public var sessionSigma: Double?
        public var rollingVWAP: Price?
        public var rollingSigma: Double?
        public var levels: VolumeProfile.Levels?
        public var sessionCVD: Quantity
        /// σ of 1m log returns over the last hour and day: per √s, and annualised (× √(365·86400)).
        public var volatility1hPerSqrtSecond: Double?
        public var volatility24hPerSqrtSecond: Double?

        public var volatility1hAnnualised: Double? { volatility1hPerSqrtSecond.map { $0 * (365.0 * 86_400).squareRoot() } }
        public var volatility24hAnnualised: Double? { volatility24hPerSqrtSecond.map { $0 * (365.0 * 86_400).squareRoot() } }
    }

    public var snapshot: Snapshot {
        let scale = min(priceScale + 4, 18)
        let sessionVWAP = session.vwap(scale: scale)
        var levels = profile.levels(valueArea: configuration.valueArea, reference: sessionVWAP)
        if let found = levels {
            levels = .init(poc: display(found.poc), vah: display(found.vah), val: display(found.val))
        }
        return Snapshot(sessionVWAP: sessionVWAP, sessionSigma: session.sigma, rollingVWAP: rolling.total.vwap(scale: scale),
                        rollingSigma: rolling.total.sigma, levels: levels,
                        sessionCVD: sessionCVD, volatility1hPerSqrtSecond: realisedVolatility(minutes: 60),
                        volatility24hPerSqrtSecond: realisedVolatility(minutes: 1_440))
    }

    /// A price at `priceScale` (as the exchange writes its prices).
    public func display(_ price: Price) -> Price { price.rescaled(to: priceScale) ?? price }

    /// σ of the log returns of the last `minutes` closed 1m candles, per √s (√(Σ r² / n) / √60); nil below two candles.
    public func realisedVolatility(minutes: Int) -> Double? {
        let closes = candles[.m1]!.closed.suffix(minutes + 1).map(\.close.doubleValue)
        guard closes.count >= 2 else { return nil }
        var sum = 0.0
        for index in 1..<closes.count where closes[index - 1] > 0 && closes[index] > 0 {
            let r = log(closes[index] / closes[index - 1])
            sum += r * r
        }
        return (sum / Double(closes.count - 1)).squareRoot() / 60.0.squareRoot()
    }

    /// Whenever the exchange's grid replaces the configured one.
    public mutating func adopt(_ exchange: Instrument) {
        guard exchange.tickSize != instrument.tickSize else { instrument = exchange; return }
        instrument = exchange
        sessionProfile = VolumeProfile(tickSize: exchange.tickSize, rowTicks: configuration.profileRowTicks)
        windowProfile = sessionProfile
        profileMinutes = []
    }
}
