import Foundation
import Market

/// A volume-weighted average price with ±1σ and ±2σ volume-weighted bands: the sums are exact
/// (Σ p·q, Σ q), the spread of prices around the VWAP a `Double` (σ² = Σ p²·q / Σ q − VWAP²).
public struct VWAPState: Sendable, Equatable {
    public var volume: Quantity = .zero
    public var turnover: FixedDecimal = .zero
    public var squares = 0.0

    public init() {}

    public mutating func add(price: Price, qty: Quantity) {
        add(qty: qty, value: price * qty, squares: VWAPState.squares(price: price, qty: qty))
    }

    /// A trade's size, `price × qty` and `squares(price:qty:)`, made once for every state it goes into.
    public mutating func add(qty: Quantity, value: FixedDecimal, squares: Double) {
        volume += qty
        turnover += value
        self.squares += squares
    }

    /// A trade's part of Σ p²·q.
    public static func squares(price: Price, qty: Quantity) -> Double {
        price.doubleValue * price.doubleValue * qty.doubleValue
    }

    /// A closed candle's volume and turnover, exactly; its prices' spread is taken as all at its VWAP.
    public mutating func add(candle: Candle) {
        guard candle.volume.signum > 0 else { return }
        volume += candle.volume
        turnover += candle.turnover
        let average = candle.turnover.doubleValue / candle.volume.doubleValue
        squares += average * average * candle.volume.doubleValue
    }

    public mutating func remove(_ other: VWAPState) {
        volume -= other.volume
        turnover -= other.turnover
        squares -= other.squares
    }

    public mutating func merge(_ other: VWAPState) {
        volume += other.volume
        turnover += other.turnover
        squares += other.squares
    }

    /// The VWAP to `scale` digits; nil without volume.
    public func vwap(scale: UInt8) -> Price? {
        guard volume.signum > 0 else { return nil }
        return turnover.divided(by: volume, scale: scale)
    }

    /// The volume-weighted standard deviation of prices around the VWAP.
    public var sigma: Double? {
        guard volume.signum > 0 else { return nil }
        let mean = turnover.doubleValue / volume.doubleValue
        return (max(squares / volume.doubleValue - mean * mean, 0)).squareRoot()
    }
}

/// The VWAP over a rolling window, kept as one-second buckets that leave the sum as they age out. Pure.
public struct RollingVWAP: Sendable {
    public let window: Int64
    /// Buckets `head...` are in the window; those before it have aged out and are cut off in bulk (a
    /// window of an hour is 3,600 buckets: moving them all as each second ages out would cost more than
    /// the trades).
    private var buckets: [(second: Int64, state: VWAPState)] = []
    private var head = 0
    public private(set) var total = VWAPState()

    public init(window: Int64) {
        self.window = window
    }

    public mutating func add(price: Price, qty: Quantity, time: Int64) {
        add(qty: qty, value: price * qty, squares: VWAPState.squares(price: price, qty: qty), time: time)
    }

    /// The same, with the trade's amounts already made (`VWAPState.add(qty:value:squares:)`).
    public mutating func add(qty: Quantity, value: FixedDecimal, squares: Double, time: Int64) {
        let second = CandleInterval.s1.start(of: time, near: buckets.count > head ? buckets[buckets.count - 1].second : nil)
        if buckets.count > head, buckets[buckets.count - 1].second == second {
            buckets[buckets.count - 1].state.add(qty: qty, value: value, squares: squares)
        } else {
            var state = VWAPState()
            state.add(qty: qty, value: value, squares: squares)
            buckets.append((second, state))
        }
        total.add(qty: qty, value: value, squares: squares)
        advance(to: time)
    }

    /// A closed 1m candle (a backfill's) as one bucket at its start.
    public mutating func add(candle: Candle) {
        var state = VWAPState()
        state.add(candle: candle)
        buckets.append((CandleInterval.s1.start(of: candle.start), state))
        total.merge(state)
        advance(to: candle.end)
    }

    /// Drops the buckets older than the window before `time`.
    public mutating func advance(to time: Int64) {
        while head < buckets.count, buckets[head].second + 1_000_000_000 <= time - window {
            total.remove(buckets[head].state)
            head += 1
        }
        if head == buckets.count {
            buckets.removeAll(keepingCapacity: true)
            head = 0
            total = VWAPState()
        } else if head > 1_024, head * 2 > buckets.count {
            buckets.removeFirst(head)
            head = 0
        }
    }
}
