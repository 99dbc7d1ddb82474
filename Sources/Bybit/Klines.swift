import Market

/// `GET /v5/market/kline` paged for a backfill of closed 1m candles, as Bybit serves them: at most
/// 1,000 a request, newest first, so the window is walked backwards: each request ends one
/// millisecond before the earliest start the previous page gave (`end = earliest − 1`), candles are
/// kept once by start time, and the candle still open is skipped. A Bybit kline has no taker split
/// and no trade count (`takerSplit` false). Pure.
public struct BybitKlinePager: KlinePaging {
    public let symbol: String
    public let from: Int64
    public let to: Int64
    public let limit: Int
    /// The earliest start taken so far: the next page ends just before it.
    public private(set) var earliest: Int64
    public private(set) var finished = false

    public init(symbol: String, from: Int64, to: Int64, limit: Int = 1_000) {
        self.symbol = symbol
        self.from = from
        self.to = to
        self.limit = min(max(limit, 1), 1_000)
        earliest = to
        finished = to <= from
    }

    public func next() -> KlineRequest? {
        guard !finished else { return nil }
        return KlineRequest(path: "/v5/market/kline",
                            query: "category=linear&symbol=\(symbol)&interval=1&start=\(from / 1_000_000)&end=\(earliest / 1_000_000 - 1)&limit=\(limit)")
    }

    public mutating func take(_ body: [UInt8]) throws(KlineError) -> [Candle] {
        let page = try BybitKlinePager.parse(body)
        var taken: [Candle] = []
        for candle in page where candle.start >= from && candle.end <= to && candle.start < earliest {
            taken.append(candle)
        }
        taken.sort { $0.start < $1.start }
        // Bybit may answer the window's tail in pieces; stop when a page brings nothing older.
        if let first = taken.first {
            earliest = first.start
        } else {
            finished = true
        }
        if earliest <= from || page.count < limit { finished = true }
        // Dedupe within a page too (Bybit never repeats a start; a proxy might).
        var unique: [Candle] = []
        for candle in taken where unique.last?.start != candle.start { unique.append(candle) }
        return unique
    }

    /// `{"retCode":0,"result":{"list":[["start","open","high","low","close","volume","turnover"],…]}}`.
    public static func parse(_ body: [UInt8]) throws(KlineError) -> [Candle] {
        let result: Result<[Candle], KlineError> = body.withUnsafeBytes { bytes in
            var scanner = JSONScanner(bytes)
            var candles: [Candle] = []
            var retCode: Int64?
            var retMsg = ""
            do throws(JSONError) {
                var object = try scanner.beginObject()
                while let key = try scanner.nextKey(in: &object) {
                    if key.equals("retCode") {
                        retCode = try scanner.readInt64()
                    } else if key.equals("retMsg") {
                        retMsg = try scanner.readString().string
                    } else if key.equals("result"), try scanner.peekKind() == .object {
                        var inner = try scanner.beginObject()
                        while let field = try scanner.nextKey(in: &inner) {
                            guard field.equals("list") else { try scanner.skipValue(); continue }
                            var list = try scanner.beginArray()
                            while try scanner.nextElement(in: &list) {
                                var row = try scanner.beginArray()
                                var values: [FixedDecimal] = []
                                var start: Int64 = 0
                                var index = 0
                                while try scanner.nextElement(in: &row) {
                                    if index == 0 { start = try scanner.readInt64() } else if index <= 6 { values.append(try scanner.readDecimal()) } else { try scanner.skipValue() }
                                    index += 1
                                }
                                guard values.count == 6 else { return .failure(KlineError("a kline row has \(index) fields, not 7")) }
                                var candle = Candle(start: start * 1_000_000, end: start * 1_000_000 + KlineWindow.minute, open: values[0],
                                                    high: values[1], low: values[2], close: values[3], volume: values[4], turnover: values[5])
                                candle.takerSplit = false
                                candles.append(candle)
                            }
                        }
                    } else {
                        try scanner.skipValue()
                    }
                }
            } catch {
                return .failure(KlineError("not Bybit's kline answer: \(error)"))
            }
            guard let retCode else { return .failure(KlineError("not Bybit's kline answer: no retCode")) }
            guard retCode == 0 else { return .failure(KlineError("Bybit refused the kline request: \(retCode) \(retMsg)")) }
            return .success(candles)
        }
        return try result.get()
    }
}
