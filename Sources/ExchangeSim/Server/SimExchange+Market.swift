import Bybit
import Market

/// REST market data (`/v5/market/*`), each answer the `result` object of Bybit's envelope.
extension SimExchange {
    public func marketTime(now: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("timeSecond", String(now / 1_000_000_000))
        out.field("timeNano", String(now))
        out.endObject()
        return out.bytes
    }

    public func instrumentsInfo(symbol: String?) throws(SimError) -> [UInt8] {
        let list = configuration.instruments.filter { symbol == nil || $0.symbol == symbol }
        if let symbol, list.isEmpty { throw .parameter("params error: symbol \(symbol) invalid") }
        var out = JSONWriter()
        out.beginObject()
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for instrument in list {
            let base = String(instrument.symbol.dropLast(4))
            out.beginObject()
            out.field("symbol", instrument.symbol)
            out.field("contractType", "LinearPerpetual")
            out.field("status", "Trading")
            out.field("baseCoin", base)
            out.field("quoteCoin", "USDT")
            out.field("launchTime", "1585526400000")
            out.field("deliveryTime", "0")
            out.field("deliveryFeeRate", "")
            out.field("priceScale", String(instrument.tickSize.scale))
            out.key("leverageFilter")
            out.beginObject()
            out.field("minLeverage", "1")
            out.field("maxLeverage", "100.00")
            out.field("leverageStep", "0.01")
            out.endObject()
            out.key("priceFilter")
            out.beginObject()
            out.key("minPrice"); out.decimal(instrument.tickSize)
            out.key("maxPrice"); out.decimal(FixedDecimal(mantissa: 19_999_998 * instrument.tickSize.mantissa, scale: instrument.tickSize.scale))
            out.key("tickSize"); out.decimal(instrument.tickSize)
            out.endObject()
            out.key("lotSizeFilter")
            let maxQty = FixedDecimal(mantissa: 1_000_000 * instrument.qtyStep.mantissa, scale: instrument.qtyStep.scale)
            out.beginObject()
            out.key("maxOrderQty"); out.decimal(maxQty)
            out.key("minOrderQty"); out.decimal(instrument.minQty)
            out.key("qtyStep"); out.decimal(instrument.qtyStep)
            out.key("postOnlyMaxOrderQty"); out.decimal(maxQty)
            out.key("maxMktOrderQty"); out.decimal(maxQty)
            out.field("minNotionalValue", "0")
            out.endObject()
            out.field("unifiedMarginTrade", true)
            out.field("fundingInterval", 480)
            out.field("settleCoin", "USDT")
            out.endObject()
        }
        out.endArray()
        out.field("nextPageCursor", "")
        out.endObject()
        return out.bytes
    }

    /// The book as the 1000-level topic last published it, so its `u` matches that stream.
    public func orderbookSnapshot(symbol: String, limit: Int, now: Int64) throws(SimError) -> [UInt8] {
        guard instrument(symbol) != nil, let publisher = publishers[BybitBookTopic(symbol: symbol, depth: 1_000)] else {
            throw .parameter("params error: symbol \(symbol) invalid")
        }
        guard (1...1_000).contains(limit) else { throw .parameter("params error: limit must be 1–1000") }
        var out = JSONWriter(capacity: 128 + limit * 64)
        out.beginObject()
        out.field("s", symbol)
        out.key("b")
        out.priceLevels(publisher.bids.prefix(limit))
        out.key("a")
        out.priceLevels(publisher.asks.prefix(limit))
        out.field("ts", now / 1_000_000)
        out.field("u", publisher.updateId)
        out.field("seq", sequence)
        out.field("cts", now / 1_000_000)
        out.endObject()
        return out.bytes
    }

