import Bybit
import Runtime

/// The watchdog of a session that must authenticate (private and trade streams): the `auth` request
/// with its deadline, the ping, and a reason to drop the connection when auth is refused.
struct AuthenticatedWatch {
    private(set) var ping: PingTracker
    private var authSentAt: ContinuousClock.Instant?
    private var dropReason: String?
    private var counter = 0

    init(interval: Duration, timeout: Duration) {
        ping = PingTracker(interval: interval, timeout: timeout)
    }

    /// A new connection: the `auth` request to send first (expires 10 s from `now`).
    mutating func opened(credentials: Credentials, now: Int64) -> String {
        ping.reset(at: .now)
        authSentAt = .now
        dropReason = nil
        let expires = now / 1_000_000 + 10_000
        return BybitEncode.auth(requestId: nextId("auth"), apiKey: credentials.apiKey, expires: expires,
                                signature: BybitSigning.authSignature(secret: credentials.apiSecret, expires: expires))
    }

    /// A request id unique on this session: `prefix-N`.
    mutating func nextId(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)-\(counter)"
    }

    mutating func authAnswered(refusal: String?) {
        authSentAt = nil
        dropReason = refusal
    }

    mutating func pong() { ping.pong(at: .now) }

    /// `dead` (with the reason) when the connection must go: auth refused or unanswered, or no pong.
    mutating func tick(at instant: ContinuousClock.Instant) -> PingTracker.Action {
        if let reason = dropReason {
            dropReason = nil
            return .dead(reason)
        }
        if let sent = authSentAt, instant - sent > ping.timeout { return .dead("no auth answer within \(ping.timeout)") }
        return ping.tick(at: instant)
    }
}
