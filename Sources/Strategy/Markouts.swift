import Foundation
import Market

/// Markouts, the measure of adverse selection: for every fill of ours, the move of the mid `horizon`
/// after it, signed so that positive is good for us, in bp of the fill price:
///   buy: (mid_h − price) / price · 10⁴        sell: (price − mid_h) / price · 10⁴
/// mid_h is the first trusted mid at or after fill time + horizon (a book that is reset or broken
/// meanwhile gives no mid until it is trusted again; the first one after counts). Averages per side and
/// overall, since start and over the last `recent` fills of each side. Pure: fills and mids come with
/// their event times.
public struct Markouts: Sendable, Equatable {
    /// 1 s, 5 s, 30 s.
    public static let horizons: [Int64] = [1_000_000_000, 5_000_000_000, 30_000_000_000]

    public static func name(_ horizon: Int64) -> String { "\(horizon / 1_000_000_000)s" }

    /// One resolved markout.
    public struct Resolved: Sendable, Equatable {
        public var id: String
        public var side: Side
        public var horizon: Int64
        public var bps: Double
    }

    /// Averages of one horizon; nil where there is no fill yet.
    public struct Figures: Sendable, Equatable {
        public var all: Double?
        public var buy: Double?
        public var sell: Double?
        public var count = 0
    }

    private struct Pending: Sendable, Equatable {
        var id: String
        var side: Side
        var price: Double
        var time: Int64
    }

    private struct Sum: Sendable, Equatable {
        var total = 0.0
        var count = 0
        var average: Double? { count > 0 ? total / Double(count) : nil }
    }

    /// A value for each side (the sides are two: no dictionary to hash them into).
    private struct BySide<Value: Sendable & Equatable>: Sendable, Equatable {
        var buy: Value
        var sell: Value

        subscript(side: Side) -> Value {
            get { side == .buy ? buy : sell }
            _modify {
                if side == .buy { yield &buy } else { yield &sell }
            }
        }
    }

    public let recent: Int
    /// Fills waiting for a horizon, in time order. `due[h]` is how many of them have resolved horizon `h`
    /// (a fill resolves its horizons in order, so `due` never grows along the horizons): a mid visits only
    /// the fills it resolves, however many are waiting. The resolved prefix is dropped in bulk.
    private var pending: [Pending] = []
    private var due: [Int] = Array(repeating: 0, count: Markouts.horizons.count)
    /// [horizon][side]: since start.
    private var sums = Array(repeating: BySide(buy: Sum(), sell: Sum()), count: Markouts.horizons.count)
    /// [horizon][side]: the last `recent` values.
    private var windows = Array(repeating: BySide<[Double]>(buy: [], sell: []), count: Markouts.horizons.count)

    public init(recent: Int = 50) {
        self.recent = max(recent, 1)
    }

    /// A fill of ours at `price`, at `time`.
    public mutating func fill(id: String, side: Side, price: Price, time: Int64) {
        let value = price.doubleValue
        guard value > 0 else { return }
        let fill = Pending(id: id, side: side, price: value, time: time)
        // In time order; one older than fills still waiting goes before them (never before a resolved one).
        guard let last = pending.last, last.time > time else { pending.append(fill); return }
        var index = pending.count
        while index > due[0], pending[index - 1].time > time { index -= 1 }
        pending.insert(fill, at: index)
    }

    /// A trusted mid at `time`: the markouts whose horizon it reaches, resolved.
    @discardableResult
    public mutating func mid(_ mid: Price, time: Int64) -> [Resolved] {
        var resolved: [Resolved] = []
        self.mid(mid, time: time, into: &resolved)
        return resolved
    }

    /// The same, the resolved markouts appended to `resolved` (a caller that keeps them: no array a mid).
    public mutating func mid(_ mid: Price, time: Int64, into resolved: inout [Resolved]) {
        guard due[Markouts.horizons.count - 1] < pending.count else { return }
        let value = mid.doubleValue
        for horizon in Markouts.horizons.indices {
            let length = Markouts.horizons[horizon]
            while due[horizon] < pending.count, time >= pending[due[horizon]].time + length {
                let fill = pending[due[horizon]]
                let sign = fill.side == .buy ? 1.0 : -1.0
                let bps = sign * (value - fill.price) / fill.price * 10_000
                record(bps, side: fill.side, horizon: horizon)
                resolved.append(Resolved(id: fill.id, side: fill.side, horizon: length, bps: bps))
                due[horizon] += 1
            }
        }
        let done = due[Markouts.horizons.count - 1]
        if done > 256, done * 2 > pending.count {
            pending.removeFirst(done)
            for horizon in due.indices { due[horizon] -= done }
        }
    }

    private mutating func record(_ bps: Double, side: Side, horizon: Int) {
        sums[horizon][side].total += bps
        sums[horizon][side].count += 1
        windows[horizon][side].append(bps)
        if windows[horizon][side].count > recent { windows[horizon][side].removeFirst() }
    }

    /// Since start, for each horizon.
    public var sinceStart: [Figures] {
        sums.map { bySide in
            let buy = bySide.buy, sell = bySide.sell
            let count = buy.count + sell.count
            return Figures(all: count > 0 ? (buy.total + sell.total) / Double(count) : nil, buy: buy.average, sell: sell.average, count: count)
        }
    }

    /// Over the last `recent` fills of each side, for each horizon.
    public var lastFills: [Figures] {
        windows.map { bySide in
            let buy = bySide.buy, sell = bySide.sell
            func average(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
            return Figures(all: average(buy + sell), buy: average(buy), sell: average(sell), count: buy.count + sell.count)
        }
    }

    /// Markouts of `side` at the horizon `index` since start.
    public func fills(side: Side, horizon index: Int) -> Int { sums[index][side].count }

    /// Fills still waiting for a horizon.
    public var waiting: Int { pending.count - due[Markouts.horizons.count - 1] }
}
