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
    public var trades = 0
    /// The part of `volume` (and of `turnover`) whose taker bought.
    public var buyVolume: Quantity = .zero
    public var buyTurnover: FixedDecimal = .zero
    /// False for a candle from an exchange's kline that carries no taker split (Bybit's: nor a trade
    /// count): its `buyVolume` and `trades` are unknown, not zero.
    public var takerSplit = true

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

    /// Adds one trade; `aggressor` is the taker's side, when known.
    public mutating func add(price: Price, qty: Quantity, aggressor: Side? = nil) {
        if price > high { high = price }
        if price < low { low = price }
        close = price
        volume += qty
        let value = price * qty
        turnover += value
        trades += 1
        if aggressor == .buy {
            buyVolume += qty
            buyTurnover += value
        }
    }

    /// Folds a later candle of the same bucket into this one.
    public mutating func merge(_ later: Candle) {
        if later.high > high { high = later.high }
        if later.low < low { low = later.low }
        close = later.close
        volume += later.volume
        turnover += later.turnover
        trades += later.trades
        buyVolume += later.buyVolume
        buyTurnover += later.buyTurnover
        takerSplit = takerSplit && later.takerSplit
    }
}
