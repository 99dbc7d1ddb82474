import Binance
import Foundation
import Market

/// The sim speaking Binance USD-M (`keel sim --exchange binance-usdm`): the same market as the Bybit
/// side — matching engine, flow, replay, faults — published as Binance's streams (`<s>@depth…` diffs
/// with contiguous `U`/`u`/`pu`, `<s>@trade`, `<s>@aggTrade`, `<s>@bookTicker`) and answered over `/fapi/v1/*`.
extension SimExchange {
    /// A stream a client may subscribe to: `btcusdt@trade`, `btcusdt@bookTicker`, `btcusdt@depth@100ms`, …
    /// of a simulated symbol (Binance's stream names are lowercase).
    func binanceStreamSymbol(_ stream: String) -> String? {
        guard let at = stream.firstIndex(of: "@") else { return nil }
        let symbol = stream[..<at].uppercased()
        guard instrument(symbol) != nil, stream[..<at] == symbol.lowercased() else { return nil }
        let suffix = stream[at...]
        guard suffix == "@trade" || suffix == "@aggTrade" || suffix == "@bookTicker" || BinanceDepthPublisher.Speed(streamSuffix: suffix) != nil else { return nil }
        return symbol
    }

    /// Accepts a Binance connection on `/ws/<stream>` (raw frames) or `/stream?streams=a/b` (wrapped as
    /// `{"stream","data"}`); nil when a named stream does not exist, during `reject` or at the cap.
    public func connectBinance(streams: [String], combined: Bool, now: Int64) -> (id: Int, connectionId: String, outgoing: AsyncStream<SimOutgoing>)? {
        guard streams.allSatisfy({ binanceStreamSymbol($0) != nil }) else { return nil }
        guard let accepted = connect(.binance, now: now) else { return nil }
        connections[accepted.id]?.topics = Set(streams)
        connections[accepted.id]?.combined = combined
        return accepted
    }

