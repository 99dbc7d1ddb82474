import Connector
import ConnectorWire
import ExchangeSim
import Foundation
import Market
import Runtime
import Testing
import TestSupport

/// What a backfill emitted, in order.
private final class Emitted: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ConnectorEvent] = []

    func append(_ event: ConnectorEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [ConnectorEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    var candles: [Candle] {
        var out: [Candle] = []
        for case .candles(let chunk) in all { out += chunk.candles }
        return out
    }

    var progress: [ConnectorEvent.BackfillProgress] {
        var out: [ConnectorEvent.BackfillProgress] = []
        for case .backfill(let progress) in all { out.append(progress) }
        return out
    }
}

@Suite("Kline backfill against keel sim")
struct BackfillTests {
    @Test("the backfill command and its events read back from their lines")
    func wireRoundTrip() throws {
        let command = ConnectorCommand.backfill(id: "b1", symbol: "BTCUSDT", since: 1_700_000_000_000)
        #expect(try ConnectorCommand.decode(Array(command.line.utf8)) == command)
        #expect(throws: ConnectorCommand.DecodeError.self) { try ConnectorCommand.decode(Array(#"{"command":"backfill","symbol":"BTCUSDT","since":"yesterday"}"#.utf8)) }
        var bybit = Candle(start: 60_000_000_000, end: 120_000_000_000, open: FixedDecimal(mantissa: 1005, scale: 1))
        bybit.volume = FixedDecimal(mantissa: 25, scale: 1)
        bybit.turnover = FixedDecimal(mantissa: 25125, scale: 2)
        bybit.takerSplit = false
        var binance = bybit
        binance.start += 60_000_000_000
        binance.end += 60_000_000_000
        binance.takerSplit = true
        binance.buyVolume = FixedDecimal(mantissa: 1, scale: 0)
        binance.buyTurnover = FixedDecimal(mantissa: 1005, scale: 1)
        binance.trades = 3
        let events: [ConnectorEvent] = [
            .candles(.init(id: "b1", symbol: "BTCUSDT", chunk: 1, chunks: 2, candles: [bybit, binance])),
            .backfill(.init(id: "b1", symbol: "BTCUSDT", state: .waiting, chunk: 1, chunks: 2, candles: 2, seconds: 0.25, reason: "HTTP 403")),
        ]
        for event in events { #expect(try ConnectorEvent.decode(event.line) == event) }
    }

    @Test("Bybit: 24 h of 1m candles in 2 chunks, through rest_error and rate_limit between them: every minute once, equal to the sim's past")
    func bybitThroughFaults() async throws {
        try await Self.startingEarlyInAMinute()
        try await SimHarness.with({ $0.historyMinutes = 2 * 1_440 }) { sim in
            let now = WallClock.nanoseconds()
            let from = now - 86_400_000_000_000
            var configuration = BackfillConfiguration()
            configuration.rateLimitWait = .milliseconds(500)
            configuration.backoff = .milliseconds(50)
            let emitted = Emitted()
            let exchange = sim.server.exchange
            let before = await exchange.stats.restRequests
            // Between the chunks: REST answers 503, then the IP limit (403). Each fault holds until it has been
            // met (two 503s retried; one 403 waited out), then the test lifts it (a window that ends at once):
            // a loaded machine cannot slip past a fault that only time would end.
            configuration.attempts = 20
            let faultsOn = Flag()
            let lifting = Task {
                while !Task.isCancelled, !faultsOn.isSet { try? await Task.sleep(for: .milliseconds(10)) }
                while !Task.isCancelled, await exchange.stats.restRequests - before < 3 { try? await Task.sleep(for: .milliseconds(10)) }
                try? await exchange.apply(SimFault(kind: .restError, seconds: 0.001), now: WallClock.nanoseconds())
                while !Task.isCancelled, !emitted.progress.contains(where: { $0.state == .waiting }) { try? await Task.sleep(for: .milliseconds(10)) }
                try? await exchange.apply(SimFault(kind: .rateLimit, seconds: 0.001), now: WallClock.nanoseconds())
            }
            defer { lifting.cancel() }
            let done = try await StandaloneBackfill.run(exchange: .bybit, symbol: "BTCUSDT", from: from, to: now, rest: RestConfiguration(baseURL: sim.restURL),
                                                        configuration: configuration, logger: SimHarness.quiet, emit: emitted.append) { chunk in
                guard chunk == 1 else { return }
                let at = WallClock.nanoseconds()
                try? await exchange.apply(SimFault(kind: .restError, seconds: 300), now: at)
                try? await exchange.apply(SimFault(kind: .rateLimit, seconds: 300), now: at)
                faultsOn.set()
            }
            #expect(done)
            let candles = emitted.candles
            let window = KlineWindow.minuteStart(from)..<KlineWindow.minuteStart(now)
            #expect(candles.count == 1_440)
            #expect(Set(candles.map(\.start)).count == 1_440)
            #expect(candles.allSatisfy { window.contains($0.start) })
            let truth = await exchange.minuteCandles("BTCUSDT").filter { window.contains($0.start) }
            let sorted = candles.sorted { $0.start < $1.start }
            #expect(sorted.count == truth.count)
            for (got, want) in zip(sorted, truth) {
                #expect(got.start == want.start && got.open == want.open && got.high == want.high && got.low == want.low && got.close == want.close
                        && got.volume == want.volume && got.turnover == want.turnover)
            }
            let progress = emitted.progress
            #expect(progress.filter { $0.state == .running }.map(\.chunk) == [0, 1, 2])
            #expect(progress.contains { $0.state == .waiting && $0.reason?.contains("403") == true })
            #expect(progress.last?.state == .done && progress.last?.chunks == 2)
            // Retried through the 503s and waited out the 403: more requests than chunks.
            #expect(await exchange.stats.restRequests - before > 3)
        }
    }

    /// Waits out the last 5 seconds of a minute. The sim's seeded past ends at the minute it starts in, and
    /// the minutes after are its live market's; a test that starts the sim late in a minute and asks up to
    /// the next one could ask for a live minute that has had no trade yet (no candle), one short of a day.
    static func startingEarlyInAMinute() async throws {
        let intoMinute = WallClock.nanoseconds() % 60_000_000_000
        if intoMinute > 55_000_000_000 {
            try await Task.sleep(for: .nanoseconds(60_000_000_000 - intoMinute + 100_000_000))
        }
    }

    /// A one-way flag between tasks.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    @Test("Binance: forwards in chunks with the taker split, waiting out 429 by its Retry-After")
    func binanceThroughRateLimit() async throws {
        try await Self.startingEarlyInAMinute()
        try await SimHarness.with({ $0.venue = .binanceUSDM; $0.historyMinutes = 1_440 }) { sim in
            let now = WallClock.nanoseconds()
            let from = now - 6 * 3_600_000_000_000
            var configuration = BackfillConfiguration()
            configuration.chunkLimit = 100
            configuration.backoff = .milliseconds(50)
            let emitted = Emitted()
            let exchange = sim.server.exchange
            // The 429s hold until one has been waited out, then the test lifts them.
            let lifting = Task {
                while !Task.isCancelled, !emitted.progress.contains(where: { $0.state == .waiting }) { try? await Task.sleep(for: .milliseconds(10)) }
                try? await exchange.apply(SimFault(kind: .rateLimit, seconds: 0.001), now: WallClock.nanoseconds())
            }
            defer { lifting.cancel() }
            let done = try await StandaloneBackfill.run(exchange: .binanceUSDM, symbol: "BTCUSDT", from: from, to: now, rest: RestConfiguration(baseURL: sim.restURL),
                                                        configuration: configuration, logger: SimHarness.quiet, emit: emitted.append) { chunk in
                if chunk == 2 { try? await exchange.apply(SimFault(kind: .rateLimit, seconds: 300), now: WallClock.nanoseconds()) }
            }
            #expect(done)
            let window = KlineWindow.minuteStart(from)..<KlineWindow.minuteStart(now)
            let candles = emitted.candles.sorted { $0.start < $1.start }
            let truth = await exchange.minuteCandles("BTCUSDT").filter { window.contains($0.start) }
            #expect(candles.count == 360 && truth.count == 360)
            #expect(candles == truth)
            #expect(emitted.progress.filter { $0.state == .running }.map(\.chunk) == [0, 1, 2, 3, 4])
            #expect(emitted.progress.contains { $0.state == .waiting && $0.reason?.contains("429") == true })
        }
    }

    @Test("a backfill that cannot complete says failed, with the reason")
    func failsWithReason() async throws {
        try await SimHarness.with({ $0.historyMinutes = 60 }) { sim in
            let now = WallClock.nanoseconds()
            var configuration = BackfillConfiguration()
            configuration.attempts = 3
            configuration.backoff = .milliseconds(20)
            let emitted = Emitted()
            try await sim.server.exchange.apply(SimFault(kind: .restError, seconds: 30), now: now)
            let done = try await StandaloneBackfill.run(exchange: .bybit, symbol: "BTCUSDT", from: now - 3_600_000_000_000, to: now,
                                                        rest: RestConfiguration(baseURL: sim.restURL), configuration: configuration,
                                                        logger: SimHarness.quiet, emit: emitted.append)
            #expect(!done)
            #expect(emitted.progress.last?.state == .failed)
            #expect(emitted.progress.last?.reason?.contains("503") == true)
        }
    }
}
