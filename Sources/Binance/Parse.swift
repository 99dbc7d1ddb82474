import Market

/// Decodes Binance USD-M market data with the shared `JSONScanner`. Keys may come in any order;
/// `b`/`a` are level arrays in a `depthUpdate` and single prices in a `bookTicker`, told apart by
/// the value itself. Pure; time comes in with the bytes.
public struct BinanceDecoder: Sendable {
    private var symbols = SymbolTable()

    public init() {}

    public mutating func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64) throws(JSONError) -> BinanceMessage {
        if let message = readAsWritten(bytes, receiveTime: receiveTime) { return message }
        var scanner = JSONScanner(bytes)
        let message = try readObject(&scanner, receiveTime: receiveTime, nested: false)
        try scanner.finish()
        return message
    }

    /// A depth diff or a trade laid out as Binance writes them — raw or in the combined stream's envelope,
    /// the keys in their order, no spaces — read with the keys matched as literals and each value by the
    /// reader `readObject` uses for it. `nil` at the first difference or error: `readObject` then reads the
    /// message (and names the error). On the shared capture every diff and trade is read here.
    mutating func readAsWritten(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64) -> BinanceMessage? {
        var scanner = JSONScanner(bytes)
        let wrapped = scanner.consume("{\"stream\":")
        if wrapped {
            guard (try? scanner.readString()) != nil, scanner.consume(#","data":{"e":""#) else { return nil }
        } else {
            guard scanner.consume(#"{"e":""#) else { return nil }
        }
        let message: BinanceMessage?
        if scanner.consume(#"depthUpdate","E":"#) {
            message = try? readDepthAsWritten(&scanner, receiveTime: receiveTime)
        } else if scanner.consume(#"trade","E":"#) {
            message = try? readTradeAsWritten(&scanner, receiveTime: receiveTime)
        } else {
            return nil
        }
        guard let message, scanner.consume(wrapped ? "}}" : "}"), scanner.isAtEnd else { return nil }
        return message
    }

    /// `E,"T","s"`, how a diff and a trade begin (`E` next): the transaction time and the symbol.
    private mutating func readHeadAsWritten(_ scanner: inout JSONScanner) throws(JSONError) -> (time: Int64, symbol: String)? {
        _ = try scanner.readInt64()
        guard scanner.consume(#","T":"#) else { return nil }
        let time = try scanner.readInt64()
        guard scanner.consume(#","s":"#) else { return nil }
        return (time, symbols.intern(try scanner.readString().bytes))
    }

    /// `E,"T","s","U","u","pu","b","a"` of a `depthUpdate`, its `E` next.
    private mutating func readDepthAsWritten(_ scanner: inout JSONScanner, receiveTime: Int64) throws(JSONError) -> BinanceMessage? {
        guard let (time, symbol) = try readHeadAsWritten(&scanner), scanner.consume(#","U":"#) else { return nil }
        let first = try scanner.readInt64()
        guard scanner.consume(#","u":"#) else { return nil }
        let last = try scanner.readInt64()
        guard scanner.consume(#","pu":"#) else { return nil }
        let previous = try scanner.readInt64()
        guard scanner.consume(#","b":"#) else { return nil }
        let bids = try scanner.readPriceLevels()
        guard scanner.consume(#","a":"#) else { return nil }
        let asks = try scanner.readPriceLevels()
        return .depth(DepthUpdate(
            symbol: symbol, kind: .delta, bids: bids, asks: asks,
            firstUpdateId: first, lastUpdateId: last, previousUpdateId: previous,
            exchangeTime: UTCTime.fromMilliseconds(time), receiveTime: receiveTime
        ))
    }

    /// `E,"T","s","t","p","q","X","m"` of a `trade`, its `E` next.
    private mutating func readTradeAsWritten(_ scanner: inout JSONScanner, receiveTime: Int64) throws(JSONError) -> BinanceMessage? {
        guard let (time, symbol) = try readHeadAsWritten(&scanner), scanner.consume(#","t":"#) else { return nil }
        let tradeId = try scanner.readInt64()
        guard scanner.consume(#","p":"#) else { return nil }
        let price = try scanner.readDecimal()
        guard scanner.consume(#","q":"#) else { return nil }
        let qty = try scanner.readDecimal()
        guard scanner.consume(#","X":"#) else { return nil }
        let kind = try scanner.readString()
        guard !kind.hasEscapes, scanner.consume(#","m":"#) else { return nil }
        let buyerIsMaker = try scanner.readBool()
        let tick = TradeTick(symbol: symbol, price: price, qty: qty, aggressor: buyerIsMaker ? .sell : .buy,
                             tradeId: String(tradeId), exchangeTime: UTCTime.fromMilliseconds(time), receiveTime: receiveTime)
        return kind.equals("MARKET") ? .trade(tick) : .offBookTrade(tick, kind: kind.string)
    }

    private struct Fields {
        var event: JSONString?
        var eventTime: Int64?
        var transactionTime: Int64?
        var symbol: String?
        var firstId: Int64?
        var lastId: Int64?
        var previousId: Int64?
        var bids: [PriceLevel]?
        var asks: [PriceLevel]?
        var bidPrice: Price?
        var bidQty: Quantity?
        var askPrice: Price?
        var askQty: Quantity?
        var tradeId: Int64?
        var price: Price?
        var qty: Quantity?
        var buyerIsMaker: Bool?
        var tradeKind: String?
        var snapshotId: Int64?
        var hasResult = false
        var requestId: Int64?
        var wrapped: BinanceMessage?
    }

    private mutating func readObject(_ scanner: inout JSONScanner, receiveTime: Int64, nested: Bool) throws(JSONError) -> BinanceMessage {
        let start = scanner.offset
        var f = Fields()
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            switch key.count {
            case 1:
                switch key.bytes[0] {
                case UInt8(ascii: "e"): f.event = try scanner.readString()
                case UInt8(ascii: "E"): f.eventTime = try scanner.readInt64()
                case UInt8(ascii: "T"): f.transactionTime = try scanner.readInt64()
                case UInt8(ascii: "s"): f.symbol = symbols.intern(try scanner.readString().bytes)
                case UInt8(ascii: "U"): f.firstId = try scanner.readInt64()
                case UInt8(ascii: "u"): f.lastId = try scanner.readInt64()
                case UInt8(ascii: "b"):
                    if try scanner.peekKind() == .array { f.bids = try scanner.readPriceLevels() } else { f.bidPrice = try scanner.readDecimal() }
                case UInt8(ascii: "a"):
                    if try scanner.peekKind() == .array { f.asks = try scanner.readPriceLevels() } else { f.askPrice = try scanner.readDecimal() }
                case UInt8(ascii: "B"): f.bidQty = try scanner.readDecimal()
                case UInt8(ascii: "A"): f.askQty = try scanner.readDecimal()
                case UInt8(ascii: "t"): f.tradeId = try scanner.readInt64()
                case UInt8(ascii: "p"): f.price = try scanner.readDecimal()
                case UInt8(ascii: "q"): f.qty = try scanner.readDecimal()
                case UInt8(ascii: "m"): f.buyerIsMaker = try scanner.readBool()
                case UInt8(ascii: "X"): f.tradeKind = try scanner.readString().string
                default: try scanner.skipValue()
                }
            case 2 where key.equals("pu"): f.previousId = try scanner.readInt64()
            case 2 where key.equals("id"): f.requestId = try scanner.readNullIfPresent() ? nil : try scanner.readInt64()
            case 4 where key.equals("bids"): f.bids = try scanner.readPriceLevels()
            case 4 where key.equals("asks"): f.asks = try scanner.readPriceLevels()
            case 4 where key.equals("data") && !nested:
                f.wrapped = try readObject(&scanner, receiveTime: receiveTime, nested: true)
            case 6 where key.equals("result"):
                f.hasResult = true
                try scanner.skipValue()
            case 12 where key.equals("lastUpdateId"): f.snapshotId = try scanner.readInt64()
            default: try scanner.skipValue()
            }
        }
        if let wrapped = f.wrapped { return wrapped }
        let exchangeTime = UTCTime.fromMilliseconds(f.transactionTime ?? f.eventTime ?? 0)

        guard let event = f.event else {
            if let snapshotId = f.snapshotId {
                guard let bids = f.bids, let asks = f.asks else {
                    throw JSONError(.missingField(f.bids == nil ? "bids" : "asks"), at: start)
                }
                return .snapshot(DepthUpdate(
                    symbol: f.symbol ?? "", kind: .snapshot, bids: bids, asks: asks,
                    firstUpdateId: snapshotId, lastUpdateId: snapshotId,
                    exchangeTime: exchangeTime, receiveTime: receiveTime
                ))
            }
            if f.hasResult { return .response(id: f.requestId) }
            throw JSONError(.missingField("e"), at: start)
        }

        if event.equals("depthUpdate") {
            guard let symbol = f.symbol else { throw JSONError(.missingField("s"), at: start) }
            guard let first = f.firstId else { throw JSONError(.missingField("U"), at: start) }
            guard let last = f.lastId else { throw JSONError(.missingField("u"), at: start) }
            guard let previous = f.previousId else { throw JSONError(.missingField("pu"), at: start) }
            return .depth(DepthUpdate(
                symbol: symbol, kind: .delta, bids: f.bids ?? [], asks: f.asks ?? [],
                firstUpdateId: first, lastUpdateId: last, previousUpdateId: previous,
                exchangeTime: exchangeTime, receiveTime: receiveTime
            ))
        }
        if event.equals("trade") {
            guard let symbol = f.symbol else { throw JSONError(.missingField("s"), at: start) }
            guard let price = f.price else { throw JSONError(.missingField("p"), at: start) }
            guard let qty = f.qty else { throw JSONError(.missingField("q"), at: start) }
            guard let buyerIsMaker = f.buyerIsMaker else { throw JSONError(.missingField("m"), at: start) }
            guard let tradeId = f.tradeId else { throw JSONError(.missingField("t"), at: start) }
            let tick = TradeTick(symbol: symbol, price: price, qty: qty, aggressor: buyerIsMaker ? .sell : .buy,
                                 tradeId: String(tradeId), exchangeTime: exchangeTime, receiveTime: receiveTime)
            let kind = f.tradeKind ?? "MARKET"
            return kind == "MARKET" ? .trade(tick) : .offBookTrade(tick, kind: kind)
        }
        if event.equals("bookTicker") {
            guard let symbol = f.symbol else { throw JSONError(.missingField("s"), at: start) }
            guard let bid = f.bidPrice, let bidQty = f.bidQty else { throw JSONError(.missingField("b"), at: start) }
            guard let ask = f.askPrice, let askQty = f.askQty else { throw JSONError(.missingField("a"), at: start) }
            return .bookTicker(TopOfBook(
                symbol: symbol, bid: PriceLevel(price: bid, qty: bidQty), ask: PriceLevel(price: ask, qty: askQty),
                updateId: f.lastId ?? 0, exchangeTime: exchangeTime, receiveTime: receiveTime
            ))
        }
        return .other(event: event.string)
    }
}
