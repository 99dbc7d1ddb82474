/// A tradable contract and the grid its prices and quantities live on.
public struct Instrument: Sendable, Hashable {
    public var symbol: String
    public var tickSize: Price
    public var qtyStep: Quantity
    public var minQty: Quantity

    public init(symbol: String, tickSize: Price, qtyStep: Quantity, minQty: Quantity) {
        self.symbol = symbol
        self.tickSize = tickSize
        self.qtyStep = qtyStep
        self.minQty = minQty
    }

    /// Whether `price` lies on the tick grid.
    public func isOnTick(_ price: Price) -> Bool {
        price.rounded(toMultipleOf: tickSize, .down) == price
    }

    /// `price` rounded onto the tick grid away from the touch: bids down, asks up, so a quote never
    /// becomes more aggressive than asked.
    public func passivePrice(_ price: Price, side: Side) -> Price? {
        price.rounded(toMultipleOf: tickSize, side == .buy ? .floor : .ceiling)
    }

    /// `qty` rounded down to the lot step; `nil` when that falls below the minimum quantity.
    public func tradableQuantity(_ qty: Quantity) -> Quantity? {
        guard let rounded = qty.rounded(toMultipleOf: qtyStep, .down), rounded >= minQty else { return nil }
        return rounded
    }
}
