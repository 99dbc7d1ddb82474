/// The bot's own lifecycle of an order, driven by what it sent and what the venue answered.
public enum OrderStatus: String, Sendable, Equatable, CaseIterable {
    case pendingNew = "pending_new"
    case new
    case partiallyFilled = "partially_filled"
    case filled
    case pendingCancel = "pending_cancel"
    case cancelled
    case rejected
    /// Sent, outcome not known (timeout, lost connection): resolved only by the venue's truth.
    case unknown

    public var isTerminal: Bool { self == .filled || self == .cancelled || self == .rejected }
}

/// One order as the bot knows it.
public struct TrackedOrder: Sendable, Equatable {
    public var clientId: String
    public var symbol: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var filledQty: Quantity = .zero
    public var averagePrice: Price?
    public var status: OrderStatus
    public var exchangeOrderId: String?
    public var createdTime: Int64
    public var updatedTime: Int64
    /// A price/qty change sent and not yet confirmed.
    public var pendingAmend: (price: Price?, qty: Quantity?)?
    public var reason: String = ""
    /// The time of the last venue update applied: an update older than that is stale. Local stamps
    /// (`updatedTime` of a cancel request) are on this machine's clock and never judge a venue's update:
    /// compared with them, a paper venue's answer a few ms behind the wall clock (or a live exchange's
    /// clock behind ours) was taken for stale and the order stayed `pending_cancel` for good.
    public var venueTime: Int64 = 0

    public init(clientId: String, symbol: String, side: Side, price: Price, qty: Quantity, status: OrderStatus,
                createdTime: Int64, updatedTime: Int64) {
        self.clientId = clientId
        self.symbol = symbol
        self.side = side
        self.price = price
        self.qty = qty
        self.status = status
        self.createdTime = createdTime
        self.updatedTime = updatedTime
    }

    public static func == (lhs: TrackedOrder, rhs: TrackedOrder) -> Bool {
        lhs.clientId == rhs.clientId && lhs.symbol == rhs.symbol && lhs.side == rhs.side && lhs.price == rhs.price && lhs.qty == rhs.qty
            && lhs.filledQty == rhs.filledQty && lhs.averagePrice == rhs.averagePrice && lhs.status == rhs.status
            && lhs.exchangeOrderId == rhs.exchangeOrderId && lhs.reason == rhs.reason
    }

    /// Counts against the per-side limit: working, on its way, cancel in flight, or not known.
    public var isLive: Bool { !status.isTerminal }
    public var remaining: Quantity { qty - filledQty }
}
