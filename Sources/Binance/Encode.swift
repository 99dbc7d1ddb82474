import Market

/// Builds Binance USD-M messages exactly as Binance writes them: compact JSON, prices and quantities as
/// decimal strings of exact values, times in milliseconds. Pure; the caller passes every time.
public enum BinanceEncode {
    static func milliseconds(_ nanoseconds: Int64) -> Int64 { nanoseconds / 1_000_000 }

    // MARK: Requests (client → Binance)

    /// `{"method":"SUBSCRIBE","params":[streams],"id":N}` (also `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`).
    public static func request(method: String, streams: [String], id: Int64) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("method", method)
        out.key("params")
        out.beginArray()
        for stream in streams { out.string(stream) }
        out.endArray()
        out.field("id", id)
        out.endObject()
        return out.string
    }

    // MARK: Answers and market data (Binance → client)

    /// A live request's `id`, echoed in its answer: a number, or a string (Binance's SDKs send UUIDs).
    public enum RequestId: Sendable, Equatable {
        case number(Int64)
        case text(String)
    }

    private static func write(_ id: RequestId?, _ out: inout JSONWriter) {
        out.key("id")
        switch id {
        case .number(let value)?: out.int(value)
        case .text(let value)?: out.string(value)
        case nil: out.null()
        }
    }

    /// The answer to a live request: `{"result":null,"id":N}`, or the list for `LIST_SUBSCRIPTIONS`.
    public static func result(id: RequestId?, streams: [String]? = nil) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.key("result")
        if let streams {
            out.beginArray()
            for stream in streams { out.string(stream) }
            out.endArray()
        } else {
            out.null()
        }
        write(id, &out)
        out.endObject()
        return out.bytes
    }

    /// A refused request: `{"error":{"code":2,"msg":"…"},"id":N}`.
    public static func error(code: Int, message: String, id: RequestId?) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.key("error")
        out.beginObject()
        out.field("code", code)
        out.field("msg", message)
        out.endObject()
        write(id, &out)
        out.endObject()
        return out.bytes
    }

    /// A combined-stream frame: `{"stream":"btcusdt@trade","data":{…}}`.
    public static func combined(stream: String, data: [UInt8]) -> [UInt8] {
        var out = JSONWriter(capacity: data.count + stream.utf8.count + 24)
        out.beginObject()
        out.field("stream", stream)
        out.key("data")
        out.raw(data)
        out.endObject()
        return out.bytes
    }

    /// `<symbol>@depth…`: the diff of update ids `U`…`u`, `pu` the previous event's `u` on that stream.
    public static func depthUpdate(symbol: String, firstUpdateId: Int64, lastUpdateId: Int64, previousUpdateId: Int64,
                                   bids: some Sequence<PriceLevel>, asks: some Sequence<PriceLevel>, eventTime: Int64, transactionTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 256)
        out.beginObject()
        out.field("e", "depthUpdate")
        out.field("E", milliseconds(eventTime))
        out.field("T", milliseconds(transactionTime))
        out.field("s", symbol)
        out.field("U", firstUpdateId)
        out.field("u", lastUpdateId)
        out.field("pu", previousUpdateId)
        out.key("b")
        out.priceLevels(bids)
        out.key("a")
        out.priceLevels(asks)
        out.endObject()
        return out.bytes
    }

    /// `<symbol>@trade`: `m` true when the buyer was the maker (the seller was the taker); `X` is
    /// `MARKET` for trades of the book.
    public static func trade(symbol: String, tradeId: Int64, price: Price, qty: Quantity, aggressor: Side, kind: String = "MARKET",
                             eventTime: Int64, tradeTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 160)
        out.beginObject()
        out.field("e", "trade")
        out.field("E", milliseconds(eventTime))
        out.field("T", milliseconds(tradeTime))
        out.field("s", symbol)
        out.field("t", tradeId)
        out.key("p"); out.decimal(price)
        out.key("q"); out.decimal(qty)
        out.field("X", kind)
        out.field("m", aggressor == .sell)
        out.endObject()
        return out.bytes
    }

    /// `<symbol>@aggTrade`: trades of one taker order at one price; the sim's each hold one trade (`f == l`).
    public static func aggregateTrade(symbol: String, aggregateId: Int64, tradeId: Int64, price: Price, qty: Quantity, aggressor: Side,
                                      eventTime: Int64, tradeTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 180)
        out.beginObject()
        out.field("e", "aggTrade")
        out.field("E", milliseconds(eventTime))
        out.field("s", symbol)
        out.field("a", aggregateId)
        out.key("p"); out.decimal(price)
        out.key("q"); out.decimal(qty)
        out.field("f", tradeId)
        out.field("l", tradeId)
        out.field("T", milliseconds(tradeTime))
        out.field("m", aggressor == .sell)
        out.endObject()
        return out.bytes
    }

    /// `<symbol>@bookTicker`: the best bid and ask with their sizes, `u` the book's update id.
    public static func bookTicker(symbol: String, updateId: Int64, bid: PriceLevel, ask: PriceLevel, eventTime: Int64, transactionTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 160)
        out.beginObject()
        out.field("e", "bookTicker")
        out.field("u", updateId)
        out.field("s", symbol)
        out.key("b"); out.decimal(bid.price)
        out.key("B"); out.decimal(bid.qty)
        out.key("a"); out.decimal(ask.price)
        out.key("A"); out.decimal(ask.qty)
        out.field("T", milliseconds(transactionTime))
        out.field("E", milliseconds(eventTime))
        out.endObject()
        return out.bytes
    }

    /// `GET /fapi/v1/depth`: `{"lastUpdateId","E","T","bids","asks"}`.
    public static func depthSnapshot(lastUpdateId: Int64, bids: some Sequence<PriceLevel>, asks: some Sequence<PriceLevel>,
                                     eventTime: Int64, transactionTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 4_096)
        out.beginObject()
        out.field("lastUpdateId", lastUpdateId)
        out.field("E", milliseconds(eventTime))
        out.field("T", milliseconds(transactionTime))
        out.key("bids")
        out.priceLevels(bids)
        out.key("asks")
        out.priceLevels(asks)
        out.endObject()
        return out.bytes
    }
}
