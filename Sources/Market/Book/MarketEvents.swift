/// One price level: an absolute size at a price. A size of zero deletes the level.
public struct PriceLevel: Sendable, Hashable {
    public var price: Price
    public var qty: Quantity

    @inlinable
    public init(price: Price, qty: Quantity) {
        self.price = price
        self.qty = qty
    }
}

/// A change to an L2 book as the exchange sent it, already parsed to exact decimals.
public struct DepthUpdate: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Replaces the whole book.
        case snapshot
        /// Sets absolute sizes at the given prices.
        case delta
    }

    public var symbol: String
    public var kind: Kind
    public var bids: [PriceLevel]
    public var asks: [PriceLevel]
    /// First update id covered by this message (Binance `U`; Bybit: same as `lastUpdateId`).
    public var firstUpdateId: Int64
    /// Last update id covered (Bybit `u`, Binance `u` or REST `lastUpdateId`).
    public var lastUpdateId: Int64
    /// The previous message's last id as the exchange states it (Binance `pu`), when it does.
    public var previousUpdateId: Int64?
    /// Cross-topic sequence (Bybit `seq`), when sent.
    public var sequence: Int64?
    /// Exchange time, UTC nanoseconds.
    public var exchangeTime: Int64
    /// Local receive time, UTC nanoseconds (0 when unknown).
    public var receiveTime: Int64

    public init(
        symbol: String, kind: Kind, bids: [PriceLevel] = [], asks: [PriceLevel] = [],
        firstUpdateId: Int64 = 0, lastUpdateId: Int64 = 0, previousUpdateId: Int64? = nil,
        sequence: Int64? = nil, exchangeTime: Int64 = 0, receiveTime: Int64 = 0
    ) {
        self.symbol = symbol
        self.kind = kind
        self.bids = bids
        self.asks = asks
        self.firstUpdateId = firstUpdateId
        self.lastUpdateId = lastUpdateId
        self.previousUpdateId = previousUpdateId
        self.sequence = sequence
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
    }
}

/// One public trade print.
public struct TradeTick: Sendable, Equatable {
    public var symbol: String
    public var price: Price
    public var qty: Quantity
    /// The taker's side: `.buy` when a buy order lifted the ask.
    public var aggressor: Side
    public var tradeId: String
    public var exchangeTime: Int64
    public var receiveTime: Int64

    public init(symbol: String, price: Price, qty: Quantity, aggressor: Side, tradeId: String,
                exchangeTime: Int64, receiveTime: Int64) {
        self.symbol = symbol
        self.price = price
        self.qty = qty
        self.aggressor = aggressor
        self.tradeId = tradeId
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
    }

    /// Whether the resting (maker) order was the buyer, as Binance's `m` says.
    public var isBuyerMaker: Bool { aggressor == .sell }
}

/// Best bid and ask as a top-of-book stream sends them (Binance `bookTicker`).
public struct TopOfBook: Sendable, Equatable {
    public var symbol: String
    public var bid: PriceLevel
    public var ask: PriceLevel
    public var updateId: Int64
    public var exchangeTime: Int64
    public var receiveTime: Int64

    public init(symbol: String, bid: PriceLevel, ask: PriceLevel, updateId: Int64, exchangeTime: Int64, receiveTime: Int64) {
        self.symbol = symbol
        self.bid = bid
        self.ask = ask
        self.updateId = updateId
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
    }
}
