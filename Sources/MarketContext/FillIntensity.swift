import Foundation
import Market

/// Online estimate of the fill intensity λ(δ) = A·e^(−kδ): how often a quote δ ticks from the mid
/// would be reached. Each trade is counted in every bucket 0…d it reached (d = its distance from the
/// mid at that moment, in ticks); bucket counts decay with `timeConstant`, so λ(δ) is the EWMA rate
/// of trades reaching δ. A least-squares line through ln λ(δ) over the buckets with data gives
/// ln A (intercept) and −k (slope). Pure: times come with the trades.
public struct FillIntensity: Sendable {
    public struct Estimate: Sendable, Equatable {
        /// Trades per second reaching the mid (δ = 0).
        public var a: Double
        /// Decay per tick of distance.
        public var k: Double
        /// Buckets the fit used.
        public var points: Int
    }

    public let buckets: Int
    public let timeConstant: Double
    private var rates: [Double]
    private var lastTime: Int64?
    private var trades = 0

    /// `buckets` distances 0…buckets−1 ticks; `timeConstant` seconds.
    public init(buckets: Int = 20, timeConstant: Double = 300) {
        self.buckets = buckets
        self.timeConstant = timeConstant
        rates = Array(repeating: 0, count: buckets)
    }

    /// A trade at `distanceTicks` from the mid (absolute) at `time` (ns).
    public mutating func record(distanceTicks: Double, time: Int64) {
        decay(to: time)
        let reached = min(buckets - 1, Int(distanceTicks.rounded(.down)))
        guard reached >= 0 else { return }
        for bucket in 0 ... reached { rates[bucket] += 1 / timeConstant }
        trades += 1
    }

    /// The fitted A and k, or `nil` with fewer than `minimumTrades` trades or three usable buckets,
    /// or when the fit does not decay (k ≤ 0).
    public func estimate(at time: Int64, minimumTrades: Int = 50) -> Estimate? {
        guard trades >= minimumTrades else { return nil }
        var copy = self
        copy.decay(to: time)
        return FillIntensity.fit(rates: copy.rates)
    }

    /// The least-squares line through ln λ(δ) of the rates reaching δ = 0, 1, …: A and k; nil with fewer
    /// than three buckets with data, or when it does not decay.
    public static func fit(rates: [Double]) -> Estimate? {
        let points = rates.enumerated().filter { $0.element > 1e-9 }.map { (x: Double($0.offset), y: log($0.element)) }
        guard points.count >= 3 else { return nil }
        let n = Double(points.count)
        let meanX = points.map(\.x).reduce(0, +) / n
        let meanY = points.map(\.y).reduce(0, +) / n
        let sxx = points.map { ($0.x - meanX) * ($0.x - meanX) }.reduce(0, +)
        let sxy = points.map { ($0.x - meanX) * ($0.y - meanY) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        guard slope < 0 else { return nil }
        return Estimate(a: exp(meanY - slope * meanX), k: -slope, points: points.count)
    }

    private mutating func decay(to time: Int64) {
        defer { lastTime = max(lastTime ?? time, time) }
        guard let from = lastTime, time > from else { return }
        let factor = exp(-Double(time - from) / 1e9 / timeConstant)
        for index in rates.indices { rates[index] *= factor }
    }
}
