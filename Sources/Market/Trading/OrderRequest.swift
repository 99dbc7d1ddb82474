/// What a client asks the exchange for: order types, time in force, and a new order.

/// Order types, spelled as Bybit's wire spells them.
public enum OrderType: String, Sendable, Codable {
    case limit = "Limit"
    case market = "Market"
}

/// Time-in-force values, spelled as Bybit's wire spells them.
public enum TimeInForce: String, Sendable, Codable {
    case gtc = "GTC"
    case ioc = "IOC"
    case fok = "FOK"
    case postOnly = "PostOnly"
}

/// A new order as a client asks for it; `orderLinkId` is the client's own id for it (Bybit's name,
/// at most 36 of letters, digits, `-` and `_`), which makes a resent request the same order.
public struct PlaceRequest: Sendable, Equatable {
    public var symbol: String
    public var side: Side
    public var type: OrderType
    public var qty: Quantity
    public var price: Price?
    public var timeInForce: TimeInForce
    public var orderLinkId: String
    public var reduceOnly: Bool

    public init(symbol: String, side: Side, type: OrderType, qty: Quantity, price: Price? = nil,
                timeInForce: TimeInForce = .gtc, orderLinkId: String = "", reduceOnly: Bool = false) {
        self.symbol = symbol
        self.side = side
        self.type = type
        self.qty = qty
        self.price = price
        self.timeInForce = timeInForce
        self.orderLinkId = orderLinkId
        self.reduceOnly = reduceOnly
    }
}
