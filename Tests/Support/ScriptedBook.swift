import Market

/// Market events for scripted strategy tests: a trusted snapshot of one level a side.
public enum ScriptedBook {
    /// A trusted depth snapshot of `symbol` with `bid` × `bidQty` and `ask` × `askQty`, at `time` (exchange and receive).
    public static func depth(_ symbol: String, bid: String, ask: String, bidQty: String = "1", askQty: String = "1", time: Int64) -> MarketEvent {
        func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
        let update = DepthUpdate(symbol: symbol, kind: .snapshot, bids: [PriceLevel(price: d(bid), qty: d(bidQty))],
                                 asks: [PriceLevel(price: d(ask), qty: d(askQty))], exchangeTime: time, receiveTime: time)
        var book = OrderBook()
        try! book.apply(update)
        return .depth(TrustedDepth(update: update, cause: .snapshot, book: book, depthLimit: 50))
    }
}
