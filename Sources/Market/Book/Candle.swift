/// An OHLCV candle over `[start, end)` (UTC ns), with exact prices and sums.
public struct Candle: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    /// Sum of price × qty.
    public var turnover: FixedDecimal

    public init(start: Int64, end: Int64, open: Price) {
        self.start = start
        self.end = end
        self.open = open
        high = open
        low = open
        close = open
        volume = .zero
        turnover = .zero
    }

    /// Adds one trade.
    public mutating func add(price: Price, qty: Quantity) {
        if price > high { high = price }
        if price < low { low = price }
        close = price
        volume += qty
        turnover += price * qty
    }
}
