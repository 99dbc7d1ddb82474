import Market

/// The candle intervals the context keeps, keyed by each trade's exchange time.
public enum CandleInterval: String, Sendable, CaseIterable, Comparable {
    case s1 = "1s", m1 = "1m", m5 = "5m", m15 = "15m", h1 = "1h", h4 = "4h", d1 = "1d"

    public var nanoseconds: Int64 {
        switch self {
        case .s1: return 1_000_000_000
        case .m1: return 60_000_000_000
        case .m5: return 300_000_000_000
        case .m15: return 900_000_000_000
        case .h1: return 3_600_000_000_000
        case .h4: return 14_400_000_000_000
        case .d1: return 86_400_000_000_000
        }
    }

    /// The start of the candle holding `time` (UTC: days start at midnight).
    public func start(of time: Int64) -> Int64 {
        time - ((time % nanoseconds) + nanoseconds) % nanoseconds
    }

    /// The same, `known` when `time` is in the candle starting there (as nearly every trade is in the one
    /// before it): no division.
    @inlinable
    public func start(of time: Int64, near known: Int64?) -> Int64 {
        if let known, time >= known, time - known < nanoseconds { return known }
        return start(of: time)
    }

    public static func < (a: CandleInterval, b: CandleInterval) -> Bool { a.nanoseconds < b.nanoseconds }
}

/// One series per interval. A trade goes into the 1s series alone: every coarser interval is whole
/// seconds, so each takes the 1s candles as they close (a second never straddles two of its candles),
/// and is read with the open second merged into its open candle — the same candles as if every trade
/// had gone into every series, for one candle's arithmetic a trade instead of seven. A trade older than
/// the open second goes into the coarser series' own candles, as before (their open candle then shows it
/// under the open second's close).
public struct CandleSeriesSet: Sendable {
    /// `series[0]` is the 1s series; the coarser ones hold the closed seconds.
    var series: [CandleSeries]

    init(keep: [CandleInterval: Int]) {
        series = CandleInterval.allCases.map { CandleSeries(interval: $0, keep: keep[$0] ?? 100) }
    }

    /// The series of `interval`, its open candle with the open second in it.
    public subscript(interval: CandleInterval) -> CandleSeries? {
        guard let index = series.firstIndex(where: { $0.interval == interval }) else { return nil }
        guard index > 0, let second = series[0].current else { return series[index] }
        var view = series[index]
        view.add(closed: second)
        return view
    }

    /// One trade at its exchange time.
    mutating func add(price: Price, qty: Quantity, value: FixedDecimal, aggressor: Side, time: Int64) {
        // The second it closes, if it is past the open one (seldom: most trades share their second).
        let wasOpen = series[0].isOpen
        let closing = series[0].closes(at: time) ? series[0].current : nil
        guard series[0].add(price: price, qty: qty, value: value, aggressor: aggressor, time: time) else {
            // Older than the open second: into the coarser candles that still hold its time.
            for index in series.indices.dropFirst() { series[index].add(price: price, qty: qty, value: value, aggressor: aggressor, time: time) }
            return
        }
        // Within the open second: nothing else moves.
        guard closing != nil || !wasOpen else { return }
        advanceCoarser(taking: closing, to: time)
    }

    /// A timer tick at `time`: candles past their end close.
    mutating func advance(to time: Int64) {
        let closing = series[0].closes(at: time) ? series[0].current : nil
        series[0].advance(to: time)
        advanceCoarser(taking: closing, to: time)
    }

    /// The coarser series take the second that just closed (if one did), then move on to `time`.
    private mutating func advanceCoarser(taking closing: Candle?, to time: Int64) {
        for index in series.indices.dropFirst() {
            if let closing { series[index].add(closed: closing) }
            series[index].advance(to: time)
        }
    }

    /// A closed 1m candle of a backfill, into every coarser series; the open second is closed first, so
    /// that it is in the coarser candles before the minute moves them on.
    mutating func add(minute: Candle) {
        let second = series[0].current
        series[0].closeOpen()
        for index in series.indices.dropFirst() {
            if let second { series[index].add(closed: second) }
            series[index].add(closed: minute)
        }
    }
}

extension Candle {
    /// The candle's volume-weighted price, to the price's scale plus 4 digits; nil without volume.
    public var vwap: Price? {
        guard volume.signum > 0 else { return nil }
        return turnover.divided(by: volume, scale: min(open.scale + 4, 18))
    }

