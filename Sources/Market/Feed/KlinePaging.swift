/// One REST request of a kline backfill.
public struct KlineRequest: Sendable, Equatable {
    public var path: String
    public var query: String
    /// The exchange's request weight (Binance counts weight by `limit`; Bybit counts requests: 1).
    public var weight: Int

    public init(path: String, query: String, weight: Int = 1) {
        self.path = path
        self.query = query
        self.weight = weight
    }
}

/// A kline answer that is not the exchange's shape, or an error the exchange answered with.
public struct KlineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// How one exchange's kline endpoint is paged to fetch the closed 1m candles of `[from, to)` (UTC ns,
/// minute-aligned; `to` is the start of the minute still open, which is never taken). Pure: the shell
/// sends `next()`, hands the body to `take`, and repeats until `next()` is nil.
public protocol KlinePaging: Sendable {
    var from: Int64 { get }
    var to: Int64 { get }
    /// Candles per request.
    var limit: Int { get }
    /// The next request; nil once the window is covered.
    func next() -> KlineRequest?
    /// A page's body: its candles inside the window that no earlier page gave, oldest first.
    mutating func take(_ body: [UInt8]) throws(KlineError) -> [Candle]
}

extension KlinePaging {
    /// Requests a backfill of the window takes (its progress's N).
    public var chunks: Int { KlineWindow.chunks(from: from, to: to, limit: limit) }
}

public enum KlineWindow {
    public static let minute: Int64 = 60_000_000_000

    /// The start of the minute holding `time`.
    public static func minuteStart(_ time: Int64) -> Int64 { time - ((time % minute) + minute) % minute }

    /// Requests of `limit` candles that cover `[from, to)`.
    public static func chunks(from: Int64, to: Int64, limit: Int) -> Int {
        let minutes = max(0, (to - from) / minute)
        return Int((minutes + Int64(limit) - 1) / Int64(limit))
    }
}
