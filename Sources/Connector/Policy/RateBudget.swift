import Bybit

/// The order rate-limit budget, kept so the connector never sends a request the exchange would refuse
/// for rate: a rolling one-second window of what was sent, capped by the limit the exchange reports
/// (`X-Bapi-Limit`, starting from a configured guess), and a hard stop until the reset time when the
/// exchange says the budget is spent. Pure: the caller passes the time.
public struct RateBudget: Sendable, Equatable {
    public private(set) var limit: Int
    /// Requests kept back for reconciliation and cancels (never used by new orders).
    public var reserve: Int
    public private(set) var remaining: Int?
    private var sent: [Int64] = []
    private var blockedUntil: Int64 = 0
    static let window: Int64 = 1_000_000_000

    public init(limit: Int = 10, reserve: Int = 0) {
        self.limit = limit
        self.reserve = reserve
    }

    /// Takes one request's worth at `now`; false when it would exceed the budget (answer `rate_limited`).
    /// `priority` requests (cancels, reconciliation) may use the reserve.
    public mutating func take(now: Int64, priority: Bool = false) -> Bool {
        sent.removeAll { now - $0 >= RateBudget.window }
        if now < blockedUntil { return false }
        let usable = priority ? limit : limit - reserve
        guard sent.count < usable else { return false }
        sent.append(now)
        remaining = limit - sent.count
        return true
    }

    /// What the exchange reported on an answer.
    public mutating func update(_ reported: BybitRateLimit, now: Int64) {
        limit = max(1, reported.limit)
        remaining = min(reported.remaining, remaining ?? reported.remaining)
        if reported.remaining <= 0, reported.resetTime > now { blockedUntil = max(blockedUntil, reported.resetTime) }
    }

    /// The exchange refused a request for rate (10006, or HTTP 403): stop until the window has passed.
    public mutating func refused(now: Int64, until reset: Int64?) {
        blockedUntil = max(blockedUntil, reset ?? now + RateBudget.window)
        remaining = 0
    }
}
