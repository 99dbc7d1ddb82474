import Foundation
import Market
import MarketContext
import Strategy

/// `keel calibrate`: what the strategy and the sim need, estimated from a recording's market events
/// (exchange time). Pure: the events come in; the figures come out.
///
/// - σ per √s: of the 1 s log returns of the last trade price as of each whole second (`trade`), and of
///   the mid (`mid`, the trusted book's), √(Σ r² / n).
/// - Trades per side and both together: count, rate per second over the first-to-last trade span, sizes
///   (mean, and quantiles by nearest rank: the ⌈q·n⌉-th smallest).
/// - Fill intensity λ(δ) = A·e^(−kδ): the rate of trades reaching δ ticks from the mid at their time,
///   fitted as the strategy fits it (`FillIntensity.fit`).
/// - The imbalance → next-second mid move coefficient, as `strategy.fair_value: imbalance` estimates it.
/// - The share of trades after which the mid, a second later, has moved their way (buy: up).
/// - Spread and the sizes at the first five levels a side, the mean of once-a-second samples.
public struct Calibration: Sendable {
    public struct SideFigures: Sendable, Equatable {
        public var count = 0
        public var perSecond = 0.0
        public var meanSize = 0.0
        public var p50 = 0.0, p90 = 0.0, p99 = 0.0, p999 = 0.0, max = 0.0
    }

    public let tickSize: Price
    public let qtyStep: Quantity
    public private(set) var symbol: String?
    private var sizes: [Side: [Double]] = [:]
    private var firstTrade: Int64?
    private var lastTrade: Int64?
    private var lastPrice: Double?
    private var nextSecond: Int64?
    private var tradeReturns: [Double] = []
    private var previousSecondPrice: Double?
    private var mid: Double?
    private var midSecond: Int64?
    private var previousSecondMid: Double?
    private var midReturns: [Double] = []
    private var reach: [Double] = Array(repeating: 0, count: 20)
    private var fair: FairValue
    /// Trades waiting a second for the mid: time, side, mid then.
    private var waiting: [(time: Int64, side: Side, mid: Double)] = []
    private var ownWay = 0
    private var judged = 0
    private var spreadSum = 0.0
    private var depthSums: [Side: [Double]] = [.buy: Array(repeating: 0, count: 5), .sell: Array(repeating: 0, count: 5)]
    private var bookSamples = 0
    private var lastBookSample: Int64?

    public init(tickSize: Price, qtyStep: Quantity, symbol: String? = nil) {
        self.tickSize = tickSize
        self.qtyStep = qtyStep
        self.symbol = symbol
        var parameters = FairValue.Parameters()
        parameters.mode = .imbalance
        parameters.halfLife = .infinity
        parameters.minimumSamples = 10
        fair = FairValue(parameters: parameters)
    }

    public mutating func ingest(_ event: MarketEvent) {
        if symbol == nil { symbol = event.symbol }
        guard event.symbol == symbol else { return }
        switch event {
        case .trade(let trade): onTrade(trade)
        case .depth(let depth): onBook(depth.book, time: depth.update.exchangeTime)
        case .bookInvalid: break
        }
    }

    private mutating func onTrade(_ trade: TradeTick) {
        let time = trade.exchangeTime
        let price = trade.price.doubleValue
        // The whole seconds up to this trade close at the price before it.
        if let last = lastPrice, var second = nextSecond {
            while second <= time {
                if let previous = previousSecondPrice { tradeReturns.append(log(last / previous)) }
                previousSecondPrice = last
                second += 1_000_000_000
            }
            nextSecond = second
        } else {
            nextSecond = (time / 1_000_000_000 + 1) * 1_000_000_000
        }
        lastPrice = price
        firstTrade = firstTrade ?? time
        lastTrade = time
        sizes[trade.aggressor, default: []].append(trade.qty.doubleValue)
        if let mid {
            let distance = abs(price - mid) / tickSize.doubleValue
            let reached = min(reach.count - 1, Int(distance.rounded(.down)))
            for bucket in 0...reached { reach[bucket] += 1 }
            waiting.append((time, trade.aggressor, mid))
        }
    }

    private mutating func onBook(_ book: OrderBook, time: Int64) {
        guard let value = book.mid?.doubleValue else { return }
        mid = value
        let tick = tickSize.doubleValue
        fair.observe(imbalance: book.imbalance(depth: 5), midTicks: value / tick, time: time)
        // The mid as of each whole second.
        let second = time / 1_000_000_000
        if midSecond != second {
            if let previous = previousSecondMid { midReturns.append(log(value / previous)) }
            previousSecondMid = value
            midSecond = second
        }
        // A second after each trade: did the mid move its way?
        while let first = waiting.first, time - first.time >= 1_000_000_000 {
            waiting.removeFirst()
            judged += 1
            if first.side == .buy ? value > first.mid : value < first.mid { ownWay += 1 }
        }
        if lastBookSample.map({ time - $0 >= 1_000_000_000 }) ?? true {
            lastBookSample = time
            bookSamples += 1
            if let spread = book.spread?.doubleValue { spreadSum += spread / tick }
            for (side, levels) in [(Side.buy, book.levels(.bid, limit: 5)), (Side.sell, book.levels(.ask, limit: 5))] {
                for (index, level) in levels.enumerated() { depthSums[side]![index] += level.qty.doubleValue }
            }
        }
    }

    /// The recording's span of trades, seconds.
    public var seconds: Double { Double((lastTrade ?? 0) - (firstTrade ?? 0)) / 1e9 }

    public func side(_ side: Side) -> SideFigures { Self.figures((sizes[side] ?? []).sorted(), seconds: seconds) }

    /// Both sides' trades together.
    public var allTrades: SideFigures { Self.figures(((sizes[.buy] ?? []) + (sizes[.sell] ?? [])).sorted(), seconds: seconds) }

    private static func figures(_ values: [Double], seconds: Double) -> SideFigures {
        guard !values.isEmpty else { return SideFigures() }
        func quantile(_ q: Double) -> Double { values[Swift.max(0, Int((q * Double(values.count)).rounded(.up)) - 1)] }
        return SideFigures(count: values.count, perSecond: seconds > 0 ? Double(values.count) / seconds : 0,
                           meanSize: values.reduce(0, +) / Double(values.count), p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99),
                           p999: quantile(0.999), max: values.last!)
    }

    public var sigmaTrade: Double? { Self.rms(tradeReturns) }
    public var sigmaMid: Double? { Self.rms(midReturns) }
    public var intensity: FillIntensity.Estimate? {
        seconds > 0 ? FillIntensity.fit(rates: reach.map { $0 / seconds }) : nil
    }
    public var imbalanceCoefficient: Double? { fair.samples >= 10 ? fair.coefficient : nil }
    public var ownWayShare: Double? { judged > 0 ? Double(ownWay) / Double(judged) : nil }
    public var spreadTicks: Double? { bookSamples > 0 ? spreadSum / Double(bookSamples) : nil }
    public func depth(_ side: Side) -> [Double] { depthSums[side]!.map { bookSamples > 0 ? $0 / Double(bookSamples) : 0 } }
    public var lastMid: Double? { mid }

    static func rms(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
    }
}
