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

    /// A candle whose figures are known (an exchange's kline, a stored row).
    public init(start: Int64, end: Int64, open: Price, high: Price, low: Price, close: Price, volume: Quantity, turnover: FixedDecimal) {
        self.init(start: start, end: end, open: open)
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.turnover = turnover
    }

    /// An empty candle of `[start, end)` that `merge`s will fill: `like`'s open, its volume's digits, its taker split.
    public static func bucket(start: Int64, end: Int64, like first: Candle) -> Candle {
        var candle = Candle(start: start, end: end, open: first.open)
        candle.volume = Quantity(mantissa: 0, scale: first.volume.scale)
        candle.takerSplit = first.takerSplit
        return candle
    }

    /// Adds one trade; `aggressor` is the taker's side, when known.
    public mutating func add(price: Price, qty: Quantity, aggressor: Side? = nil) {
        add(price: price, qty: qty, value: price * qty, aggressor: aggressor)
    }

    /// Adds one trade whose `price × qty` the caller already has (one product for every series it feeds).
    public mutating func add(price: Price, qty: Quantity, value: FixedDecimal, aggressor: Side?) {
        if price > high { high = price }
        if price < low { low = price }
        close = price
        volume += qty
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
