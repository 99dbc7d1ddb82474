import Market

/// One order request as Bybit V5 takes it, on the trade stream (`order.create|amend|cancel`) or over
/// REST (`/v5/order/create|amend|cancel|cancel-all`). Orders are always named by `orderLinkId`, the
/// client's own id, so a request sent twice can never make a second order (Bybit answers 110072).
public enum BybitOrderRequest: Sendable, Equatable {
    case create(PlaceRequest)
    case amend(symbol: String, orderLinkId: String, qty: Quantity?, price: Price?)
    case cancel(symbol: String, orderLinkId: String)
    /// REST only (the trade stream has no cancel-all); no symbol means every USDT-settled order.
    case cancelAll(symbol: String?)

    /// The trade-stream op, `nil` for requests only REST knows.
    public var op: String? {
        switch self {
        case .create: return "order.create"
        case .amend: return "order.amend"
        case .cancel: return "order.cancel"
        case .cancelAll: return nil
        }
    }

    public var restPath: String {
        switch self {
        case .create: return "/v5/order/create"
        case .amend: return "/v5/order/amend"
        case .cancel: return "/v5/order/cancel"
        case .cancelAll: return "/v5/order/cancel-all"
        }
    }

    public var symbol: String? {
        switch self {
        case .create(let order): return order.symbol
        case .amend(let symbol, _, _, _), .cancel(let symbol, _): return symbol
        case .cancelAll(let symbol): return symbol
        }
    }

    /// The order's client id (`nil` for cancel-all).
    public var orderLinkId: String? {
        switch self {
        case .create(let order): return order.orderLinkId
        case .amend(_, let link, _, _), .cancel(_, let link): return link
        case .cancelAll: return nil
        }
    }

    /// The parameters object: a REST body, or the one element of a trade-stream `args`.
    public func write(to out: inout JSONWriter) {
        out.beginObject()
        out.field("category", "linear")
        switch self {
        case .create(let order):
            out.field("symbol", order.symbol)
            out.field("side", order.side == .buy ? "Buy" : "Sell")
            out.field("orderType", order.type.rawValue)
            out.key("qty"); out.decimal(order.qty)
            if let price = order.price, order.type == .limit { out.key("price"); out.decimal(price) }
            out.field("timeInForce", order.timeInForce.rawValue)
            out.field("orderLinkId", order.orderLinkId)
            if order.reduceOnly { out.field("reduceOnly", true) }
        case .amend(let symbol, let link, let qty, let price):
            out.field("symbol", symbol)
            out.field("orderLinkId", link)
            if let qty { out.key("qty"); out.decimal(qty) }
            if let price { out.key("price"); out.decimal(price) }
        case .cancel(let symbol, let link):
            out.field("symbol", symbol)
            out.field("orderLinkId", link)
        case .cancelAll(let symbol):
            if let symbol { out.field("symbol", symbol) } else { out.field("settleCoin", "USDT") }
        }
        out.endObject()
    }

    /// The REST body.
    public var body: String {
        var out = JSONWriter()
        write(to: &out)
        return out.string
    }
}

extension BybitEncode {
    /// A trade-stream request: `{"reqId","header":{"X-BAPI-TIMESTAMP","X-BAPI-RECV-WINDOW"},"op","args":[{…}]}`.
    /// `timestamp` is UTC nanoseconds (sent as milliseconds).
    public static func tradeRequest(requestId: String, _ request: BybitOrderRequest, timestamp: Int64, recvWindow: Int64 = 5_000) -> String? {
        guard let op = request.op else { return nil }
        var out = JSONWriter()
        out.beginObject()
        out.field("reqId", requestId)
        out.key("header")
        out.beginObject()
        out.field("X-BAPI-TIMESTAMP", String(milliseconds(timestamp)))
        out.field("X-BAPI-RECV-WINDOW", String(recvWindow))
        out.endObject()
        out.field("op", op)
        out.key("args")
        out.beginArray()
        request.write(to: &out)
        out.endArray()
        out.endObject()
        return out.string
    }
}

/// The order rate-limit budget Bybit reports (`X-Bapi-Limit`, `X-Bapi-Limit-Status`,
/// `X-Bapi-Limit-Reset-Timestamp`), on REST answers as headers and on trade acks in `header`.
public struct BybitRateLimit: Sendable, Equatable {
    public var limit: Int
    public var remaining: Int
    /// When the window resets, UTC nanoseconds.
    public var resetTime: Int64

    public init(limit: Int, remaining: Int, resetTime: Int64) {
        self.limit = limit
        self.remaining = remaining
        self.resetTime = resetTime
    }

    /// Reads the three headers (names compared without case); `nil` unless all three are there.
    public init?(header: (String) -> String?) {
        guard let limit = header("X-Bapi-Limit").flatMap({ Int($0) }),
              let remaining = header("X-Bapi-Limit-Status").flatMap({ Int($0) }),
              let reset = header("X-Bapi-Limit-Reset-Timestamp").flatMap({ Int64($0) }) else { return nil }
        self.init(limit: limit, remaining: remaining, resetTime: UTCTime.fromMilliseconds(reset))
    }
}

/// An answer on the trade stream: an order op's ack, or the answer to `auth` / `ping`.
public struct BybitTradeAck: Sendable, Equatable {
    public var op: String
    public var requestId: String?
    public var retCode: Int
    public var retMessage: String
    public var orderId: String?
    public var orderLinkId: String?
    public var rateLimit: BybitRateLimit?

