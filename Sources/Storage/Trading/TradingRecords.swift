import Market

/// What the bot keeps of its trading, one value per row. Prices, quantities and money stay exact:
/// SQLite stores them as the exchange's decimal text, PostgreSQL as `NUMERIC`. Times are Unix nanoseconds.
public enum TradingRecord: Sendable, Equatable {
    /// A bot run began (`venue` paper or live).
    case runStarted(run: String, venue: String, symbol: String, time: Int64)
    case runEnded(run: String, time: Int64)
    /// The order as it stands now (one row per client id, replaced on every change).
    case order(OrderRecord)
    /// One step in an order's life: submitted, acknowledged, an exchange update, a cancel request, …
    case orderEvent(OrderEventRecord)
    /// One execution; the same execution id twice is stored once.
    case fill(FillRecord)
    case position(PositionRecord)
    case pnl(PnLRecord)
    case risk(RiskEventRecord)
    /// A closed 1-minute candle of an exchange's symbol (a backfill's or the live context's); the same
    /// minute again replaces it.
    case candle(exchange: String, symbol: String, Candle)
    /// A fill's markout: the mid's move `horizon_s` after it, signed good-for-us, in bp.
    case markout(executionId: String, side: Side, horizonSeconds: Int, bps: Double, time: Int64)

    /// Snapshots may be dropped when the writer's queue is full; everything else is always kept.
    public var isSnapshot: Bool {
        switch self {
        case .position, .pnl: true
        default: false
        }
    }

    /// The table a record lands in (for counts and metrics).
    public var table: String {
        switch self {
        case .runStarted, .runEnded: "runs"
        case .order: "orders"
        case .orderEvent: "order_events"
        case .fill: "fills"
        case .position: "positions"
        case .pnl: "pnl_snapshots"
        case .risk: "risk_events"
        case .candle: "candles"
        case .markout: "markouts"
        }
    }
}

public struct OrderRecord: Sendable, Equatable {
    public var clientId: String
    public var run: String
    public var symbol: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var filledQty: Quantity
    public var averagePrice: Price?
    public var status: String
    public var exchangeOrderId: String?
    public var reason: String
    public var createdTime: Int64
    public var updatedTime: Int64

    public init(clientId: String, run: String, symbol: String, side: Side, price: Price, qty: Quantity, filledQty: Quantity,
                averagePrice: Price?, status: String, exchangeOrderId: String?, reason: String, createdTime: Int64, updatedTime: Int64) {
        self.clientId = clientId
        self.run = run
        self.symbol = symbol
        self.side = side
        self.price = price
        self.qty = qty
        self.filledQty = filledQty
        self.averagePrice = averagePrice
        self.status = status
        self.exchangeOrderId = exchangeOrderId
        self.reason = reason
        self.createdTime = createdTime
        self.updatedTime = updatedTime
    }
}

public struct OrderEventRecord: Sendable, Equatable {
    public var clientId: String
    public var time: Int64
    /// submitted, amend_requested, cancel_requested, acknowledged, refused, unknown, update, reconciled, foreign
    public var event: String
    public var status: String
    public var price: Price?
    public var qty: Quantity?
    public var filledQty: Quantity?
    public var detail: String

    public init(clientId: String, time: Int64, event: String, status: String, price: Price? = nil, qty: Quantity? = nil,
                filledQty: Quantity? = nil, detail: String = "") {
        self.clientId = clientId
        self.time = time
        self.event = event
        self.status = status
        self.price = price
        self.qty = qty
        self.filledQty = filledQty
        self.detail = detail
    }
}

public struct FillRecord: Sendable, Equatable {
    public var executionId: String
    public var clientId: String
    public var orderId: String
    public var run: String
    public var symbol: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var fee: FixedDecimal
    public var isMaker: Bool
    public var time: Int64

    public init(executionId: String, clientId: String, orderId: String, run: String, symbol: String, side: Side, price: Price,
                qty: Quantity, fee: FixedDecimal, isMaker: Bool, time: Int64) {
        self.executionId = executionId
        self.clientId = clientId
        self.orderId = orderId
        self.run = run
        self.symbol = symbol
        self.side = side
        self.price = price
        self.qty = qty
        self.fee = fee
        self.isMaker = isMaker
        self.time = time
    }
}

public struct PositionRecord: Sendable, Equatable {
    public var run: String
    public var symbol: String
    public var time: Int64
    /// Signed: long above zero.
    public var size: Quantity
    public var averageEntry: Price?

    public init(run: String, symbol: String, time: Int64, size: Quantity, averageEntry: Price?) {
        self.run = run
        self.symbol = symbol
        self.time = time
        self.size = size
        self.averageEntry = averageEntry
    }
}

public struct PnLRecord: Sendable, Equatable {
    public var run: String
    public var symbol: String
    public var time: Int64
    public var realised: FixedDecimal
    public var unrealised: FixedDecimal
    public var fees: FixedDecimal
    public var net: FixedDecimal
    public var mark: Price?

    public init(run: String, symbol: String, time: Int64, realised: FixedDecimal, unrealised: FixedDecimal, fees: FixedDecimal,
                net: FixedDecimal, mark: Price?) {
        self.run = run
        self.symbol = symbol
        self.time = time
        self.realised = realised
        self.unrealised = unrealised
        self.fees = fees
        self.net = net
        self.mark = mark
    }
}

public struct RiskEventRecord: Sendable, Equatable {
    public var run: String
    public var time: Int64
    public var from: String
    public var to: String
    public var reasons: String

    public init(run: String, time: Int64, from: String, to: String, reasons: String) {
        self.run = run
        self.time = time
        self.from = from
        self.to = to
        self.reasons = reasons
    }
}
