import Market

/// Decodes Bybit V5 public WebSocket messages with the shared `JSONScanner`: no Foundation, keys in
/// any order (a `data` that comes before its `topic` is read once the topic is known), unknown keys
/// skipped, prices and sizes parsed straight to `FixedDecimal`. Pure; time comes in with the bytes.
public struct BybitDecoder: Sendable {
    private var symbols = SymbolTable()

    public init() {}

    public mutating func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64) throws(JSONError) -> BybitPublicMessage {
        var scanner = JSONScanner(bytes)
        var topic: Topic?
        var kind: DepthUpdate.Kind?
        var systemTime: Int64 = 0
        var matchingTime: Int64 = 0
        var dataStart: Int?
        var book: BookData?
        var trades: [TradeTick]?
        var op: String?
        var success: Bool?
        var message = ""
        var requestId: String?
        var connectionId: String?
        var retCode: Int64?

        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            switch key.count {
            case 2 where key.equals("ts"): systemTime = UTCTime.fromMilliseconds(try scanner.readInt64())
            case 2 where key.equals("op"): op = try scanner.readString().string
            case 3 where key.equals("cts"): matchingTime = UTCTime.fromMilliseconds(try scanner.readInt64())
            case 4 where key.equals("type"):
                let value = try scanner.readString()
                if value.equals("snapshot") {
                    kind = .snapshot
                } else if value.equals("delta") {
                    kind = .delta
                } else {
                    throw JSONError(.invalidValue(field: "type"), at: scanner.offset)
                }
            case 4 where key.equals("data"):
                switch topic {
                case .book(let bookTopic): book = try readBook(&scanner, topic: bookTopic)
                case .trades(let symbol): trades = try readTrades(&scanner, topicSymbol: symbol, receiveTime: receiveTime)
                case .other: try scanner.skipValue()
                case nil: dataStart = try scanner.skipValueMarkingStart()
                }
            case 5 where key.equals("topic"): topic = try readTopic(&scanner)
            case 6 where key.equals("req_id"), 5 where key.equals("reqId"):
                requestId = try scanner.readNullIfPresent() ? nil : try scanner.readString().string
            case 7 where key.equals("success"): success = try scanner.readBool()
            case 7 where key.equals("ret_msg"), 6 where key.equals("retMsg"): message = try scanner.readString().string
            case 7 where key.equals("conn_id"), 6 where key.equals("connId"): connectionId = try scanner.readString().string
            case 7 where key.equals("retCode"): retCode = try scanner.readInt64()
            default: try scanner.skipValue()
            }
        }
        try scanner.finish()

        if let dataStart, let topic {
            var late = scanner.rewound(to: dataStart)
            switch topic {
            case .book(let bookTopic): book = try readBook(&late, topic: bookTopic)
            case .trades(let symbol): trades = try readTrades(&late, topicSymbol: symbol, receiveTime: receiveTime)
            case .other: break
            }
        }

        switch topic {
        case .book(let bookTopic):
            guard let kind else { throw JSONError(.missingField("type"), at: scanner.offset) }
            guard let book else { throw JSONError(.missingField("data"), at: scanner.offset) }
            let update = DepthUpdate(
                symbol: book.symbol, kind: kind, bids: book.bids, asks: book.asks,
                firstUpdateId: book.updateId, lastUpdateId: book.updateId, sequence: book.sequence,
                exchangeTime: systemTime, receiveTime: receiveTime
            )
            return .depth(BybitDepthMessage(topic: bookTopic, update: update, matchingTime: matchingTime))
        case .trades:
            guard let trades else { throw JSONError(.missingField("data"), at: scanner.offset) }
            return .trades(trades)
        case .other(let name):
            return .other(topic: name)
        case nil:
            guard let op else { throw JSONError(.missingField("topic"), at: scanner.offset) }
            // A spot pong carries neither `success` nor `retCode`; any other such shape is a request.
            if success == nil && retCode == nil && op != "pong" { return .request(op: op) }
            return .response(BybitResponse(
                op: op, success: success ?? (retCode.map { $0 == 0 } ?? true), message: message,
                requestId: requestId, connectionId: connectionId, retCode: retCode
            ))
        }
    }

    // MARK: Topics

    private enum Topic {
        case book(BybitBookTopic)
        case trades(symbol: String)
        case other(String)
    }

    private mutating func readTopic(_ scanner: inout JSONScanner) throws(JSONError) -> Topic {
        let start = scanner.offset
        let name = try scanner.readString()
        let bytes = name.bytes
        if name.hasPrefix("orderbook.") {
            // orderbook.<depth|full|rpi>.<symbol>
            var dot = 10
            while dot < bytes.count && bytes[dot] != UInt8(ascii: ".") { dot += 1 }
            guard dot < bytes.count - 1 else { throw JSONError(.invalidValue(field: "topic"), at: start) }
            let depthText = UnsafeRawBufferPointer(rebasing: bytes[10..<dot])
            let symbol = symbols.intern(UnsafeRawBufferPointer(rebasing: bytes[(dot + 1)...]))
            let depthString = JSONString(bytes: depthText, hasEscapes: false)
            if depthString.equals("full") { return .book(BybitBookTopic(symbol: symbol, depth: nil)) }
            if depthString.equals("rpi") { return .book(BybitBookTopic(symbol: symbol, depth: nil, isRPI: true)) }
            guard let depth = JSONScanner.parseInt64(depthText), depth > 0, depth <= 100_000 else {
                throw JSONError(.invalidValue(field: "topic"), at: start)
            }
            return .book(BybitBookTopic(symbol: symbol, depth: Int(depth)))
        }
        if name.hasPrefix("publicTrade.") {
            guard bytes.count > 12 else { throw JSONError(.invalidValue(field: "topic"), at: start) }
            return .trades(symbol: symbols.intern(UnsafeRawBufferPointer(rebasing: bytes[12...])))
        }
        return .other(name.string)
    }

    // MARK: Order book data

    private struct BookData {
        var symbol: String
        var bids: [PriceLevel]
        var asks: [PriceLevel]
        var updateId: Int64
        var sequence: Int64?
    }

    private mutating func readBook(_ scanner: inout JSONScanner, topic: BybitBookTopic) throws(JSONError) -> BookData {
        let start = scanner.offset
        var symbol = topic.symbol
        var bids: [PriceLevel]?
        var asks: [PriceLevel]?
        var updateId: Int64?
        var sequence: Int64?
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            switch key.count {
            case 1 where key.equals("b"): bids = try scanner.readPriceLevels(extraSizes: topic.isRPI ? .sum : .ignore)
            case 1 where key.equals("a"): asks = try scanner.readPriceLevels(extraSizes: topic.isRPI ? .sum : .ignore)
            case 1 where key.equals("u"): updateId = try scanner.readInt64()
            case 1 where key.equals("s"): symbol = symbols.intern(try scanner.readString().bytes)
            case 3 where key.equals("seq"): sequence = try scanner.readInt64()
            default: try scanner.skipValue()
            }
        }
        guard let updateId else { throw JSONError(.missingField("data.u"), at: start) }
        guard let bids else { throw JSONError(.missingField("data.b"), at: start) }
        guard let asks else { throw JSONError(.missingField("data.a"), at: start) }
        return BookData(symbol: symbol, bids: bids, asks: asks, updateId: updateId, sequence: sequence)
    }

    // MARK: Trades

    private mutating func readTrades(_ scanner: inout JSONScanner, topicSymbol: String, receiveTime: Int64) throws(JSONError) -> [TradeTick] {
        var trades: [TradeTick] = []
        var array = try scanner.beginArray()
        while try scanner.nextElement(in: &array) {
            let start = scanner.offset
            var time: Int64?
            var symbol = topicSymbol
            var side: Side?
            var qty: Quantity?
            var price: Price?
            var tradeId: String?
            var object = try scanner.beginObject()
            while let key = try scanner.nextKey(in: &object) {
                switch key.count {
                case 1 where key.equals("T"): time = UTCTime.fromMilliseconds(try scanner.readInt64())
                case 1 where key.equals("s"): symbol = symbols.intern(try scanner.readString().bytes)
                case 1 where key.equals("S"):
                    let value = try scanner.readString()
                    if value.equals("Buy") {
                        side = .buy
                    } else if value.equals("Sell") {
                        side = .sell
                    } else {
                        throw JSONError(.invalidValue(field: "S"), at: start)
                    }
                case 1 where key.equals("v"): qty = try scanner.readDecimal()
                case 1 where key.equals("p"): price = try scanner.readDecimal()
                case 1 where key.equals("i"): tradeId = try scanner.readString().string
                default: try scanner.skipValue()
                }
            }
            guard let time else { throw JSONError(.missingField("T"), at: start) }
            guard let side else { throw JSONError(.missingField("S"), at: start) }
            guard let qty else { throw JSONError(.missingField("v"), at: start) }
            guard let price else { throw JSONError(.missingField("p"), at: start) }
            trades.append(TradeTick(symbol: symbol, price: price, qty: qty, aggressor: side,
                                    tradeId: tradeId ?? "", exchangeTime: time, receiveTime: receiveTime))
        }
        return trades
    }
}

extension BybitDecoder {
    /// The symbol a public frame is about, the last part of its topic (`orderbook.50.BTCUSDT` →
    /// `BTCUSDT`), found without decoding the frame: the recorder files frames by it before any parsing.
    /// Nil for answers and requests (no `"topic":"…"`).
    public static func topicSymbol(_ bytes: UnsafeRawBufferPointer) -> String? {
        let key = Array(#""topic":""#.utf8)
        guard bytes.count > key.count else { return nil }
        var index = 0
        while index + key.count <= bytes.count {
            var matched = true
            for offset in 0..<key.count where bytes[index + offset] != key[offset] {
                matched = false
                break
            }
            if matched {
                let start = index + key.count
                var end = start
                var lastDot = start - 1
                while end < bytes.count, bytes[end] != 0x22 {
                    if bytes[end] == 0x2E { lastDot = end }
                    end += 1
                }
                guard end < bytes.count, end > lastDot + 1 else { return nil }
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(lastDot + 1)..<end]), as: UTF8.self)
            }
            index += 1
        }
        return nil
    }
}
