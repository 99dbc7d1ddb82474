import Bybit
import Connector
import Market
import Runtime
import Testing

struct ReconnectPolicyTests {
    @Test func delaysGrowExponentiallyWithJitterUpToTheCap() {
        var policy = ReconnectPolicy()
        var random = SeededRandom(seed: 1)
        var delays: [Double] = []
        for _ in 0..<12 {
            let delay = policy.nextDelay(using: &random)
            delays.append(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        }
        for (attempt, delay) in delays.enumerated() {
            let exponential = min(0.5 * Double(1 << attempt), 60)
            #expect(delay >= exponential - 1e-9, "attempt \(attempt)")
            #expect(delay <= min(exponential * 1.3, 60) + 1e-9, "attempt \(attempt)")
        }
        #expect(delays.last == 60)
        // Jitter actually varies: the same policy with other seeds gives other delays.
        func first5(seed: UInt64) -> [Duration] {
            var policy = ReconnectPolicy()
            var random = SeededRandom(seed: seed)
            return (0..<5).map { _ in policy.nextDelay(using: &random) }
        }
        #expect(first5(seed: 7) != first5(seed: 8))
    }

    @Test func aStableConnectionResetsTheBackoff() {
        var policy = ReconnectPolicy()
        var random = SeededRandom(seed: 3)
        for _ in 0..<5 { _ = policy.nextDelay(using: &random) }
        policy.connected(at: 0)
        policy.disconnected(at: 30_000_000_000)         // 30 s: not stable
        #expect(policy.attempt == 5)
        policy.connected(at: 40_000_000_000)
        policy.disconnected(at: 101_000_000_000)        // 61 s: stable
        #expect(policy.attempt == 0)
        #expect(policy.nextDelay(using: &random) <= .milliseconds(650))
    }

    /// Reconnect attempts over a 30 s outage are bounded by the policy: no storm.
    @Test func attemptsDuringAnOutageAreBounded() {
        var policy = ReconnectPolicy()
        var random = SeededRandom(seed: 4)
        var elapsed: Duration = .zero
        var attempts = 0
        while elapsed < .seconds(30) {
            elapsed += policy.nextDelay(using: &random)
            attempts += 1
        }
        #expect(attempts <= 7)   // 0.5+1+2+4+8+16 s ≥ 30 s after at most 6–7 tries
    }
}

struct StaleFeedDetectorTests {
    @Test func aSilentTopicIsStaleOthersAreNot() {
        var detector = StaleFeedDetector()
        detector.watch("orderbook.50.BTCUSDT", threshold: .seconds(10), from: 0)
        detector.watch("publicTrade.BTCUSDT", threshold: .seconds(60), from: 0)
        detector.record("orderbook.50.BTCUSDT", at: 5_000_000_000)
        #expect(detector.stale(now: 14_000_000_000).isEmpty)
        let stale = detector.stale(now: 15_500_000_000)
        #expect(stale.map(\.topic) == ["orderbook.50.BTCUSDT"])
        #expect(stale.first?.silentNanoseconds == 10_500_000_000 && stale.first?.thresholdNanoseconds == 10_000_000_000)
        detector.forget("orderbook.50.BTCUSDT")
        #expect(detector.stale(now: 61_000_000_000).map(\.topic) == ["publicTrade.BTCUSDT"])
        detector.record("unwatched", at: 1)
        #expect(detector.age("unwatched", now: 2) == nil)
    }
}

struct RateBudgetTests {
    let second: Int64 = 1_000_000_000

    @Test func rollingWindowCapsRequestsAndKeepsTheReserveForCancels() {
        var budget = RateBudget(limit: 3, reserve: 1)
        var taken: [Bool] = []
        taken.append(budget.take(now: 0))
        taken.append(budget.take(now: 1))
        taken.append(budget.take(now: 2))                  // the last one is the reserve: refused
        taken.append(budget.take(now: 2, priority: true))  // a cancel may use it
        taken.append(budget.take(now: 3, priority: true))  // spent
        taken.append(budget.take(now: second))             // only the first request has left the window
        taken.append(budget.take(now: second + 2))         // now all of them have
        #expect(taken == [true, true, false, true, false, false, true])
        #expect(budget.remaining == 2)
    }

    @Test func theExchangesReportLowersTheLimitAndASpentBudgetBlocksUntilReset() {
        var budget = RateBudget(limit: 10)
        var taken: [Bool] = [budget.take(now: 0)]
        budget.update(BybitRateLimit(limit: 2, remaining: 0, resetTime: 500), now: 10)
        #expect(budget.limit == 2 && budget.remaining == 0)
        taken.append(budget.take(now: 100, priority: true))  // blocked until 500
        budget.refused(now: 600, until: nil)                 // a 10006 with no reset: a whole window
        taken.append(budget.take(now: second))
        taken.append(budget.take(now: 600 + second))
        #expect(taken == [true, false, false, true])
    }
}
