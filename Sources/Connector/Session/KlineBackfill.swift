import Binance
import Bybit
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// How a kline backfill spends the exchange's REST limits (`limits.*`, `exchange.binance.*`).
public struct BackfillConfiguration: Sendable {
    /// After an IP rate-limit answer (Bybit's HTTP 403, Binance's 418 / 429 without `Retry-After`), no
    /// request goes out for this long: never retry into a ban.
    public var rateLimitWait: Duration = .seconds(60)
    /// A failed request (no answer, a 5xx, an answer that is not the exchange's shape) is tried again
    /// this many times, waiting as the one `ReconnectPolicy` says from `backoff`.
    public var attempts = 8
    public var backoff: Duration = .milliseconds(500)
    /// Binance: the request weight a minute the backfill may spend (the IP has 2,400; the snapshots keep theirs).
    public var weightPerMinute = 1_200
    /// The IP's weight a minute (Binance): at `X-MBX-USED-WEIGHT-1M` this close to it, wait for the next minute.
    public var ipWeightPerMinute = 2_400
    /// Candles per request; nil: the exchange's maximum (Bybit 1,000, Binance 1,500).
    public var chunkLimit: Int?
    /// Rate-limit waits in a row before the backfill gives up (an hour at the default wait).
    public var maxWaits = 60

    public init() {}
}

/// Which limits an exchange's REST answers speak.
enum RestLimitRules: Sendable {
    /// Bybit: 600 requests per 5 s per IP; past it, HTTP 403 (and a ban).
    case bybit
    /// Binance: request weight per minute, reported in `X-MBX-USED-WEIGHT-1M`; 429 past it, 418 when banned.
    case binance

    func isRateLimited(_ status: Int) -> Bool {
        switch self {
        case .bybit: return status == 403
        case .binance: return status == 429 || status == 418
        }
    }
}

/// Runs a kline backfill over the connector's REST transport: one request a chunk, each chunk's
/// candles written as a `candles` event and its progress as a `backfill` event (then `done`, or
/// `failed` with the reason). Rate limits are waited out (never retried into); other failures are
/// retried with the one backoff policy; a backfill that cannot complete says so and stops.
struct KlineBackfill: Sendable {
    let transport: RestTransport
    let configuration: BackfillConfiguration
    let rules: RestLimitRules
    let logger: Logger
    let logPrefix: String

    /// Runs `pager` to its end; true when every chunk came. `emit` gets the events; `onChunk` (tests,
    /// `keel backfill`'s bar) each chunk's number after it arrived.
    @discardableResult
    func run<Pager: KlinePaging>(_ start: Pager, symbol: String, id: String?, emit: @Sendable (ConnectorEvent) -> Void,
                                 onChunk: @Sendable (Int) async -> Void = { _ in }) async -> Bool {
        var pager = start
        let began = ContinuousClock.now
        var chunks = pager.chunks
        var chunk = 0
        var sent = 0
        var failures = 0
        var waits = 0
        var policy = ReconnectPolicy(base: configuration.backoff, cap: configuration.backoff * 64)
        var random = SystemRandomNumberGenerator()
        var budget = WeightBudget(perMinute: configuration.weightPerMinute)
        var usedWeight = 0
        var throttled = false
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - began
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        func progress(_ state: ConnectorEvent.BackfillProgress.State, _ reason: String? = nil) -> ConnectorEvent {
            .backfill(.init(id: id, symbol: symbol, state: state, chunk: chunk, chunks: chunks, candles: sent, seconds: seconds(), reason: reason))
        }
        func fail(_ reason: String) -> Bool {
            logger.error("\(logPrefix)_backfill_failed", metadata: ["symbol": "\(symbol)", "chunk": "\(chunk + 1)", "chunks": "\(chunks)", "reason": "\(reason)"])
            emit(progress(.failed, reason))
            return false
        }
        func wait(_ duration: Duration, _ reason: String) async -> Bool {
            waits += 1
            guard waits <= configuration.maxWaits else { return false }
            logger.warning("\(logPrefix)_backfill_rate_limited", metadata: ["symbol": "\(symbol)", "wait_s": "\(duration.inNanoseconds / 1_000_000_000)", "reason": "\(reason)"])
            emit(progress(.waiting, reason))
            try? await Task.sleep(for: duration)
            return !Task.isCancelled
        }
        /// A failed request: waits as the backoff policy says; false once the attempts are spent.
        func retry(_ error: any Error) async -> Bool {
            failures += 1
            guard failures < configuration.attempts else { return false }
            logger.warning("\(logPrefix)_backfill_retry", metadata: ["symbol": "\(symbol)", "attempt": "\(failures)", "reason": "\(error)"])
            try? await Task.sleep(for: policy.nextDelay(using: &random))
            return true
        }
        logger.info("\(logPrefix)_backfill_started", metadata: ["symbol": "\(symbol)", "chunks": "\(chunks)", "limit": "\(pager.limit)"])
        emit(progress(.running))
        while let request = pager.next() {
            if Task.isCancelled { return fail("stopped") }
            if rules == .binance {
                // Under the IP's limit as Binance last reported it (its window is the calendar minute)…
                let now = WallClock.nanoseconds()
                if usedWeight + request.weight > configuration.ipWeightPerMinute {
                    usedWeight = 0
                    let untilNextMinute = 60_000_000_000 - now % 60_000_000_000 + 100_000_000
                    guard await wait(.nanoseconds(untilNextMinute), "X-MBX-USED-WEIGHT-1M near the IP's \(configuration.ipWeightPerMinute)") else {
                        return fail("request weight exhausted")
                    }
                    continue
                }
                // … and within the backfill's own share of it.
                if !budget.take(request.weight, now: now) {
                    if !throttled { emit(progress(.waiting, "request weight: \(configuration.weightPerMinute) a minute for the backfill")) }
                    throttled = true
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                throttled = false
            }
            let answer: RestTransport.Answer
            do {
                answer = try await transport.execute(method: .GET, path: request.path, query: request.query)
            } catch {
                guard await retry(error) else { return fail("\(error) (\(failures) attempts)") }
                continue
            }
            if let used = answer.headers.first(name: "X-MBX-USED-WEIGHT-1M").flatMap({ Int($0) }) { usedWeight = used }
            if rules.isRateLimited(answer.status) {
                let retryAfter = answer.headers.first(name: "Retry-After").flatMap { Int64($0) }.map { Duration.seconds($0) }
                guard await wait(retryAfter ?? configuration.rateLimitWait, "HTTP \(answer.status): the exchange's rate limit") else {
                    return fail("rate limited \(waits) times in a row (HTTP \(answer.status))")
                }
                continue
            }
            let candles: [Candle]
            do throws(KlineError) {
                guard answer.status == 200 else { throw KlineError("HTTP \(answer.status): \(String(decoding: answer.body.prefix(120), as: UTF8.self))") }
                candles = try pager.take(answer.body)
            } catch {
                guard await retry(error) else { return fail("\(error) (\(failures) attempts)") }
                continue
            }
            failures = 0
            waits = 0
            policy = ReconnectPolicy(base: configuration.backoff, cap: configuration.backoff * 64)
            chunk += 1
            chunks = max(chunks, chunk)
            sent += candles.count
            emit(.candles(.init(id: id, symbol: symbol, chunk: chunk, chunks: chunks, candles: candles)))
            emit(progress(.running))
            logger.info("\(logPrefix)_backfill_chunk", metadata: ["symbol": "\(symbol)", "chunk": "\(chunk)", "chunks": "\(chunks)",
                                                                  "candles": "\(candles.count)"])
            await onChunk(chunk)
        }
        chunks = chunk
        logger.info("\(logPrefix)_backfill_done", metadata: ["symbol": "\(symbol)", "chunks": "\(chunk)", "candles": "\(sent)", "seconds": "\(seconds())"])
        emit(progress(.done))
        return true
    }
}

/// A backfill on its own, outside a connector process (`keel backfill`, tests): the same pager, limits
/// and events, over a REST client of its own.
public enum StandaloneBackfill {
    public enum Exchange: String, Sendable {
        case bybit
        case binanceUSDM = "binance-usdm"

