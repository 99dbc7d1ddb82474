import Market

/// One trade as `publicTrade` prints it.
public struct BybitTradePrint: Sendable, Equatable {
    public var time: Int64
    public var symbol: String
    /// The taker's side.
    public var side: Side
    public var qty: Quantity
    public var price: Price
    /// `PlusTick`, `ZeroPlusTick`, `MinusTick`, `ZeroMinusTick`.
    public var tickDirection: String
    public var tradeId: String
    public var sequence: Int64

    public init(time: Int64, symbol: String, side: Side, qty: Quantity, price: Price, tickDirection: String, tradeId: String, sequence: Int64) {
        self.time = time
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.tickDirection = tickDirection
        self.tradeId = tradeId
        self.sequence = sequence
    }
}

/// Builds Bybit V5 WebSocket messages exactly as Bybit writes them: compact JSON, numbers as
/// decimal strings of exact values, times in milliseconds. Pure; the caller passes every time.
public enum BybitEncode {
    static func milliseconds(_ nanoseconds: Int64) -> Int64 { nanoseconds / 1_000_000 }

    // MARK: Requests (client → Bybit)

    public static func subscribe(requestId: String, topics: [String], op: String = "subscribe") -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("req_id", requestId)
        out.field("op", op)
        out.key("args")
        out.beginArray()
        for topic in topics { out.string(topic) }
        out.endArray()
        out.endObject()
        return out.string
    }

    public static func ping(requestId: String) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("req_id", requestId)
        out.field("op", "ping")
        out.endObject()
        return out.string
    }

    public static func auth(requestId: String, apiKey: String, expires: Int64, signature: String) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("req_id", requestId)
        out.field("op", "auth")
        out.key("args")
        out.beginArray()
        out.string(apiKey)
        out.int(expires)
        out.string(signature)
        out.endArray()
        out.endObject()
        return out.string
    }

    // MARK: Answers (Bybit → client)

    /// `{"success":…,"ret_msg":…,"conn_id":…,"req_id":…,"op":…}`, the public and private streams' answer.
    public static func response(op: String, success: Bool, message: String, connectionId: String, requestId: String?) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("success", success)
        out.field("ret_msg", message)
        out.field("conn_id", connectionId)
        if let requestId { out.field("req_id", requestId) }
        out.field("op", op)
        out.endObject()
        return out.bytes
    }

    /// The linear pong: `{"success":true,"ret_msg":"pong",…,"op":"ping"}`.
    public static func pong(connectionId: String, requestId: String?) -> [UInt8] {
        response(op: "ping", success: true, message: "pong", connectionId: connectionId, requestId: requestId)
    }

    /// The private stream's pong: `{"req_id":…,"op":"pong","args":["<ms>"],"conn_id":…}`.
    public static func privatePong(connectionId: String, requestId: String?, time: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        if let requestId { out.field("req_id", requestId) }
        out.field("op", "pong")
        out.key("args")
        out.beginArray()
        out.string(String(milliseconds(time)))
        out.endArray()
        out.field("conn_id", connectionId)
        out.endObject()
        return out.bytes
    }

    /// The trade stream's pong: `{"reqId":…,"retCode":0,"retMsg":"OK","op":"pong","data":["<ms>"],"connId":…}`.
    public static func tradePong(connectionId: String, requestId: String?, time: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        if let requestId { out.field("reqId", requestId) }
        out.field("retCode", 0)
        out.field("retMsg", "OK")
        out.field("op", "pong")
        out.key("data")
        out.beginArray()
        out.string(String(milliseconds(time)))
        out.endArray()
        out.field("connId", connectionId)
        out.endObject()
        return out.bytes
    }

    // MARK: Public topics

    public static func orderbook(topic: BybitBookTopic, kind: DepthUpdate.Kind, bids: [PriceLevel], asks: [PriceLevel],
                                 updateId: Int64, sequence: Int64, systemTime: Int64, matchingTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 160 + 40 * (bids.count + asks.count))
        out.beginObject()
        out.field("topic", topic.description)
        out.field("type", kind.rawValue)
        out.field("ts", milliseconds(systemTime))
        out.key("data")
        out.beginObject()
        out.field("s", topic.symbol)
        out.key("b")
        out.priceLevels(bids)
        out.key("a")
        out.priceLevels(asks)
        out.field("u", updateId)
        out.field("seq", sequence)
        out.endObject()
        out.field("cts", milliseconds(matchingTime))
        out.endObject()
        return out.bytes
    }

    public static func publicTrades(symbol: String, trades: [BybitTradePrint], systemTime: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 96 + 200 * trades.count)
        out.beginObject()
        out.field("topic", "publicTrade.\(symbol)")
        out.field("type", "snapshot")
        out.field("ts", milliseconds(systemTime))
        out.key("data")
        out.beginArray()
        for trade in trades {
            out.beginObject()
            out.field("T", milliseconds(trade.time))
            out.field("s", trade.symbol)
            out.field("S", trade.side == .buy ? "Buy" : "Sell")
            out.key("v"); out.decimal(trade.qty)
            out.key("p"); out.decimal(trade.price)
            out.field("L", trade.tickDirection)
            out.field("i", trade.tradeId)
            out.field("BT", false)
            out.field("RPI", false)
            out.field("seq", trade.sequence)
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// A linear `tickers.{symbol}` message: `fields` are written in order as decimal strings (a
    /// delta carries only the fields that changed).
    public static func ticker(symbol: String, kind: DepthUpdate.Kind, fields: [(String, String)], crossSequence: Int64, systemTime: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("topic", "tickers.\(symbol)")
        out.field("type", kind.rawValue)
        out.key("data")
        out.beginObject()
        out.field("symbol", symbol)
        for (name, value) in fields { out.field(name, value) }
        out.endObject()
        out.field("cs", crossSequence)
        out.field("ts", milliseconds(systemTime))
        out.endObject()
        return out.bytes
    }

    /// A `kline.{interval}.{symbol}` message with one candle.
    public static func kline(interval: String, symbol: String, candle: Candle, confirmed: Bool, systemTime: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("topic", "kline.\(interval).\(symbol)")
        out.key("data")
        out.beginArray()
        out.beginObject()
        out.field("start", milliseconds(candle.start))
        out.field("end", milliseconds(candle.end) - 1)
        out.field("interval", interval)
        out.key("open"); out.decimal(candle.open)
        out.key("close"); out.decimal(candle.close)
        out.key("high"); out.decimal(candle.high)
        out.key("low"); out.decimal(candle.low)
        out.key("volume"); out.decimal(candle.volume)
        out.key("turnover"); out.decimal(candle.turnover)
        out.field("confirm", confirmed)
        out.field("timestamp", milliseconds(systemTime))
        out.endObject()
        out.endArray()
        out.field("ts", milliseconds(systemTime))
        out.field("type", "snapshot")
        out.endObject()
        return out.bytes
    }
}
