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
        // The rates decayed to `time` without copying them: the fit runs on every quote decision.
        let factor = decayFactor(to: time)
        return rates.withUnsafeBufferPointer { rates in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: rates.count) { decayed in
                for index in rates.indices { decayed[index] = factor == 1 ? rates[index] : rates[index] * factor }
                return FillIntensity.fit(rates: UnsafeBufferPointer(decayed))
            }
        }
    }

    /// The least-squares line through ln λ(δ) of the rates reaching δ = 0, 1, …: A and k; nil with fewer
    /// than three buckets with data, or when it does not decay.
    public static func fit(rates: [Double]) -> Estimate? {
        rates.withUnsafeBufferPointer { fit(rates: $0) }
    }

    /// `fit(rates:)` over a buffer, allocating nothing: the sums run in the order of the buckets.
    static func fit(rates: UnsafeBufferPointer<Double>) -> Estimate? {
        var count = 0
        var sumX = 0.0
        var sumY = 0.0
        for (offset, rate) in rates.enumerated() where rate > 1e-9 {
            count += 1
            sumX += Double(offset)
            sumY += log(rate)
        }
        guard count >= 3 else { return nil }
        let n = Double(count)
        let meanX = sumX / n
        let meanY = sumY / n
        var sxx = 0.0
        var sxy = 0.0
        for (offset, rate) in rates.enumerated() where rate > 1e-9 {
            let x = Double(offset)
            sxx += (x - meanX) * (x - meanX)
            sxy += (x - meanX) * (log(rate) - meanY)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        guard slope < 0 else { return nil }
        return Estimate(a: exp(meanY - slope * meanX), k: -slope, points: count)
    }

    private mutating func decay(to time: Int64) {
        let factor = decayFactor(to: time)
        lastTime = max(lastTime ?? time, time)
        guard factor != 1 else { return }
        for index in rates.indices { rates[index] *= factor }
    }

    /// What the rates are worth at `time`, from the last trade's: 1 when `time` is not later.
    private func decayFactor(to time: Int64) -> Double {
        guard let from = lastTime, time > from else { return 1 }
        return exp(-Double(time - from) / 1e9 / timeConstant)
    }
}
