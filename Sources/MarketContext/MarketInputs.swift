import Foundation
import Market

/// What the strategy reads from the market, kept up to date from book and trade events in event
/// time (pure: no clock; the times come with the events). Values a model computes with are
/// `Double` (volatility, intensities, imbalance); prices stay exact.
///
/// The fuller market-context service (candles, VWAP, volume profile, backfill) will add inputs
/// beside these: the strategy reads a `MarketInputs.Snapshot`, never the estimators.
public struct MarketInputs: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Mid returns are sampled on this grid (ns); volatility is per square-root second.
        public var sampleInterval: Int64 = 1_000_000_000
        /// EWMA half-life of the squared per-second returns, in samples (seconds).
        public var volatilityHalfLife = 30.0
        /// Time constant of the trade-arrival intensity, seconds.
        public var intensityTimeConstant = 60.0
        /// Book imbalance over this many levels a side.
        public var imbalanceDepth = 5

        public init() {}
    }

    /// The inputs at one moment.
    public struct Snapshot: Sendable, Equatable {
        public var time: Int64
        public var bestBid: Price?
        public var bestAsk: Price?
        public var mid: Price?
        public var microprice: Price?
        public var spread: Price?
        /// σ of log mid returns per √s (e.g. 0.0001 = 1 bp per √s); `nil` until two samples.
        public var volatility: Double?
        /// Trades per second (EWMA), all, and by aggressor side.
        public var tradeIntensity: Double
        public var buyIntensity: Double
        public var sellIntensity: Double
        /// (bid − ask) / (bid + ask) over `imbalanceDepth` levels, in [−1, 1].
        public var imbalance: Double?
        /// Last trade price and time.
        public var lastTrade: Price?
        public var lastTradeTime: Int64?
    }

    public let configuration: Configuration
    public private(set) var snapshot: Snapshot
    private var lastSampleTime: Int64?
    private var lastSampleMid: Double?
    private var variance: Double?
    private var samples = 0
    private var intensityTime: Int64?

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        snapshot = Snapshot(time: 0, tradeIntensity: 0, buyIntensity: 0, sellIntensity: 0)
    }

    /// After the book changed at `time` (event time, ns).
    public mutating func onBook(_ book: OrderBook, time: Int64) {
        snapshot.time = max(snapshot.time, time)
        snapshot.bestBid = book.bestBid?.price
        snapshot.bestAsk = book.bestAsk?.price
        snapshot.mid = book.mid
        snapshot.microprice = book.microprice()
        snapshot.spread = book.spread
        snapshot.imbalance = book.imbalance(depth: configuration.imbalanceDepth)
        if let mid = snapshot.mid?.doubleValue, mid > 0 { sample(mid: mid, time: time) }
    }

    /// After a public trade print, at `time` (nil: the trade's exchange time).
    public mutating func onTrade(_ trade: TradeTick, time: Int64? = nil) {
        let time = time ?? trade.exchangeTime
        snapshot.time = max(snapshot.time, time)
        decayIntensity(to: time)
        let add = 1 / configuration.intensityTimeConstant
        snapshot.tradeIntensity += add
        if trade.aggressor == .buy { snapshot.buyIntensity += add } else { snapshot.sellIntensity += add }
        snapshot.lastTrade = trade.price
        snapshot.lastTradeTime = time
    }

    /// The inputs as of `time` (intensities decayed to it).
    public func current(at time: Int64) -> Snapshot {
        var copy = self
        copy.decayIntensity(to: time)
        copy.snapshot.time = max(copy.snapshot.time, time)
        return copy.snapshot
    }

    /// Squared log returns between grid points, EWMA-weighted; a gap of n intervals counts as n
    /// samples of its per-interval variance.
    private mutating func sample(mid: Double, time: Int64) {
        guard let lastTime = lastSampleTime, let lastMid = lastSampleMid else {
            lastSampleTime = time
            lastSampleMid = mid
            return
        }
        let intervals = (time - lastTime) / configuration.sampleInterval
        guard intervals >= 1 else { return }
        let seconds = Double(intervals * configuration.sampleInterval) / 1e9
        let r = log(mid / lastMid)
        let perSecond = r * r / seconds
        let decay = pow(0.5, Double(intervals) / configuration.volatilityHalfLife)
        variance = variance.map { decay * $0 + (1 - decay) * perSecond } ?? perSecond
        samples += 1
        lastSampleTime = lastTime + intervals * configuration.sampleInterval
        lastSampleMid = mid
        snapshot.volatility = variance.map { $0.squareRoot() }
    }

    private mutating func decayIntensity(to time: Int64) {
        defer { intensityTime = max(intensityTime ?? time, time) }
        guard let from = intensityTime, time > from else { return }
        let factor = exp(-Double(time - from) / 1e9 / configuration.intensityTimeConstant)
        snapshot.tradeIntensity *= factor
        snapshot.buyIntensity *= factor
        snapshot.sellIntensity *= factor
    }
}
