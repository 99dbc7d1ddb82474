import Binance
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// How `keel connector binance-usdm` reads market data. Every threshold is configurable; tests use short ones.
public struct BinanceSessionConfiguration: Sendable {
    /// `socket.url` is the WebSocket base (`wss://fstream.binance.com`); the session opens `<base>/stream`.
    public var socket: SocketConfiguration
    public var rest: RestConfiguration
    public var symbols: [String]
    /// The diff depth stream's suffix: `@depth@100ms` (default), `@depth@0ms` or `@depth` (250 ms).
    public var depthStream = "@depth@100ms"
    /// No depth diff this long: the feed is stale and the connection is dropped.
    public var bookStaleAfter: Duration = .seconds(10)
    /// No trade this long: stale (trades can be legitimately quiet, so the default is generous).
    public var tradeStaleAfter: Duration = .seconds(120)
    /// Binance closes a connection at 24 h: a new one is opened and synced before that, then swapped in.
    public var rotateAfter: Duration = .seconds(23 * 3_600)
    /// Levels of the REST snapshot (`/fapi/v1/depth?limit=`).
    public var snapshotLimit = 1_000
    /// Request weight a minute the snapshots may use (Binance allows 2,400 for the whole IP).
    public var snapshotWeightPerMinute = 1_200
    /// Sees every frame exactly as received, with its symbol and receive time, before it is parsed;
    /// REST snapshots too (the recorder writes both, as hftbacktest's collector does).
    public var frameTap: (@Sendable (UnsafeRawBufferPointer, String, Int64) -> Void)?

    public init(socket: SocketConfiguration, rest: RestConfiguration, symbols: [String]) {
        self.socket = socket
        self.rest = rest
        self.symbols = symbols
    }

    /// The streams of one symbol: its diff depth, trades and book ticker.
    func streams(_ symbol: String) -> [String] {
        let name = symbol.lowercased()
        return [name + depthStream, name + "@trade", name + "@bookTicker"]
    }

    /// Binance's weight of one `/fapi/v1/depth` request of `limit` levels.
    static func snapshotWeight(limit: Int) -> Int {
        switch limit {
        case ...50: return 2
        case ...100: return 5
        case ...500: return 10
        default: return 20
        }
    }
}

/// Request weight spent in the last minute, so snapshots never push the IP over its limit. Pure.
struct WeightBudget: Sendable {
    let perMinute: Int
    private var spent: [(time: Int64, weight: Int)] = []

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Spends `weight` at `now` when the last minute leaves room for it.
    mutating func take(_ weight: Int, now: Int64) -> Bool {
        spent.removeAll { now - $0.time >= 60_000_000_000 }
        guard spent.reduce(0, { $0 + $1.weight }) + weight <= perMinute else { return false }
        spent.append((now, weight))
        return true
    }
}

