import Foundation
import Market

/// How a simulated venue moves an order's place in its price level's queue when the level shrinks
/// without a trade at the price (cancels ahead or behind; trades at the price always eat the front).
public enum QueueModel: Sendable, Equatable {
    /// The queue ahead never shrinks for a cancel unless the level itself falls below it: the order
    /// is only promoted by trades at its price (hftbacktest's risk-averse model).
    case riskAverse
    /// A decrease Δ of the level is split between the volume ahead (`front`) and behind (`back`): the
    /// part behind loses Δ·f(back)/(f(back)+f(front)), the rest comes off the front (a shortfall behind
    /// comes off the front too). `f(x) = x^n` for `.power(n)`, `f(x) = log(1 + x)` for `.log`.
    case probabilistic(ProbabilityShape)

    public enum ProbabilityShape: Sendable, Equatable {
        case power(Double)
        case log
    }

    /// The volume ahead after the level went from `before` to `after`, `traded` of it by trades at the
    /// price already taken off `ahead`.
    public func ahead(_ ahead: Quantity, before: Quantity, after: Quantity, traded: Quantity) -> Quantity {
        switch self {
        case .riskAverse:
            return min(ahead, after)
        case .probabilistic(let shape):
            let decrease = (before - after - traded).doubleValue
            guard decrease > 0 else { return min(ahead, after) }
            let front = ahead.doubleValue
            let back = max((before - traded).doubleValue - front, 0)
            func f(_ x: Double) -> Double {
                switch shape {
                case .power(let n): return pow(x, n)
                case .log: return log(1 + x)
                }
            }
            let weights = f(back) + f(front)
            let share = weights > 0 ? f(back) / weights : 0
            let fromBack = min(decrease * share, back)
            let estimate = max(front - (decrease - fromBack), 0)
            // Back to an exact quantity, to the nearest millionth (or finer, as the sizes are); never more
            // than was ahead, nor than the level shows.
            let scale = max(ahead.scale, after.scale, 6)
            let exact = FixedDecimal(mantissa: Int64((estimate * pow(10, Double(scale))).rounded()), scale: scale)
            return max(min(min(exact, ahead), after), .zero)
        }
    }
}

/// The time an order command takes to reach a simulated venue: a constant, or measured (a bot's own
/// request → ack times from its `orders_*.jsonl`), interpolated over time and held at the ends.
public struct OrderLatency: Sendable, Equatable {
    /// (time, latency) points, ns, in time order.
    public private(set) var points: [(time: Int64, latency: Int64)]
    public let constant: Int64

    public static func == (lhs: OrderLatency, rhs: OrderLatency) -> Bool {
        lhs.constant == rhs.constant && lhs.points.elementsEqual(rhs.points) { $0.time == $1.time && $0.latency == $1.latency }
    }

    public init(constant: Int64) {
        self.constant = constant
        points = []
    }

    /// Measured points (sorted here); none: the constant.
    public init(measured: [(time: Int64, latency: Int64)], fallback: Int64) {
        constant = fallback
        points = measured.sorted { $0.time < $1.time }
    }

    public func at(_ time: Int64) -> Int64 {
        guard let first = points.first, let last = points.last else { return constant }
        if time <= first.time { return first.latency }
        if time >= last.time { return last.latency }
        // The last point at or before `time`, by bisection.
        var low = 0, high = points.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if points[middle].time <= time { low = middle } else { high = middle }
        }
        let a = points[low], b = points[high]
        guard b.time > a.time else { return a.latency }
        return a.latency + (b.latency - a.latency) * (time - a.time) / (b.time - a.time)
    }
}
