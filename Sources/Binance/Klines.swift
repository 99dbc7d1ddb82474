import Market

/// `GET /fapi/v1/klines` paged for a backfill of closed 1m candles, as Binance USD-M serves them: at
/// most 1,500 a request, oldest first, so the window is walked forwards from `startTime`; the candle
/// still open is skipped. Binance's kline carries the trade count and the taker-buy volume, so the
/// candle's CVD is known. Weight by `limit`: 1 below 100, 2 below 500, 5 up to 1,000, 10 above. Pure.
public struct BinanceKlinePager: KlinePaging {
    public let symbol: String
    public let from: Int64
    public let to: Int64
    public let limit: Int
    /// The start of the next candle wanted.
    public private(set) var cursor: Int64
    public private(set) var finished = false

    public init(symbol: String, from: Int64, to: Int64, limit: Int = 1_500) {
        self.symbol = symbol
        self.from = from
        self.to = to
        self.limit = min(max(limit, 1), 1_500)
        cursor = from
        finished = to <= from
    }

    public static func weight(limit: Int) -> Int {
        switch limit {
        case ..<100: return 1
        case ..<500: return 2
        case ...1_000: return 5
        default: return 10
        }
    }

    public func next() -> KlineRequest? {
        guard !finished else { return nil }
        return KlineRequest(path: "/fapi/v1/klines",
                            query: "symbol=\(symbol)&interval=1m&startTime=\(cursor / 1_000_000)&endTime=\(to / 1_000_000 - 1)&limit=\(limit)",
                            weight: BinanceKlinePager.weight(limit: limit))
    }

    public mutating func take(_ body: [UInt8]) throws(KlineError) -> [Candle] {
        let page = try BinanceKlinePager.parse(body)
        var taken: [Candle] = []
        for candle in page.sorted(by: { $0.start < $1.start }) where candle.start >= cursor && candle.end <= to {
            taken.append(candle)
            cursor = candle.end
        }
        if taken.isEmpty || cursor >= to || page.count < limit { finished = true }
        return taken
    }

    /// `[[openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
    /// "takerBuyVolume", "takerBuyQuoteVolume", "0"], …]`; an error answer is `{"code":…,"msg":…}`.
    public static func parse(_ body: [UInt8]) throws(KlineError) -> [Candle] {
        let result: Result<[Candle], KlineError> = body.withUnsafeBytes { bytes in
            var scanner = JSONScanner(bytes)
            var candles: [Candle] = []
            do throws(JSONError) {
                if try scanner.peekKind() == .object {
                    let error = try scanner.readFlatObject()
                    return .failure(KlineError("Binance refused the kline request: \(error["code"] ?? "?") \(error["msg"] ?? "")"))
                }
                var list = try scanner.beginArray()
                while try scanner.nextElement(in: &list) {
                    var row = try scanner.beginArray()
                    var start: Int64 = 0
                    var trades: Int64 = 0
                    var values: [FixedDecimal] = []
                    var index = 0
                    while try scanner.nextElement(in: &row) {
                        switch index {
                        case 0: start = try scanner.readInt64()
                        case 1...5, 7, 9, 10: values.append(try scanner.readDecimal())
                        case 8: trades = try scanner.readInt64()
                        default: try scanner.skipValue()
                        }
                        index += 1
                    }
                    guard values.count == 8 else { return .failure(KlineError("a kline row has \(index) fields, not 12")) }
                    var candle = Candle(start: start * 1_000_000, end: start * 1_000_000 + KlineWindow.minute, open: values[0],
                                        high: values[1], low: values[2], close: values[3], volume: values[4], turnover: values[5])
                    candle.trades = Int(trades)
                    candle.buyVolume = values[6]
                    candle.buyTurnover = values[7]
                    candles.append(candle)
                }
                try scanner.finish()
            } catch {
                return .failure(KlineError("not Binance's kline answer: \(error)"))
            }
            return .success(candles)
        }
        return try result.get()
    }
}
