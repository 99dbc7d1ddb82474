/// An order's lifecycle state as a venue reports it, venue-neutral: each exchange's parser maps its own
/// spelling (Bybit's `orderStatus`) to these.
public enum OrderState: String, Sendable, Equatable, CaseIterable {
    case new
    case partiallyFilled = "partially_filled"
    case filled
    case cancelled
    case partiallyFilledCanceled = "partially_filled_cancelled"
    case rejected
    /// A conditional order waiting for its trigger.
    case untriggered
    case triggered
    /// A conditional order cancelled before it triggered.
    case deactivated

    /// Still working on the book.
    public var isOpen: Bool { self == .new || self == .partiallyFilled || self == .untriggered || self == .triggered }
}

/// An order as the exchange reports it after a change.
public struct OrderUpdate: Sendable, Equatable {
    public var symbol: String
    public var orderId: String
    /// The client's id (Bybit `orderLinkId`); empty when the order was placed without one.
    public var clientId: String
    public var side: Side
    /// `Limit` or `Market`.
    public var orderType: String
    public var timeInForce: String
    public var price: Price
    public var qty: Quantity
    public var filledQty: Quantity
    public var averagePrice: Price?
    public var state: OrderState
    public var reduceOnly: Bool
    public var rejectReason: String
    public var cancelType: String
    public var createdTime: Int64
    public var updatedTime: Int64

    public init(symbol: String, orderId: String, clientId: String, side: Side, orderType: String, timeInForce: String,
                price: Price, qty: Quantity, filledQty: Quantity, averagePrice: Price?, state: OrderState, reduceOnly: Bool,
                rejectReason: String, cancelType: String, createdTime: Int64, updatedTime: Int64) {
        self.symbol = symbol
        self.orderId = orderId
        self.clientId = clientId
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.price = price
        self.qty = qty
        self.filledQty = filledQty
        self.averagePrice = averagePrice
        self.state = state
        self.reduceOnly = reduceOnly
        self.rejectReason = rejectReason
        self.cancelType = cancelType
        self.createdTime = createdTime
        self.updatedTime = updatedTime
    }
}

/// One execution of one order (Bybit `execution`): unique by `executionId`.
public struct Fill: Sendable, Equatable {
    public var symbol: String
    public var orderId: String
    public var clientId: String
    public var executionId: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var fee: FixedDecimal
    public var feeRate: FixedDecimal
    public var isMaker: Bool
    /// What the order still has open after this fill.
    public var leavesQty: Quantity
    /// How much of a position this fill closed.
    public var closedSize: Quantity
    public var time: Int64

    public init(symbol: String, orderId: String, clientId: String, executionId: String, side: Side, price: Price, qty: Quantity,
                fee: FixedDecimal, feeRate: FixedDecimal, isMaker: Bool, leavesQty: Quantity, closedSize: Quantity, time: Int64) {
        self.symbol = symbol
        self.orderId = orderId
        self.clientId = clientId
        self.executionId = executionId
        self.side = side
        self.price = price
        self.qty = qty
        self.fee = fee
        self.feeRate = feeRate
        self.isMaker = isMaker
        self.leavesQty = leavesQty
        self.closedSize = closedSize
        self.time = time
    }
}

/// A position as the exchange reports it; `size` is signed (long above zero).
public struct PositionUpdate: Sendable, Equatable {
    public var symbol: String
    public var size: Quantity
    public var entryPrice: Price
    public var markPrice: Price
    public var unrealisedPnl: FixedDecimal
    public var realisedPnl: FixedDecimal
    public var updatedTime: Int64

    public init(symbol: String, size: Quantity, entryPrice: Price, markPrice: Price, unrealisedPnl: FixedDecimal,
                realisedPnl: FixedDecimal, updatedTime: Int64) {
        self.symbol = symbol
        self.size = size
        self.entryPrice = entryPrice
        self.markPrice = markPrice
        self.unrealisedPnl = unrealisedPnl
        self.realisedPnl = realisedPnl
        self.updatedTime = updatedTime
    }
}

/// One coin of a wallet.
public struct WalletUpdate: Sendable, Equatable {
    public var coin: String
    public var walletBalance: FixedDecimal
    public var equity: FixedDecimal
    public var availableBalance: FixedDecimal
    public var unrealisedPnl: FixedDecimal
    public var time: Int64

    public init(coin: String, walletBalance: FixedDecimal, equity: FixedDecimal, availableBalance: FixedDecimal,
                unrealisedPnl: FixedDecimal, time: Int64) {
        self.coin = coin
        self.walletBalance = walletBalance
        self.equity = equity
        self.availableBalance = availableBalance
        self.unrealisedPnl = unrealisedPnl
        self.time = time
    }
}
