import Bybit
import Market

/// `tickers.{symbol}` and `kline.{interval}.{symbol}`, computed from the sim's own trades and book.
extension SimExchange {
    static let tickerPeriodSteps = 5     // 100 ms at the default step
    static let klinePeriodSteps = 50     // 1 s

    /// The linear ticker fields of a symbol now, as decimal strings.
    func tickerFields(_ symbol: String, now: Int64) -> [(String, String)] {
        let bid = engine.depth(symbol, side: .buy, limit: 1).first
        let ask = engine.depth(symbol, side: .sell, limit: 1).first
        let last = lastTradePrice[symbol] ?? markPrice(symbol)
        let day: Int64 = 86_400_000_000_000
        let hour: Int64 = 3_600_000_000_000
        let window = (candles[symbol] ?? []).filter { $0.start >= now - day }
        let previous24h = window.first?.open ?? last
        let previous1h = (candles[symbol] ?? []).first { $0.start >= now - hour }?.open ?? last
        let high = window.map(\.high).max() ?? last
        let low = window.map(\.low).min() ?? last
        let volume = window.reduce(Quantity.zero) { $0 + $1.volume }
        let turnover = window.reduce(FixedDecimal.zero) { $0 + $1.turnover }
        let change = previous24h.isZero ? FixedDecimal.zero : ((last - previous24h).divided(by: previous24h, scale: 6, rounding: .halfEven) ?? .zero)
        let eightHours: Int64 = 8 * hour
        let nextFunding = (now / eightHours + 1) * eightHours / 1_000_000
        let openInterest = engine.accounts.values.reduce(Quantity.zero) { total, account in
            let size = account.position(symbol).size
            return size.signum > 0 ? total + size : total
        }
        return [
            ("tickDirection", lastTickDirection[symbol] ?? "ZeroPlusTick"),
            ("price24hPcnt", change.description),
            ("lastPrice", last.description),
            ("prevPrice24h", previous24h.description),
            ("highPrice24h", high.description),
            ("lowPrice24h", low.description),
            ("prevPrice1h", previous1h.description),
            ("markPrice", markPrice(symbol).description),
            ("indexPrice", markPrice(symbol).description),
            ("openInterest", openInterest.description),
            ("openInterestValue", (openInterest * markPrice(symbol)).description),
            ("turnover24h", turnover.description),
            ("volume24h", volume.description),
            ("nextFundingTime", String(nextFunding)),
            ("fundingRate", "0.0001"),
            ("bid1Price", bid?.price.description ?? ""),
            ("bid1Size", bid?.qty.description ?? ""),
            ("ask1Price", ask?.price.description ?? ""),
            ("ask1Size", ask?.qty.description ?? ""),
        ]
    }

    func publishTickers(now: Int64) {
        for instrument in configuration.instruments {
            let topic = "tickers.\(instrument.symbol)"
            guard connections.values.contains(where: { $0.topics.contains(topic) }) else { continue }
            var publisher = tickers[instrument.symbol] ?? TickerPublisher()
            let changed = publisher.publish(tickerFields(instrument.symbol, now: now))
            tickers[instrument.symbol] = publisher
            guard let changed else { continue }
            sequence += 1
            publish(BybitEncode.ticker(symbol: instrument.symbol, kind: .delta, fields: changed, crossSequence: sequence, systemTime: now),
                    topic: topic, now: now)
        }
    }

    /// The snapshot a new `tickers` subscriber starts from: the last published state, which later
    /// deltas build on for every subscriber alike (the first subscriber sets it).
    func tickerSnapshot(_ symbol: String, now: Int64) -> [UInt8] {
        var publisher = tickers[symbol] ?? TickerPublisher()
        if publisher.fields.isEmpty { _ = publisher.publish(tickerFields(symbol, now: now)) }
        tickers[symbol] = publisher
        return BybitEncode.ticker(symbol: symbol, kind: .snapshot, fields: publisher.fields, crossSequence: sequence, systemTime: now)
    }

    /// The candle of `interval` that holds `now`, aggregated from the minute candles.
    func currentCandle(_ symbol: String, interval: String, now: Int64) -> Candle? {
        guard let minutes = SimExchange.intervalMinutes(interval) else { return nil }
        let width = minutes * 60_000_000_000
        let offset: Int64 = interval == "W" ? 4 * 86_400_000_000_000 : 0
        let start = (now - offset) - (((now - offset) % width) + width) % width + offset
        let inside = (candles[symbol] ?? []).filter { $0.start >= start && $0.start < start + width }
        let open = inside.first?.open ?? lastTradePrice[symbol] ?? markPrice(symbol)
        var candle = Candle(start: start, end: start + width, open: open)
        candle.volume = Quantity(mantissa: 0, scale: instrument(symbol)?.qtyStep.scale ?? 0)
        for minute in inside {
            if minute.high > candle.high { candle.high = minute.high }
            if minute.low < candle.low { candle.low = minute.low }
            candle.close = minute.close
            candle.volume += minute.volume
            candle.turnover += minute.turnover
        }
        return candle
    }

    func publishKlines(now: Int64) {
        var topics = Set<String>()
        for connection in connections.values { for topic in connection.topics where topic.hasPrefix("kline.") { topics.insert(topic) } }
        for topic in topics.sorted() {
            let parts = topic.split(separator: ".").map(String.init)
            guard parts.count == 3, let candle = currentCandle(parts[2], interval: parts[1], now: now) else { continue }
            if let previousStart = klineStarts[topic], previousStart != candle.start,
               let closed = currentCandle(parts[2], interval: parts[1], now: previousStart) {
                publish(BybitEncode.kline(interval: parts[1], symbol: parts[2], candle: closed, confirmed: true, systemTime: now), topic: topic, now: now)
            }
            klineStarts[topic] = candle.start
            publish(BybitEncode.kline(interval: parts[1], symbol: parts[2], candle: candle, confirmed: false, systemTime: now), topic: topic, now: now)
        }
    }
}
