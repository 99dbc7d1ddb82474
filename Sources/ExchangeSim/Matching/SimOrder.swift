import Market

/// Who owns an order: an account (by API key) or the simulated market flow.
public enum OrderOwner: Sendable, Hashable {
    case account(String)
    case flow
}

/// One order as the simulator's matching engine holds it.
public struct SimOrder: Sendable, Equatable {
    public var orderId: String
    public var orderLinkId: String
    public var owner: OrderOwner
    public var symbol: String
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// The limit price; for a market order the worst price it filled at (Bybit reports one too).
    public var price: Price
    public var qty: Quantity
    public var filledQty: Quantity = .zero
    /// Sum of price × qty over fills.
    public var filledValue: FixedDecimal = .zero
    public var fees: FixedDecimal = .zero
    public var status: OrderState = .new
    public var reduceOnly: Bool
    /// Bybit's `rejectReason` (`EC_NoError` unless rejected or cancelled by the engine).
    public var rejectReason = "EC_NoError"
    /// Bybit's `cancelType` (`UNKNOWN` unless cancelled).
    public var cancelType = "UNKNOWN"
    public var createdTime: Int64
    public var updatedTime: Int64

    public var leavesQty: Quantity { qty - filledQty }

    /// Average fill price at the instrument's tick decimals plus four, or `nil` before any fill.
    public func averagePrice(scale: UInt8) -> Price? {
        guard !filledQty.isZero else { return nil }
        return filledValue.divided(by: filledQty, scale: scale, rounding: .halfEven)
    }
}

/// Which order a client means: by exchange id or by its own link id.
public enum OrderReference: Sendable, Equatable {
    case orderId(String)
    case orderLinkId(String)
}

/// A refusal with Bybit's `retCode` and a message in Bybit's manner.
public struct SimError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func parameter(_ message: String) -> SimError { SimError(10001, message) }
    public static let orderNotFound = SimError(110001, "Order does not exist")
    public static let qtyTruncatedToZero = SimError(110017, "orderQty will be truncated to zero")
    public static let insufficientBalance = SimError(110007, "Available balance is insufficient")
    public static let duplicateLinkId = SimError(110072, "OrderLinkedID is duplicate")
    public static let notionalTooSmall = SimError(110094, "Order notional value below the lower limit")
}

/// One fill of one order: Keel's `Fill`, plus what the simulator needs to route and report it.
@dynamicMemberLookup
public struct SimExecution: Sendable, Equatable {
    public var fill: Fill
    public var owner: OrderOwner
    public var orderType: OrderType
    public var orderQty: Quantity
    /// The PnL the fill realised on the part that closed a position (before fees), and that part's entry price.
    public var closedPnl: FixedDecimal = .zero
    public var entryPrice: Price = .zero

    public subscript<Value>(dynamicMember keyPath: KeyPath<Fill, Value>) -> Value { fill[keyPath: keyPath] }
}

/// A print on the public tape.
public struct SimTrade: Sendable, Equatable {
    public var tradeId: String
    public var symbol: String
    /// The taker's side.
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var time: Int64
}

/// What one engine call produced, for the streams to publish.
public struct EngineEvents: Sendable, Equatable {
    /// Orders as they stand after the call, in the order they changed (an order may appear twice).
    public var orders: [SimOrder] = []
    public var executions: [SimExecution] = []
    public var trades: [SimTrade] = []
    /// Accounts whose position or wallet changed.
    public var touchedAccounts: Set<String> = []

    public init() {}

    mutating func merge(_ other: EngineEvents) {
        orders += other.orders
        executions += other.executions
        trades += other.trades
        touchedAccounts.formUnion(other.touchedAccounts)
    }
}
