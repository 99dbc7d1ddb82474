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
    public private(set) var candles: [CandleInterval: CandleSeries] = [:]
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
    /// Prices are shown at the tick's digits (`0.1` and `0.10` alike: one), VWAPs at four more.
    public var priceScale: UInt8 { instrument.tickSize.minimalScale }

    public init(instrument: Instrument, configuration: ContextConfiguration = .init()) {
        symbol = instrument.symbol
        self.instrument = instrument
        self.configuration = configuration
        for interval in CandleInterval.allCases {
            candles[interval] = CandleSeries(interval: interval, keep: configuration.keep[interval] ?? 100)
        }
        rolling = RollingVWAP(window: configuration.vwapWindow)
        sessionProfile = VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)
        windowProfile = sessionProfile
    }

    /// One market trade (off-book prints — insurance fund, ADL — never reach here: the feeds keep them out).
    public mutating func onTrade(_ trade: TradeTick) {
        let time = trade.exchangeTime
        roll(to: time)
        // Each series closes what the trade passed as it takes the trade.
        for interval in CandleInterval.allCases { candles[interval]!.add(price: trade.price, qty: trade.qty, aggressor: trade.aggressor, time: time) }
        session.add(price: trade.price, qty: trade.qty)
        rolling.add(price: trade.price, qty: trade.qty, time: time)
        sessionProfile.add(price: trade.price, qty: trade.qty)
        if configuration.profileWindow != nil {
            let minute = CandleInterval.m1.start(of: time)
            if profileMinutes.last?.minute != minute {
                profileMinutes.append((minute, VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)))
            }
            profileMinutes[profileMinutes.count - 1].profile.add(price: trade.price, qty: trade.qty)
            windowProfile.add(price: trade.price, qty: trade.qty)
        }
        sessionCVD += trade.aggressor == .buy ? trade.qty : -trade.qty
        trades += 1
    }

    /// A timer tick at `time`: candles close, windows age, a new UTC day starts a new session.
    public mutating func advance(to time: Int64) {
        guard roll(to: time) else { return }
        for interval in CandleInterval.allCases { candles[interval]!.advance(to: time) }
    }

    /// What moves with time, whatever moves it: the session (a new UTC day starts a new one) and the
    /// windows. False for a time behind the last one seen.
    @discardableResult
    private mutating func roll(to time: Int64) -> Bool {
        let day = CandleInterval.d1.start(of: time)
        if sessionStart != day {
            if sessionStart == nil || day > sessionStart! {
                sessionStart = day
                session = VWAPState()
                sessionProfile = VolumeProfile(tickSize: instrument.tickSize, rowTicks: configuration.profileRowTicks)
                sessionCVD = .zero
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