/// Binance USD-M public market data that stays up and stays exact: a combined-stream connection (diff
/// depth, trades, book ticker per symbol, subscribed on open), each book synced from a REST snapshot by
/// Binance's rules; a `pu` break invalidates that book and resyncs it from a new snapshot; silence, a
/// dead socket or an unanswered WebSocket ping reconnects with backoff. Before Binance's 24 h limit a
/// second connection is opened and synced, then swapped in, so the bot's book has no gap.
public actor BinancePublicSession {
    public let configuration: BinanceSessionConfiguration
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    let rest: RestTransport
    private var active: BinanceConnection
    private var standby: BinanceConnection?
    private var generation = 1
    private var stopping = false
    public private(set) var rotations = 0

    public init(configuration: BinanceSessionConfiguration, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) throws {
        self.configuration = configuration
        self.logger = logger
        self.emit = emit
        rest = try RestTransport(configuration: configuration.rest)
        active = BinanceConnection(generation: 1, configuration: configuration, rest: rest, active: true, logger: logger, emit: emit)
    }

    /// Connects, reconnects and rotates until `stop()`.
    public func run() async {
        let first = active
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await first.run() }
            group.addTask { await self.watchRotation() }
            await group.waitForAll()
        }
        await rest.shutdown()
    }

    public func stop() async {
        stopping = true
        await active.stop()
        await standby?.stop()
    }

    /// Five times a second: past `rotateAfter` a standby connection is opened; once all its books are synced it
    /// replaces the active one (the bot gets each book from it as a snapshot, then its diffs).
    private func watchRotation() async {
        var tasks: [Task<Void, Never>] = []
        while !stopping && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            let now = WallClock.nanoseconds()
            if let standby {
                guard await standby.allSynced else { continue }
                let old = active
                await old.deactivate()
                await standby.activate(now: now)
                active = standby
                self.standby = nil
                rotations += 1
                logger.info("binance_public_rotated", metadata: ["generation": "\(generation)", "reason": "connection older than \(configuration.rotateAfter)"])
                await old.stop()
            } else if let age = await active.age(now: now), age >= configuration.rotateAfter.inNanoseconds {
                generation += 1
                let next = BinanceConnection(generation: generation, configuration: configuration, rest: rest, active: false, logger: logger, emit: emit)
                standby = next
                logger.info("binance_public_rotating", metadata: ["generation": "\(generation)", "age_s": "\(age / 1_000_000_000)"])
                tasks.append(Task { await next.run() })
            }
        }
        for task in tasks { await task.value }
    }

    public var reconnects: Int {
        get async { await active.socket.reconnects }
    }

    public func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe add: Bool) async {
        await active.change(channel, symbol: symbol, subscribe: add)
    }

    public func stats(now: Int64) async -> ConnectorEvent.Stats {
        await active.stats(now: now)
    }

    /// `/fapi/v1/exchangeInfo`, for the `instrument` command.
    func exchangeInfo() async throws(RestFailure) -> BinanceExchangeInfo {
        let answer = try await rest.execute(method: .GET, path: "/fapi/v1/exchangeInfo")
        guard answer.status == 200 else { throw .status(answer.status) }
        do throws(BinanceExchangeInfo.Failure) {
            return try BinanceExchangeInfo.decode(answer.body)
        } catch {
            throw .malformed(error.description)
        }
    }
}