    public var success: Bool { retCode == 0 }

    /// Decodes one trade-stream message.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> BybitTradeAck {
        var scanner = JSONScanner(bytes)
        var ack = BybitTradeAck(op: "", requestId: nil, retCode: 0, retMessage: "")
        var header: [String: String] = [:]
        var sawOp = false
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            if key.equals("op") {
                ack.op = try scanner.readString().string
                sawOp = true
            } else if key.equals("reqId") {
                if try scanner.peekKind() == .number { ack.requestId = String(try scanner.readInt64()) } else if try !scanner.readNullIfPresent() {
                    ack.requestId = try scanner.readString().string
                }
            } else if key.equals("retCode") {
                ack.retCode = Int(try scanner.readInt64())
            } else if key.equals("retMsg") {
                ack.retMessage = try scanner.readString().string
            } else if key.equals("data"), try scanner.peekKind() == .object {
                let data = try scanner.readFlatObject()
                ack.orderId = data.string("orderId")
                ack.orderLinkId = data.string("orderLinkId")
            } else if key.equals("header"), try scanner.peekKind() == .object {
                header = try scanner.readFlatObject().fields
            } else {
                try scanner.skipValue()
            }
        }
        try scanner.finish()
        guard sawOp else { throw JSONError(.missingField("op"), at: scanner.offset) }
        ack.rateLimit = BybitRateLimit { name in header.first { $0.key.lowercased() == name.lowercased() }?.value }
        return ack
    }
}

/// One symbol of `/v5/market/instruments-info`: its grid, and its `status`.
public struct BybitInstrument: Sendable, Equatable {
    public var instrument: Instrument
    public var status: InstrumentStatus

    public init(instrument: Instrument, status: InstrumentStatus) {
        self.instrument = instrument
        self.status = status
    }
}

/// A Bybit REST answer: `{"retCode","retMsg","result":{…},"retExtInfo","time"}`. The result's `list`
/// (and a wallet's nested `coin` lists) are kept as flat objects.
public struct BybitRestAnswer: Sendable, Equatable {
    public var retCode: Int
    public var retMessage: String
    public var result: FlatJSONObject
    public var time: Int64

    public var success: Bool { retCode == 0 }
    public var list: [FlatJSONObject] { result.arrays["list"] ?? [] }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> BybitRestAnswer {
        var scanner = JSONScanner(bytes)
        var answer = BybitRestAnswer(retCode: 0, retMessage: "", result: FlatJSONObject(), time: 0)
        var sawCode = false
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            if key.equals("retCode") {
                answer.retCode = Int(try scanner.readInt64())
                sawCode = true
            } else if key.equals("retMsg") {
                answer.retMessage = try scanner.readString().string
            } else if key.equals("result"), try scanner.peekKind() == .object {
                answer.result = try scanner.readFlatObject(nested: ["list", "coin", "priceFilter", "lotSizeFilter"])
            } else if key.equals("time") {
                answer.time = UTCTime.fromMilliseconds(try scanner.readInt64())
            } else {
                try scanner.skipValue()
            }
        }
        try scanner.finish()
        guard sawCode else { throw JSONError(.missingField("retCode"), at: scanner.offset) }
        return answer
    }

    public static func decode(_ bytes: [UInt8]) throws(JSONError) -> BybitRestAnswer {
        let result: Result<BybitRestAnswer, JSONError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONError) { return .success(try decode(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The `list` of `/v5/order/realtime` as Keel's order updates.
    public func orders() throws(JSONError) -> [OrderUpdate] {
        try mapped(BybitPrivateDecoder.order)
    }

    /// The `list` of `/v5/position/list`.
    public func positions() throws(JSONError) -> [PositionUpdate] {
        try mapped { try BybitPrivateDecoder.position($0, time: time) }
    }

    /// The `list` of `/v5/account/wallet-balance`.
    public func wallets() throws(JSONError) -> [WalletUpdate] {
        try mapped { try BybitPrivateDecoder.wallets($0, time: time) }.flatMap { $0 }
    }

    /// The `list` of `/v5/market/instruments-info`: each symbol's grid and trading status.
    public func instruments() throws(JSONError) -> [BybitInstrument] {
        try mapped { item in
            guard let symbol = item.string("symbol") else { throw JSONError(.missingField("symbol"), at: 0) }
            func required(_ key: String) throws -> FixedDecimal {
                guard let value = try item.decimal(key) else { throw JSONError(.missingField(key), at: 0) }
                return value
            }
            let instrument = Instrument(symbol: symbol, tickSize: try required("priceFilter.tickSize"),
                                        qtyStep: try item.decimal("lotSizeFilter.qtyStep") ?? required("lotSizeFilter.basePrecision"),
                                        minQty: try required("lotSizeFilter.minOrderQty"), maxQty: try item.decimal("lotSizeFilter.maxOrderQty"),
                                        minNotional: try item.decimal("lotSizeFilter.minNotionalValue") ?? item.decimal("lotSizeFilter.minOrderAmt"))
            return BybitInstrument(instrument: instrument, status: InstrumentStatus(item.string("status") ?? ""))
        }
    }

    private func mapped<T>(_ transform: (FlatJSONObject) throws -> T) throws(JSONError) -> [T] {
        do {
            return try list.map(transform)
        } catch let error as JSONError {
            throw error
        } catch {
            throw JSONError(.invalidValue(field: "\(error)"), at: 0)
        }
    }
}
