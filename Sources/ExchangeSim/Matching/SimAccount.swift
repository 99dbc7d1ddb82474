import Market

/// A linear position, netted (one-way mode): `size` is signed, long above zero.
public struct SimPosition: Sendable, Equatable {
    public var symbol: String
    public var size: Quantity = .zero
    public var averageEntryPrice: Price = .zero
    public var realisedPnl: FixedDecimal = .zero
    public var updatedTime: Int64 = 0

    public init(symbol: String) {
        self.symbol = symbol
    }

    /// Bybit's `side` of a position: `Buy`, `Sell`, or empty when flat.
    public var side: String { size.isZero ? "" : (size.isNegative ? "Sell" : "Buy") }
}

/// A simulated USDT account: wallet, fees, positions per symbol.
public struct SimAccount: Sendable, Equatable {
    public var apiKey: String
    public var walletBalance: FixedDecimal
    public var makerFeeRate: FixedDecimal
    public var takerFeeRate: FixedDecimal
    public var leverage: FixedDecimal
    public var positions: [String: SimPosition] = [:]

    public init(apiKey: String, walletBalance: FixedDecimal, makerFeeRate: FixedDecimal,
                takerFeeRate: FixedDecimal, leverage: FixedDecimal = FixedDecimal(10)) {
        self.apiKey = apiKey
        self.walletBalance = walletBalance
        self.makerFeeRate = makerFeeRate
        self.takerFeeRate = takerFeeRate
        self.leverage = leverage
    }

    public func position(_ symbol: String) -> SimPosition { positions[symbol] ?? SimPosition(symbol: symbol) }

    /// Books one fill: nets it into the position, realises PnL on the part that closes, pays the fee.
    /// Returns the closed size. `priceScale` is the decimals kept for the average entry price.
    @discardableResult
    mutating func applyFill(symbol: String, side: Side, price: Price, qty: Quantity, fee: FixedDecimal,
                            priceScale: UInt8, time: Int64) -> Quantity {
        var position = self.position(symbol)
        let signed = side == .buy ? qty : -qty
        var closed = Quantity.zero
        if position.size.isZero || position.size.isNegative == signed.isNegative {
            let newSize = position.size + signed
            let total = position.averageEntryPrice * abs(position.size) + price * qty
            position.averageEntryPrice = total.divided(by: abs(newSize), scale: priceScale, rounding: .halfEven) ?? price
            position.size = newSize
        } else {
            closed = Swift.min(abs(position.size), qty)
            let perUnit = position.size.isNegative ? position.averageEntryPrice - price : price - position.averageEntryPrice
            let pnl = perUnit * closed
            position.realisedPnl += pnl
            walletBalance += pnl
            position.size = position.size + signed
            if position.size.isZero {
                position.averageEntryPrice = .zero
            } else if qty > closed {
                position.averageEntryPrice = price   // flipped: the rest opened at this price
            }
        }
        walletBalance -= fee
        position.updatedTime = time
        positions[symbol] = position
        return closed
    }
}

func abs(_ value: FixedDecimal) -> FixedDecimal { value.isNegative ? -value : value }
