import Market

/// When to try again after a connection fails: `delay = min(base·2^attempt + jitter, cap)`, jitter
/// uniform in 0–30 % of the exponential term, so a fleet never reconnects in step (no storm). The
/// attempt count resets once a connection has stayed up for `stablePeriod`. Pure: the caller passes
/// the time and the random source.
public struct ReconnectPolicy: Sendable, Equatable {
    public var baseNanoseconds: Int64
    public var factor: Int64
    public var capNanoseconds: Int64
    public var maxJitter: Double
    public var stableNanoseconds: Int64
    public private(set) var attempt = 0
    private var connectedAt: Int64?

    public init(base: Duration = .milliseconds(500), factor: Int64 = 2, cap: Duration = .seconds(60),
                maxJitter: Double = 0.3, stablePeriod: Duration = .seconds(60)) {
        baseNanoseconds = base.inNanoseconds
        self.factor = factor
        capNanoseconds = cap.inNanoseconds
        self.maxJitter = maxJitter
        stableNanoseconds = stablePeriod.inNanoseconds
    }


    /// The wait before the next attempt (and counts the attempt).
    public mutating func nextDelay(using random: inout some RandomNumberGenerator) -> Duration {
        var exponential = baseNanoseconds
        for _ in 0..<attempt {
            let (next, overflow) = exponential.multipliedReportingOverflow(by: factor)
            exponential = overflow ? capNanoseconds : Swift.min(next, capNanoseconds)
            if exponential >= capNanoseconds { break }
        }
        let jitter = Int64(Double(exponential) * Double.random(in: 0...maxJitter, using: &random))
        attempt += 1
        return .nanoseconds(Swift.min(exponential + jitter, capNanoseconds))
    }

    /// A connection came up at `now`.
    public mutating func connected(at now: Int64) {
        connectedAt = now
    }

    /// The connection went down at `now`: a connection that lasted the stable period resets the backoff.
    public mutating func disconnected(at now: Int64) {
        if let connectedAt, now - connectedAt >= stableNanoseconds { attempt = 0 }
        connectedAt = nil
    }
}
