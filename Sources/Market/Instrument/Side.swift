/// The side of an order or of a trade's taker (aggressor).
public enum Side: String, Sendable, Hashable, CaseIterable {
    case buy
    case sell

    public var opposite: Side { self == .buy ? .sell : .buy }

    /// The side of the book an order of this side rests on: a buy among the bids, a sell among the asks.
    public var bookSide: BookSide { self == .buy ? .bid : .ask }
}

/// One side of an order book: bids (buy orders) or asks (sell orders).
public enum BookSide: String, Sendable, Hashable, CaseIterable {
    case bid
    case ask
}