    /// Taker-buy minus taker-sell volume.
    public var delta: Quantity { buyVolume + buyVolume - volume }
}

/// The candles of one interval: the one open now and the last `keep` closed ones. A candle closes
/// when a trade or a timer tick crosses its end; an interval without trades is a candle at the
/// previous close with zero volume, so the series has no holes. Pure.
public struct CandleSeries: Sendable {
    public let interval: CandleInterval
    public let keep: Int
    public private(set) var closed: [Candle] = []
    /// The open candle, when `isOpen`. Kept unwrapped, with the last closed candle's end beside it: every
    /// trade goes through every interval, and an optional candle (about 170 bytes) was copied out and back
    /// for each trade it took and each look at its start.
    private var open = Candle(start: 0, end: 0, open: .zero)
    private(set) var isOpen = false
    private var closedEnd: Int64 = .min

    public init(interval: CandleInterval, keep: Int) {
        self.interval = interval
        self.keep = keep
    }

    /// The candle open now.
    public var current: Candle? { isOpen ? open : nil }

    /// Where the series stands: the open candle's start, else the last closed one's end.
    private var openedAt: Int64 { isOpen ? open.start : closedEnd }

    /// The start of the candle holding `time`: the open one's, without a division, for nearly every trade.
    private func start(of time: Int64) -> Int64 { interval.start(of: time, near: isOpen ? open.start : nil) }

    /// Adds one trade at its exchange time; a trade older than the open (or last closed) candle is left out (false).
    @discardableResult
    public mutating func add(price: Price, qty: Quantity, aggressor: Side, time: Int64) -> Bool {
        add(price: price, qty: qty, value: price * qty, aggressor: aggressor, time: time)
    }

    /// The same, with the trade's `price × qty` already made (the context feeds one trade to every series).
    @discardableResult
    public mutating func add(price: Price, qty: Quantity, value: FixedDecimal, aggressor: Side, time: Int64) -> Bool {
        let start = self.start(of: time)
        if start < openedAt { return false }
        advance(to: time)
        if !isOpen {
            open = Candle(start: start, end: start + interval.nanoseconds, open: price)
            isOpen = true
        }
        open.add(price: price, qty: qty, value: value, aggressor: aggressor)
        return true
    }

    /// Folds a closed candle of a finer interval (a backfill's minute, a closed second) into the candle of
    /// this interval that holds it; a candle older than the open one is left out (false).
    @discardableResult
    public mutating func add(closed candle: Candle) -> Bool {
        let start = self.start(of: candle.start)
        if start < openedAt { return false }
        advance(to: candle.start)
        if !isOpen {
            open = .bucket(start: start, end: start + interval.nanoseconds, like: candle)
            isOpen = true
        }
        open.merge(candle)
        return true
    }

    /// Whether a trade or tick at `time` is past the open candle (and closes it).
    func closes(at time: Int64) -> Bool { isOpen && time >= open.end }

    /// Closes the open candle now.
    mutating func closeOpen() {
        guard isOpen else { return }
        close(open)
        isOpen = false
    }

    /// Closes the open candle once `time` is past its end, and adds a flat candle (the previous close,
    /// zero volume) for every interval in between that had no trade.
    public mutating func advance(to time: Int64) {
        let target = self.start(of: time)
        if isOpen, open.start < target {
            close(open)
            isOpen = false
        }
        guard closedEnd < target, let last = closed.last else { return }
        // Past a gap longer than what is kept, only the kept flat candles are made.
        var start = max(last.end, target - Int64(keep) * interval.nanoseconds)
        while start < target {
            var flat = Candle(start: start, end: start + interval.nanoseconds, open: last.close)
            flat.volume = Quantity(mantissa: 0, scale: last.volume.scale)
            close(flat)
            start += interval.nanoseconds
        }
    }

    /// Closed candles, then the open one: the newest `count`.
    public func last(_ count: Int) -> [Candle] {
        Array((closed + (current.map { [$0] } ?? [])).suffix(count))
    }

    private mutating func close(_ candle: Candle) {
        closed.append(candle)
        closedEnd = candle.end
        if closed.count > keep * 2 { closed.removeFirst(closed.count - keep) }
    }
}
