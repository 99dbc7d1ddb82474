import Market

/// Everything Keel can receive from Binance USD-M futures market data: stream events, whether raw
/// or wrapped as `{"stream","data"}`, and the REST depth snapshot.
public enum BinanceMessage: Sendable, Equatable {
    /// A `depthUpdate` diff: `firstUpdateId` = `U`, `lastUpdateId` = `u`, `previousUpdateId` = `pu`.
    case depth(DepthUpdate)
    /// A REST `/fapi/v1/depth` answer: kind `.snapshot`, `lastUpdateId` = its `lastUpdateId`.
    /// It names no symbol (`symbol` is empty); the caller knows which it asked for.
    case snapshot(DepthUpdate)
    /// A `trade` event of the order book (`X == "MARKET"`).
    case trade(TradeTick)
    /// A `trade` that did not print on the book (`X` is `INSURANCE_FUND`, `ADL`, `NA`): kept apart.
    case offBookTrade(TradeTick, kind: String)
    case bookTicker(TopOfBook)
    /// A subscription answer `{"result":…,"id":…}`.
    case response(id: Int64?)
    /// A well-formed event Keel does not model (`markPriceUpdate`, `aggTrade`, …).
    case other(event: String)
}
