/// An order rate-limit budget: a rolling one-second window of what was sent, capped by a limit (the
/// exchange's reported one for the connector, `strategy.orders_per_second` for the strategy), and a
/// hard stop until a reset time when the exchange says the budget is spent. Pure: the caller passes
/// the time.
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

    /// What the exchange reported on an answer: its limit, what is left, and when the window resets (UTC ns).
    public mutating func update(limit reportedLimit: Int, remaining reportedRemaining: Int, resetTime: Int64, now: Int64) {
        limit = max(1, reportedLimit)
        remaining = min(reportedRemaining, remaining ?? reportedRemaining)
        if reportedRemaining <= 0, resetTime > now { blockedUntil = max(blockedUntil, resetTime) }
    }

    /// The exchange refused a request for rate (10006, or HTTP 403): stop until the window has passed.
    public mutating func refused(now: Int64, until reset: Int64?) {
        blockedUntil = max(blockedUntil, reset ?? now + RateBudget.window)
        remaining = 0
    }
}