    public func recentTrades(symbol: String, limit: Int) throws(SimError) -> [UInt8] {
        guard instrument(symbol) != nil else { throw .parameter("params error: symbol \(symbol) invalid") }
        guard (1...SimExchange.recentTradeLimit).contains(limit) else { throw .parameter("params error: limit must be 1–1000") }
        var out = JSONWriter()
        out.beginObject()
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for trade in (recentTrades[symbol] ?? []).suffix(limit).reversed() {
            out.beginObject()
            out.field("execId", trade.tradeId)
            out.field("symbol", symbol)
            out.key("price"); out.decimal(trade.price)
            out.key("size"); out.decimal(trade.qty)
            out.field("side", trade.side == .buy ? "Buy" : "Sell")
            out.field("time", String(trade.time / 1_000_000))
            out.field("isBlockTrade", false)
            out.field("isRPITrade", false)
            out.field("seq", String(trade.sequence))
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// Minutes per Bybit kline interval (`M` is calendar months and not simulated).
    static func intervalMinutes(_ interval: String) -> Int64? {
        switch interval {
        case "1", "3", "5", "15", "30", "60", "120", "240", "360", "720": return Int64(interval)
        case "D": return 1_440
        case "W": return 10_080
        default: return nil
        }
    }

    /// Candles of the sim's own trades, newest first, `[start, open, high, low, close, volume, turnover]`;
    /// minutes without trades are flat at the previous close, as on Bybit.
    public func klines(symbol: String, interval: String, start: Int64?, end: Int64?, limit: Int, now: Int64) throws(SimError) -> [UInt8] {
        guard instrument(symbol) != nil else { throw .parameter("params error: symbol \(symbol) invalid") }
        guard let minutes = SimExchange.intervalMinutes(interval) else {
            throw .parameter("params error: interval \(interval) invalid (1,3,5,15,30,60,120,240,360,720,D,W)")
        }
        guard (1...1_000).contains(limit) else { throw .parameter("params error: limit must be 1–1000") }
        let width = minutes * 60_000_000_000
        let grouped = groupedCandles(symbol, width: width, weekly: interval == "W").map { (start: $0.start, candle: $0) }
        func bucket(_ time: Int64) -> Int64 { SimExchange.bucketStart(time, width: width, weekly: interval == "W") }
        let from = start.map { $0 * 1_000_000 } ?? .min
        let to = end.map { $0 * 1_000_000 } ?? now
        let selected = grouped.filter { $0.start >= bucket(from == .min ? $0.start : from) && $0.start <= to }.suffix(limit)
        var out = JSONWriter(capacity: 128 + selected.count * 96)
        out.beginObject()
        out.field("symbol", symbol)
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for (_, candle) in selected.reversed() {
            out.beginArray()
            out.string(String(candle.start / 1_000_000))
            out.decimal(candle.open)
            out.decimal(candle.high)
            out.decimal(candle.low)
            out.decimal(candle.close)
            out.decimal(candle.volume)
            out.decimal(candle.turnover)
            out.endArray()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// The 1-minute candles the kline endpoints serve for `symbol` (its past, then its live minutes),
    /// oldest first, minutes without trades flat: the truth a backfill is checked against.
    public func minuteCandles(_ symbol: String) -> [Candle] {
        groupedCandles(symbol, width: 60_000_000_000, weekly: false)
    }

    /// The sim's 1-minute candles of `symbol` grouped into buckets of `width` (weeks from Monday 00:00 UTC),
    /// oldest first; buckets without trades are flat at the previous close, as on the exchanges.
    func groupedCandles(_ symbol: String, width: Int64, weekly: Bool) -> [Candle] {
        var grouped: [Candle] = []
        for minute in candles[symbol] ?? [] {
            let key = SimExchange.bucketStart(minute.start, width: width, weekly: weekly)
            if grouped.last?.start == key {
                grouped[grouped.count - 1].merge(minute)
                continue
            }
            if let last = grouped.last {
                var gap = last.start + width
                while gap < key {
                    var flat = Candle(start: gap, end: gap + width, open: last.close)
                    flat.volume = Quantity(mantissa: 0, scale: last.volume.scale)
                    grouped.append(flat)
                    gap += width
                }
            }
            var candle = minute
            candle.start = key
            candle.end = key + width
            grouped.append(candle)
        }
        return grouped
    }

    /// The start of the bucket of `width` holding `time`; weeks start on Monday 00:00 UTC (the epoch was a Thursday).
    static func bucketStart(_ time: Int64, width: Int64, weekly: Bool) -> Int64 {
        let offset: Int64 = weekly ? 4 * 86_400_000_000_000 : 0
        return (time - offset) - (((time - offset) % width) + width) % width + offset
    }
}