        public var defaultRestURL: String { self == .bybit ? "https://api.bybit.com" : "https://fapi.binance.com" }
    }

    /// Fetches the closed 1m candles of `[from, to)` (ns, floored to minutes) and returns true when every
    /// chunk came; `emit` gets the `candles` and `backfill` events in order, `onChunk` each chunk's number.
    public static func run(exchange: Exchange, symbol: String, from: Int64, to: Int64, rest: RestConfiguration,
                           configuration: BackfillConfiguration, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void,
                           onChunk: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> Bool {
        var rest = rest
        rest.preWarmedConnections = 0
        let transport = try RestTransport(configuration: rest)
        let done = await KlineBackfill.run(exchange, transport: transport, configuration: configuration, logger: logger, symbol: symbol,
                                           from: from, to: to, id: nil, emit: emit, onChunk: onChunk)
        await transport.shutdown()
        return done
    }
}

extension KlineBackfill {
    /// `exchange`'s pager and limits over `transport`, for the closed 1m candles of `[from, to)` (ns,
    /// floored to minutes): the connector's `backfill` command and `keel backfill` alike.
    @discardableResult
    static func run(_ exchange: StandaloneBackfill.Exchange, transport: RestTransport, configuration: BackfillConfiguration, logger: Logger,
                    symbol: String, from: Int64, to: Int64, id: String?, emit: @Sendable (ConnectorEvent) -> Void,
                    onChunk: @Sendable (Int) async -> Void = { _ in }) async -> Bool {
        let start = KlineWindow.minuteStart(from)
        let end = KlineWindow.minuteStart(to)
        switch exchange {
        case .bybit:
            let runner = KlineBackfill(transport: transport, configuration: configuration, rules: .bybit, logger: logger, logPrefix: "bybit")
            return await runner.run(BybitKlinePager(symbol: symbol, from: start, to: end, limit: configuration.chunkLimit ?? 1_000),
                                    symbol: symbol, id: id, emit: emit, onChunk: onChunk)
        case .binanceUSDM:
            let runner = KlineBackfill(transport: transport, configuration: configuration, rules: .binance, logger: logger, logPrefix: "binance")
            return await runner.run(BinanceKlinePager(symbol: symbol, from: start, to: end, limit: configuration.chunkLimit ?? 1_500),
                                    symbol: symbol, id: id, emit: emit, onChunk: onChunk)
        }
    }
}
