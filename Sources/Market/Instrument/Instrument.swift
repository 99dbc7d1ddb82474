/// A tradable contract and the grid its prices and quantities live on.
public struct Instrument: Sendable, Hashable {
    public var symbol: String
    public var tickSize: Price
    public var qtyStep: Quantity
    public var minQty: Quantity
    /// The largest order the exchange takes (`lotSizeFilter.maxOrderQty`); nil: no limit known.
    public var maxQty: Quantity?
    /// The smallest order value, price × quantity, the exchange takes (`minNotionalValue`); nil: none known.
    public var minNotional: FixedDecimal?

    public init(symbol: String, tickSize: Price, qtyStep: Quantity, minQty: Quantity, maxQty: Quantity? = nil, minNotional: FixedDecimal? = nil) {
        self.symbol = symbol
        self.tickSize = tickSize
        self.qtyStep = qtyStep
        self.minQty = minQty
        self.maxQty = maxQty
        self.minNotional = minNotional
    }

    /// Whether `other` puts prices or quantities on another grid: tick, lot step or minimum quantity
    /// (values compared, `0.10 == 0.1`).
    public func gridDiffers(from other: Instrument) -> Bool {
        tickSize != other.tickSize || qtyStep != other.qtyStep || minQty != other.minQty
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

    /// `qty` capped at the maximum and rounded down to the lot step; `nil` when that falls below the
    /// minimum quantity.
    public func tradableQuantity(_ qty: Quantity) -> Quantity? {
        let capped = maxQty.map { Swift.min(qty, $0) } ?? qty
        guard let rounded = capped.rounded(toMultipleOf: qtyStep, .down), rounded >= minQty else { return nil }
        return rounded
    }

    /// Whether an order of `qty` at `price` reaches the minimum notional (always, when none is known).
    public func meetsMinimumNotional(price: Price, qty: Quantity) -> Bool {
        guard let minNotional, let value = price.multipliedReportingOverflow(by: qty) else { return minNotional == nil }
        return value >= minNotional
    }
}

/// Where a symbol stands on its exchange; only a `trading` symbol may be quoted. The names are Keel's
/// wire vocabulary (Bybit's spelling: `Trading`, `PreLaunch`, `Settling`, `Delivering`, `Closed`); a status
/// Keel does not know is kept as said, and is not trading.
public enum InstrumentStatus: Sendable, Hashable, CustomStringConvertible {
    case trading
    case preLaunch
    case settling
    case delivering
    case closed
    case other(String)

    public init(_ text: String) {
        switch text {
        case "Trading": self = .trading
        case "PreLaunch": self = .preLaunch
        case "Settling": self = .settling
        case "Delivering": self = .delivering
        case "Closed": self = .closed
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .trading: return "Trading"
        case .preLaunch: return "PreLaunch"
        case .settling: return "Settling"
        case .delivering: return "Delivering"
        case .closed: return "Closed"
        case .other(let text): return text
        }
    }
}