    /// One request on a Binance connection: `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`.
    func receiveBinance(_ id: Int, text: String) {
        guard connections[id] != nil else { return }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            send(BinanceEncode.error(code: 3, message: "Invalid JSON: expected {\"method\",\"params\",\"id\"}", id: nil), to: id)
            return
        }
        let requestId: BinanceEncode.RequestId? = (object["id"] as? String).map { .text($0) } ?? (object["id"] as? NSNumber).map { .number($0.int64Value) }
        let streams = (object["params"] as? [Any])?.compactMap { $0 as? String } ?? []
        switch object["method"] as? String {
        case "SUBSCRIBE":
            if let unknown = streams.first(where: { binanceStreamSymbol($0) == nil }) {
                send(BinanceEncode.error(code: 2, message: "Invalid request: unknown stream \(unknown)", id: requestId), to: id)
                return
            }
            connections[id]?.topics.formUnion(streams)
            send(BinanceEncode.result(id: requestId), to: id)
        case "UNSUBSCRIBE":
            for stream in streams { connections[id]?.topics.remove(stream) }
            send(BinanceEncode.result(id: requestId), to: id)
        case "LIST_SUBSCRIPTIONS":
            send(BinanceEncode.result(id: requestId, streams: (connections[id]?.topics ?? []).sorted()), to: id)
        default:
            send(BinanceEncode.error(code: 2, message: "Invalid request: unknown method \(object["method"] ?? "(none)")", id: requestId), to: id)
        }
    }

    /// Sends `data` to every connection on `stream`, wrapped for combined connections (nothing while stalled).
    func publishBinance(_ data: [UInt8], stream: String, now: Int64) {
        guard now >= stallUntil else { return }
        var raw: String?
        var wrapped: String?
        for (id, connection) in connections where connection.kind == .binance && connection.topics.contains(stream) {
            if connection.combined {
                if wrapped == nil { wrapped = String(decoding: BinanceEncode.combined(stream: stream, data: data), as: UTF8.self) }
                send(wrapped!, to: id)
            } else {
                if raw == nil { raw = String(decoding: data, as: UTF8.self) }
                send(raw!, to: id)
            }
        }
    }

    /// One step's Binance publishing: trades, then each symbol's book changes on every depth speed due
    /// now, and the book ticker when the touch moved.
    func publishBinanceMarket(now: Int64) {
        for (symbol, trades) in pendingTrades {
            let name = symbol.lowercased()
            for trade in trades {
                binanceTradeIds[symbol, default: 100_000_000] += 1
                let id = binanceTradeIds[symbol]!
                publishBinance(BinanceEncode.trade(symbol: symbol, tradeId: id, price: trade.price, qty: trade.qty,
                                                   aggressor: trade.side, eventTime: now, tradeTime: trade.time),
                               stream: name + "@trade", now: now)
                publishBinance(BinanceEncode.aggregateTrade(symbol: symbol, aggregateId: id - 50_000_000, tradeId: id, price: trade.price, qty: trade.qty,
                                                            aggressor: trade.side, eventTime: now, tradeTime: trade.time),
                               stream: name + "@aggTrade", now: now)
            }
        }
        pendingTrades.removeAll(keepingCapacity: true)
        for instrument in configuration.instruments {
            let symbol = instrument.symbol
            guard var publisher = binanceBooks[symbol] else { continue }
            let changed = publisher.observe(bids: engine.depth(symbol, side: .buy, limit: publisher.depth),
                                            asks: engine.depth(symbol, side: .sell, limit: publisher.depth))
            let prefix = symbol.lowercased()
            for speed in BinanceDepthPublisher.Speed.allCases where stepCount % max(1, speed.rawValue / configuration.stepMilliseconds) == 0 {
                guard let diff = publisher.take(speed) else { continue }
                publishBinance(BinanceEncode.depthUpdate(symbol: symbol, firstUpdateId: diff.firstUpdateId, lastUpdateId: diff.lastUpdateId,
                                                         previousUpdateId: diff.previousUpdateId, bids: diff.bids, asks: diff.asks,
                                                         eventTime: now, transactionTime: now),
                               stream: prefix + speed.suffix, now: now)
            }
            if changed, let bid = publisher.bids.first, let ask = publisher.asks.first, binanceTouch[symbol] != [bid, ask] {
                binanceTouch[symbol] = [bid, ask]
                publishBinance(BinanceEncode.bookTicker(symbol: symbol, updateId: publisher.updateId, bid: bid, ask: ask, eventTime: now, transactionTime: now),
                               stream: prefix + "@bookTicker", now: now)
            }
            binanceBooks[symbol] = publisher
        }
        // Binance closes every connection at 24 h; the sim at `connectionLifetime`.
        if let lifetime = configuration.connectionLifetimeNanoseconds {
            let expired = connections.filter { $0.value.kind == .binance && now - $0.value.openedAt >= lifetime }.map(\.key)
            for id in expired { close(id, code: 1001, reason: "connection lifetime reached") }
        }
    }

    // MARK: REST (`/fapi/v1/*`), each answer Binance's bare JSON

    public func binanceTime(now: Int64) -> [UInt8] {
        Array(#"{"serverTime":\#(now / 1_000_000)}"#.utf8)
    }

    public func binanceExchangeInfo(now: Int64) -> [UInt8] {
        var out = JSONWriter(capacity: 4_096)
        out.beginObject()
        out.field("timezone", "UTC")
        out.field("serverTime", now / 1_000_000)
        out.field("futuresType", "U_MARGINED")
        out.key("rateLimits")
        out.beginArray()
        for (type, interval, limit) in [("REQUEST_WEIGHT", "MINUTE", 2_400), ("ORDERS", "MINUTE", 1_200)] {
            out.beginObject()
            out.field("rateLimitType", type)
            out.field("interval", interval)
            out.field("intervalNum", 1)
            out.field("limit", limit)
            out.endObject()
        }
        out.endArray()
        out.key("exchangeFilters"); out.beginArray(); out.endArray()
        out.key("assets")
        out.beginArray()
        out.beginObject()
        out.field("asset", "USDT")
        out.field("marginAvailable", true)
        out.field("autoAssetExchange", "-10000")
        out.endObject()
        out.endArray()
        out.key("symbols")
        out.beginArray()
        for instrument in configuration.instruments {
            let base = String(instrument.symbol.dropLast(4))
            let maxQty = FixedDecimal(mantissa: 1_000_000 * instrument.qtyStep.mantissa, scale: instrument.qtyStep.scale)
            out.beginObject()
            out.field("symbol", instrument.symbol)
            out.field("pair", instrument.symbol)
            out.field("contractType", "PERPETUAL")
            out.field("deliveryDate", Int64(4_133_404_800_000))
            out.field("onboardDate", Int64(1_569_398_400_000))
            out.field("status", "TRADING")
            out.field("maintMarginPercent", "2.5000")
            out.field("requiredMarginPercent", "5.0000")
            out.field("baseAsset", base)
            out.field("quoteAsset", "USDT")
            out.field("marginAsset", "USDT")
            out.field("pricePrecision", Int(instrument.tickSize.scale))
            out.field("quantityPrecision", Int(instrument.qtyStep.scale))
            out.field("baseAssetPrecision", 8)
            out.field("quotePrecision", 8)
            out.field("underlyingType", "COIN")
            out.key("underlyingSubType"); out.beginArray(); out.string("PoW"); out.endArray()
            out.field("triggerProtect", "0.0500")
            out.field("liquidationFee", "0.012500")
            out.field("marketTakeBound", "0.05")
            out.field("maxMoveOrderLimit", 10_000)
            out.key("filters")
            out.beginArray()
            out.beginObject()
            out.field("filterType", "PRICE_FILTER")
            out.key("minPrice"); out.decimal(instrument.tickSize)
            out.key("maxPrice"); out.decimal(FixedDecimal(mantissa: 19_999_998 * instrument.tickSize.mantissa, scale: instrument.tickSize.scale))
            out.key("tickSize"); out.decimal(instrument.tickSize)
            out.endObject()
            for filter in ["LOT_SIZE", "MARKET_LOT_SIZE"] {
                out.beginObject()
                out.field("filterType", filter)
                out.key("minQty"); out.decimal(instrument.minQty)
                out.key("maxQty"); out.decimal(maxQty)
                out.key("stepSize"); out.decimal(instrument.qtyStep)
                out.endObject()
            }
            out.beginObject()
            out.field("filterType", "MAX_NUM_ORDERS")
            out.field("limit", 200)
            out.endObject()
            out.beginObject()
            out.field("filterType", "MIN_NOTIONAL")
            out.key("notional"); out.decimal(instrument.minNotional ?? FixedDecimal(5))
            out.endObject()
            out.beginObject()
            out.field("filterType", "PERCENT_PRICE")
            out.field("multiplierUp", "1.0500")
            out.field("multiplierDown", "0.9500")
            out.field("multiplierDecimal", "4")
            out.endObject()
            out.endArray()
            out.key("orderTypes")
            out.beginArray()
            for type in ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"] { out.string(type) }
            out.endArray()
            out.key("timeInForce")
            out.beginArray()
            for tif in ["GTC", "IOC", "FOK", "GTX", "GTD"] { out.string(tif) }
            out.endArray()
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// The book as the diff streams last described it, so `lastUpdateId` syncs with them.
    public func binanceDepth(symbol: String, limit: Int, now: Int64) throws(BinanceRestError) -> [UInt8] {
        guard let publisher = binanceBooks[symbol] else { throw .invalidSymbol }
        guard [5, 10, 20, 50, 100, 500, 1_000].contains(limit) else {
            throw BinanceRestError(code: -1_130, message: "Data sent for parameter 'limit' is not valid.")
        }
        return BinanceEncode.depthSnapshot(lastUpdateId: publisher.updateId, bids: publisher.bids.prefix(limit), asks: publisher.asks.prefix(limit),
                                           eventTime: now, transactionTime: now)
    }

    /// `GET /fapi/v1/ticker/bookTicker`: one symbol's object, or every symbol's as a list.
    public func binanceBookTicker(symbol: String?, now: Int64) throws(BinanceRestError) -> [UInt8] {
        if let symbol, binanceBooks[symbol] == nil { throw .invalidSymbol }
        var out = JSONWriter()
        let symbols = symbol.map { [$0] } ?? configuration.instruments.map(\.symbol)
        if symbol == nil { out.beginArray() }
        for name in symbols {
            let publisher = binanceBooks[name]!
            out.beginObject()
            out.field("symbol", name)
            out.key("bidPrice"); out.decimal(publisher.bids.first?.price ?? .zero)
            out.key("bidQty"); out.decimal(publisher.bids.first?.qty ?? .zero)
            out.key("askPrice"); out.decimal(publisher.asks.first?.price ?? .zero)
            out.key("askQty"); out.decimal(publisher.asks.first?.qty ?? .zero)
            out.field("time", now / 1_000_000)
            out.field("lastUpdateId", publisher.updateId)
            out.endObject()
        }
        if symbol == nil { out.endArray() }
        return out.bytes
    }

    /// Minutes per Binance kline interval (`1M` is calendar months and not simulated).
    static func binanceIntervalMinutes(_ interval: String) -> Int64? {
        let table: [String: Int64] = ["1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240, "6h": 360,
                                      "8h": 480, "12h": 720, "1d": 1_440, "3d": 4_320, "1w": 10_080]
        return table[interval]
    }

    /// `GET /fapi/v1/klines`: oldest first, `[openTime, open, high, low, close, volume, closeTime, quoteVolume,
    /// trades, takerBuyVolume, takerBuyQuoteVolume, "0"]`; the candle still open is included, as on Binance.
    public func binanceKlines(symbol: String, interval: String, start: Int64?, end: Int64?, limit: Int, now: Int64) throws(BinanceRestError) -> [UInt8] {
        guard instrument(symbol) != nil else { throw .invalidSymbol }
        guard let minutes = SimExchange.binanceIntervalMinutes(interval) else { throw BinanceRestError(code: -1_120, message: "Invalid interval.") }
        guard (1...1_500).contains(limit) else { throw BinanceRestError(code: -1_130, message: "Data sent for parameter 'limit' is not valid.") }
        let width = minutes * 60_000_000_000
        let grouped = groupedCandles(symbol, width: width, weekly: interval == "1w")
        let from = start.map { $0 * 1_000_000 }
        let to = end.map { $0 * 1_000_000 } ?? now
        let inRange = grouped.filter { ($0.start + width > (from ?? .min)) && $0.start <= to }
        // With a start time Binance counts `limit` from it; otherwise the newest `limit`.
        let selected = from == nil ? Array(inRange.suffix(limit)) : Array(inRange.prefix(limit))
        var out = JSONWriter(capacity: 32 + selected.count * 160)
        out.beginArray()
        for candle in selected {
            out.beginArray()
            out.int(candle.start / 1_000_000)
            out.decimal(candle.open)
            out.decimal(candle.high)
            out.decimal(candle.low)
            out.decimal(candle.close)
            out.decimal(candle.volume)
            out.int(candle.end / 1_000_000 - 1)
            out.decimal(candle.turnover)
            out.int(candle.trades)
            out.decimal(candle.buyVolume)
            out.decimal(candle.buyTurnover)
            out.string("0")
            out.endArray()
        }
        out.endArray()
        return out.bytes
    }
}

/// A Binance REST error: HTTP 400 with `{"code":-1121,"msg":"Invalid symbol."}`.
public struct BinanceRestError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String

    public static let invalidSymbol = BinanceRestError(code: -1_121, message: "Invalid symbol.")
    public static func mandatory(_ name: String) -> BinanceRestError {
        BinanceRestError(code: -1_102, message: "Mandatory parameter '\(name)' was not sent, was empty/null, or malformed.")
    }

    var body: [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("code", code)
        out.field("msg", message)
        out.endObject()
        return out.bytes
    }
}