/// One generation of the Binance connection (one socket, reconnecting, with its own books). Only the
/// active generation's events reach the bot.
actor BinanceConnection: SocketSession {
    let generation: Int
    let configuration: BinanceSessionConfiguration
    let rest: RestTransport
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    let socket: ReconnectingSocket
    private var isActive: Bool
    private var feed = BinanceFeed()
    private var detector = StaleFeedDetector()
    private var outgoing: AsyncStream<String>.Continuation?
    private var openedAt: Int64?
    private var symbols: [String]
    private var requestId: Int64 = 0
    private var budget: WeightBudget
    /// Symbols whose book needs a snapshot, with the reason to report once it is mended.
    private var needsSnapshot: [String: String] = [:]
    private var inFlight: Set<String> = []
    private var retryAt: [String: Int64] = [:]
    private var snapshotPolicy: ReconnectPolicy
    private var random = SystemRandomNumberGenerator()
    private var streamStats: [String: (messages: Int, bytes: Int, errors: Int)] = [:]
    private(set) var resyncs = 0
    private(set) var malformed = 0

    init(generation: Int, configuration: BinanceSessionConfiguration, rest: RestTransport, active: Bool, logger: Logger,
         emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.generation = generation
        self.configuration = configuration
        self.rest = rest
        self.logger = logger
        self.emit = emit
        isActive = active
        symbols = configuration.symbols
        budget = WeightBudget(perMinute: configuration.snapshotWeightPerMinute)
        snapshotPolicy = configuration.socket.reconnect
        var socketConfiguration = configuration.socket
        socketConfiguration.url = configuration.socket.url + "/stream"
        socket = ReconnectingSocket(name: "public", logPrefix: "binance", connector: BinanceFeed.exchange, configuration: socketConfiguration,
                                    logger: logger, emit: { event in emit(event) })
    }

    private func send(_ event: ConnectorEvent) {
        if isActive { emit(event) }
    }

    var allSynced: Bool {
        symbols.allSatisfy { feed.sync(for: $0)?.isValid == true }
    }

    func age(now: Int64) -> Int64? { openedAt.map { now - $0 } }

    func deactivate() { isActive = false }

    /// Takes over as the bot's source: each synced book first, as a snapshot.
    func activate(now: Int64) {
        isActive = true
        for symbol in symbols {
            guard let state = feed.bookState(symbol: symbol), state.isValid else { continue }
            let update = DepthUpdate(symbol: symbol, kind: .snapshot, bids: state.book.levels(.bid), asks: state.book.levels(.ask),
                                     firstUpdateId: state.lastUpdateId ?? 0, lastUpdateId: state.lastUpdateId ?? 0,
                                     exchangeTime: now, receiveTime: now)
            emit(.depth(.init(update: update, depth: nil)))
        }
        if configuration.frameTap != nil { recordSnapshots() }
    }

    /// After a rotation the recording goes on from this connection's frames; a fresh snapshot of each
    /// book goes in with them, so a reader whose diffs do not join across the swap resyncs at once
    /// (one no newer than its book is ignored). Recorded only: the live books are already synced.
    private func recordSnapshots() {
        let weight = BinanceSessionConfiguration.snapshotWeight(limit: configuration.snapshotLimit)
        for symbol in symbols where budget.take(weight, now: WallClock.nanoseconds()) {
            let rest = rest
            let limit = configuration.snapshotLimit
            let tap = configuration.frameTap
            Task {
                guard let answer = try? await rest.execute(method: .GET, path: "/fapi/v1/depth", query: "symbol=\(symbol)&limit=\(limit)"),
                      answer.status == 200 else { return }
                answer.body.withUnsafeBytes { tap?($0, symbol, WallClock.nanoseconds()) }
            }
        }
    }

    // MARK: The socket's session

    func opened(_ continuation: AsyncStream<String>.Continuation, now: Int64) {
        outgoing = continuation
        openedAt = now
        feed = BinanceFeed()
        detector.forgetAll()
        needsSnapshot = [:]
        inFlight = []
        retryAt = [:]
        for symbol in symbols { needsSnapshot[symbol] = "connected" }
        subscribe(symbols.flatMap(configuration.streams), now: now)
    }

    func closed() {
        outgoing = nil
        openedAt = nil
    }

    private func subscribe(_ streams: [String], method: String = "SUBSCRIBE", now: Int64) {
        guard let outgoing, !streams.isEmpty else { return }
        // Binance takes at most 10 requests a second on a connection: few large ones.
        for start in stride(from: 0, to: streams.count, by: 200) {
            requestId += 1
            outgoing.yield(BinanceEncode.request(method: method, streams: Array(streams[start..<min(start + 200, streams.count)]), id: requestId))
        }
        guard method == "SUBSCRIBE" else { return }
        for stream in streams where !stream.hasSuffix("@bookTicker") {
            detector.watch(stream, threshold: stream.hasSuffix("@trade") ? configuration.tradeStaleAfter : configuration.bookStaleAfter, from: now)
        }
    }

    func tick(now: Int64, instant: ContinuousClock.Instant) -> String? {
        if let stale = detector.stale(now: now).first {
            send(.status(.init(status: .stale, connector: BinanceFeed.exchange, session: "public",
                               reason: "no message for \(stale.silentNanoseconds / 1_000_000) ms (threshold \(stale.thresholdNanoseconds / 1_000_000) ms)",
                               topic: stale.topic)))
            logger.warning("binance_public_stale_feed", metadata: ["topic": "\(stale.topic)", "silent_ms": "\(stale.silentNanoseconds / 1_000_000)"])
            return "stale feed on \(stale.topic)"
        }
        requestSnapshots(now: now)
        return nil
    }

    func received(_ text: String, at now: Int64) {
        var copy = text
        let stream = BinanceConnection.streamName(text)
        var events: [MarketEvent] = []
        copy.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            // Only the active connection is recorded: a standby's frames would interleave with it.
            if isActive, let tap = configuration.frameTap, let stream, let at = stream.firstIndex(of: "@") {
                tap(raw, stream[..<at].uppercased(), now)
            }
            let errors = feed.stats.errors
            feed.ingest(raw, receiveTime: now) { events.append($0) }
            if feed.stats.errors > errors {
                malformed += 1
                logger.warning("binance_public_malformed_message", metadata: ["bytes": "\(bytes.count)", "stream": "\(stream ?? "none")"])
            }
        }
        for event in events { handle(event) }
        if let stream {
            var entry = streamStats[stream] ?? (0, 0, 0)
            entry.messages += 1
            entry.bytes += text.utf8.count
            streamStats[stream] = entry
            detector.record(stream, at: now)
        } else if text.contains("\"error\"") {
            send(.error(.init(message: "subscribe refused: \(text.prefix(200))", code: "subscribe_failed")))
            logger.error("binance_public_subscribe_failed", metadata: ["answer": "\(text.prefix(200))"])
        } else if text.hasPrefix("{\"result\"") {
            send(.status(.init(status: .subscribed, connector: BinanceFeed.exchange, session: "public")))
        }
        requestSnapshots(now: now)
    }

    /// `"stream":"btcusdt@depth@100ms"` of a combined frame, read without parsing the rest.
    static func streamName(_ text: String) -> String? {
        let utf8 = text.utf8
        let key = Array(#""stream":""#.utf8)
        guard utf8.count > key.count, utf8.starts(with: [UInt8(ascii: "{")] + key) else { return nil }
        let start = utf8.index(utf8.startIndex, offsetBy: key.count + 1)
        guard let end = utf8[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(text[start..<end])
    }

    private func handle(_ event: MarketEvent) {
        switch event {
        case .depth(let depth):
            if depth.cause == .delta {
                send(.depth(.init(update: depth.update, depth: nil)))
                return
            }
            var update = depth.asSnapshot
            update.lastUpdateId = feed.sync(for: update.symbol)?.lastUpdateId ?? update.lastUpdateId
            send(.depth(.init(update: update, depth: nil)))
            if let reason = needsSnapshot.removeValue(forKey: update.symbol), reason != "connected" {
                resyncs += 1
                send(.status(.init(status: .resynced, connector: BinanceFeed.exchange, session: "public", reason: reason, topic: update.symbol)))
                logger.warning("binance_public_resynced", metadata: ["symbol": "\(update.symbol)", "reason": "\(reason)"])
            }
        case .trade(let trade):
            send(.trade(trade))
        case .bookInvalid(let invalid):
            let stream = invalid.symbol.lowercased() + configuration.depthStream
            var entry = streamStats[stream] ?? (0, 0, 0)
            entry.errors += 1
            streamStats[stream] = entry
            needsSnapshot[invalid.symbol] = "\(invalid.fault)"
            logger.warning("binance_public_book_invalid", metadata: ["symbol": "\(invalid.symbol)", "fault": "\(invalid.fault)"])
        }
    }

    /// Asks for the snapshot of every book that needs one and has buffered a diff (so the snapshot
    /// can be joined to the stream), within the weight budget and after a failed request's backoff.
    private func requestSnapshots(now: Int64) {
        // Called on every frame: nothing to do (the usual case) costs no more than this check.
        guard !needsSnapshot.isEmpty, outgoing != nil else { return }
        let weight = BinanceSessionConfiguration.snapshotWeight(limit: configuration.snapshotLimit)
        for symbol in needsSnapshot.keys.sorted() where !inFlight.contains(symbol) {
            guard (feed.sync(for: symbol)?.bufferedCount ?? 0) > 0, now >= retryAt[symbol] ?? 0 else { continue }
            guard budget.take(weight, now: now) else {
                logger.warning("binance_snapshot_throttled", metadata: ["symbol": "\(symbol)", "weight_per_minute": "\(configuration.snapshotWeightPerMinute)"])
                retryAt[symbol] = now + 1_000_000_000
                continue
            }
            inFlight.insert(symbol)
            let rest = rest
            let limit = configuration.snapshotLimit
            Task {
                do throws(RestFailure) {
                    let answer = try await rest.execute(method: .GET, path: "/fapi/v1/depth", query: "symbol=\(symbol)&limit=\(limit)")
                    guard answer.status == 200 else { throw .status(answer.status) }
                    self.snapshotArrived(symbol, answer.body, at: WallClock.nanoseconds())
                } catch {
                    self.snapshotFailed(symbol, error)
                }
            }
        }
    }

    private func snapshotArrived(_ symbol: String, _ body: [UInt8], at now: Int64) {
        inFlight.remove(symbol)
        guard outgoing != nil else { return }
        snapshotPolicy = configuration.socket.reconnect
        var events: [MarketEvent] = []
        body.withUnsafeBytes { raw in
            if isActive { configuration.frameTap?(raw, symbol, now) }
            if !feed.ingestSnapshot(raw, symbol: symbol, receiveTime: now, { events.append($0) }) {
                logger.warning("binance_snapshot_malformed", metadata: ["symbol": "\(symbol)", "bytes": "\(raw.count)"])
            }
        }
        for event in events { handle(event) }
        if feed.sync(for: symbol)?.isValid == true {
            logger.info("binance_book_synced", metadata: ["symbol": "\(symbol)", "last_update_id": "\(feed.sync(for: symbol)?.lastUpdateId ?? 0)",
                                                          "generation": "\(generation)"])
        }
    }

    private func snapshotFailed(_ symbol: String, _ error: RestFailure) {
        inFlight.remove(symbol)
        let delay = snapshotPolicy.nextDelay(using: &random)
        retryAt[symbol] = WallClock.nanoseconds() + delay.inNanoseconds
        logger.warning("binance_snapshot_failed", metadata: ["symbol": "\(symbol)", "reason": "\(error)", "retry_ms": "\(delay.inNanoseconds / 1_000_000)"])
    }

    // MARK: Commands and stats

    func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe add: Bool) {
        let name = symbol.lowercased()
        let streams = channel == .depth ? [name + configuration.depthStream, name + "@bookTicker"] : [name + "@trade"]
        if add {
            if !symbols.contains(symbol) {
                symbols.append(symbol)
            }
            if channel == .depth { needsSnapshot[symbol] = needsSnapshot[symbol] ?? "subscribed" }
            subscribe(streams, now: WallClock.nanoseconds())
        } else {
            for stream in streams { detector.forget(stream) }
            subscribe(streams, method: "UNSUBSCRIBE", now: WallClock.nanoseconds())
        }
    }

    func stats(now: Int64) async -> ConnectorEvent.Stats {
        var result: [String: ConnectorEvent.Stats.Topic] = [:]
        for stream in symbols.flatMap(configuration.streams) {
            let entry = streamStats[stream] ?? (0, 0, 0)
            result[stream] = .init(messages: entry.messages, bytes: entry.bytes, errors: entry.errors,
                                   lastMessageAgeMilliseconds: detector.age(stream, now: now).map { $0 / 1_000_000 })
        }
        return .init(topics: result, reconnects: await socket.reconnects, resyncs: resyncs, malformed: malformed,
                     pingRTTMilliseconds: nil, rateLimitRemaining: nil)
    }
}
