import Bybit
import Foundation
import Logging
import Market
import NIOSSL
import WSClient

/// How a public session connects and watches its feed. Every threshold is configurable; tests use short ones.
public struct PublicSessionConfiguration: Sendable {
    public var url: String
    public var symbols: [String]
    public var depth: Int
    public var pingInterval: Duration = .seconds(20)
    /// No pong this long after a ping: the socket is dead.
    public var pongTimeout: Duration = .seconds(10)
    /// No orderbook message this long (after subscribing): the feed is stale.
    public var bookStaleAfter: Duration = .seconds(10)
    /// No trade this long: stale (trades can be legitimately quiet, so the default is generous).
    public var tradeStaleAfter: Duration = .seconds(120)
    public var reconnect = ReconnectPolicy()
    /// A PEM file of certificates to trust (e.g. `keel sim --tls`'s), besides the system's.
    public var caFile: String?
    /// Snapshots of 1000 levels are larger than WebSocket's default 16 KiB frame limit.
    public var maxFrameSize = 8 << 20

    public init(url: String, symbols: [String], depth: Int) {
        self.url = url
        self.symbols = symbols
        self.depth = depth
    }
}

/// One Bybit public WebSocket session that stays up: connect, subscribe `orderbook.{depth}` and
/// `publicTrade` per symbol, ping every 20 s and expect the pong, watch each topic for silence, and on
/// any failure reconnect with backoff and jitter, resubscribe and resync. Books follow Bybit's rules;
/// on a gap, a `u == 1` restart or a crossed book the topic is resubscribed, and the bot gets the
/// fresh book as a `depth` snapshot plus a `status` naming the reason. Only trusted depth goes out.
public actor BybitPublicSession {
    public let configuration: PublicSessionConfiguration
    let emit: @Sendable (ConnectorEvent) -> Void
    let logger: Logger
    private var decoder = BybitDecoder()
    private var books: [BybitBookTopic: BybitBookSync] = [:]
    private var detector = StaleFeedDetector()
    private var policy: ReconnectPolicy
    private var random = SeededRandom(seed: UInt64(UInt32.random(in: 0 ... .max)))
    private var topics: [String] = []
    private var outgoing: AsyncStream<String>.Continuation?
    private var pendingPing: (id: String, sentAt: ContinuousClock.Instant)?
    private var requestCounter = 0
    private var stopping = false
    /// Why the current connection is being closed by us, reported when it goes down.
    private var closeReason: String?
    private var pendingResync: [String: String] = [:]
    // Statistics for the `stats` event.
    private var topicStats: [String: (messages: Int, bytes: Int, errors: Int)] = [:]
    public private(set) var reconnects = 0
    public private(set) var resyncs = 0
    public private(set) var malformed = 0
    private var pingRTT: Double?

    public init(configuration: PublicSessionConfiguration, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.configuration = configuration
        self.emit = emit
        self.logger = logger
        policy = configuration.reconnect
        topics = configuration.symbols.flatMap { ["orderbook.\(configuration.depth).\($0)", "publicTrade.\($0)"] }
    }

    // MARK: Running

    /// Connects and reconnects until `stop()`.
    public func run() async {
        while !stopping && !Task.isCancelled {
            var reason = "closed by the exchange"
            do {
                let close = try await connectOnce()
                if let close { reason = "closed by the exchange (code \(close.closeCode))" }
            } catch {
                reason = "\(error)"
            }
            if let ours = closeReason { reason = ours }
            closeReason = nil
            outgoing = nil
            policy.disconnected(at: WallClock.nanoseconds())
            if stopping || Task.isCancelled { break }
            emit(.status(.init(status: "disconnected", reason: reason)))
            logger.warning("bybit_public_disconnected", metadata: ["reason": "\(reason)"])
            let delay = policy.nextDelay(using: &random)
            reconnects += 1
            let milliseconds = delay.components.seconds * 1_000 + delay.components.attoseconds / 1_000_000_000_000_000
            emit(.status(.init(status: "reconnecting", reason: reason, attempt: policy.attempt, retryDelayMilliseconds: milliseconds)))
            logger.info("bybit_public_reconnecting", metadata: ["attempt": "\(policy.attempt)", "retry_delay_ms": "\(milliseconds)"])
            try? await Task.sleep(for: delay)
        }
    }

    public func stop() {
        stopping = true
        closeReason = "shutdown"
        outgoing?.finish()
    }

    private func connectOnce() async throws -> WebSocketCloseFrame? {
        var tls: TLSConfiguration?
        if configuration.url.hasPrefix("wss") {
            var client = TLSConfiguration.makeClientConfiguration()
            if let caFile = configuration.caFile {
                client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            tls = client
        }
        return try await WebSocketClient.connect(
            url: configuration.url,
            configuration: .init(maxFrameSize: configuration.maxFrameSize),
            tlsConfiguration: tls,
            logger: logger
        ) { inbound, outbound, _ in
            let (requests, continuation) = AsyncStream.makeStream(of: String.self)
            await self.connected(continuation)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await request in requests { try await outbound.write(.text(request)) }
                    try? await outbound.close(.normalClosure, reason: nil)
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: self.configuration.maxFrameSize) {
                        guard case .text(let text) = message else { continue }
                        await self.receive(text, at: WallClock.nanoseconds())
                    }
                }
                group.addTask { try await self.watch() }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func connected(_ continuation: AsyncStream<String>.Continuation) {
        outgoing = continuation
        let now = WallClock.nanoseconds()
        policy.connected(at: now)
        books.removeAll()
        detector.forgetAll()
        pendingPing = nil
        emit(.status(.init(status: "connected")))
        logger.info("bybit_public_connected", metadata: ["url": "\(configuration.url)"])
        subscribe(topics, now: now)
    }

    private func nextRequestId() -> String {
        requestCounter += 1
        return "keel-\(requestCounter)"
    }

    private func subscribe(_ list: [String], now: Int64) {
        guard let outgoing, !list.isEmpty else { return }
        // Bybit takes at most 10 args a request on spot; linear has no such limit, but stay small.
        for start in stride(from: 0, to: list.count, by: 10) {
            let chunk = Array(list[start..<min(start + 10, list.count)])
            outgoing.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: chunk))
        }
        for topic in list {
            let threshold = topic.hasPrefix("orderbook") ? configuration.bookStaleAfter : configuration.tradeStaleAfter
            detector.watch(topic, threshold: threshold, from: now)
        }
    }

    /// Sends pings, and closes the connection on a missing pong or a silent topic.
    private func watch() async throws {
        let clock = ContinuousClock()
        var nextPing = clock.now + configuration.pingInterval
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(100))
            if check(now: WallClock.nanoseconds(), instant: clock.now, nextPing: &nextPing) { return }
        }
    }

    /// One watchdog tick; true when the connection must be dropped.
    private func check(now: Int64, instant: ContinuousClock.Instant, nextPing: inout ContinuousClock.Instant) -> Bool {
        if let pending = pendingPing, instant - pending.sentAt > configuration.pongTimeout {
            return drop(reason: "no pong within \(configuration.pongTimeout)")
        }
        if let stale = detector.stale(now: now).first {
            emit(.status(.init(status: "stale", reason: "no message for \(stale.silentNanoseconds / 1_000_000) ms (threshold \(stale.thresholdNanoseconds / 1_000_000) ms)", topic: stale.topic)))
            logger.warning("bybit_public_stale_feed", metadata: ["topic": "\(stale.topic)", "silent_ms": "\(stale.silentNanoseconds / 1_000_000)"])
            return drop(reason: "stale feed on \(stale.topic)")
        }
        if instant >= nextPing, pendingPing == nil {
            let id = nextRequestId()
            pendingPing = (id, instant)
            outgoing?.yield(BybitEncode.ping(requestId: id))
            nextPing = instant + configuration.pingInterval
        }
        return false
    }

    private func drop(reason: String) -> Bool {
        closeReason = reason
        outgoing?.finish()
        return true
    }

    // MARK: Messages

    private func receive(_ text: String, at now: Int64) {
        var copy = text
        let decoded: BybitPublicMessage
        do {
            decoded = try copy.withUTF8 { try decoder.decode(UnsafeRawBufferPointer($0), receiveTime: now) }
        } catch {
            malformed += 1
            logger.warning("bybit_public_malformed_message", metadata: ["error": "\(error)", "bytes": "\(text.utf8.count)"])
            return
        }
        switch decoded {
        case .depth(let message):
            let topic = message.topic.description
            count(topic, bytes: text.utf8.count)
            detector.record(topic, at: now)
            apply(message, topic: topic)
        case .trades(let trades):
            guard let first = trades.first else { return }
            let topic = "publicTrade.\(first.symbol)"
            count(topic, bytes: text.utf8.count)
            detector.record(topic, at: now)
            for trade in trades { emit(.trade(trade)) }
        case .response(let response):
            if response.isPong {
                if let pending = pendingPing {
                    let rtt = ContinuousClock.now - pending.sentAt
                    pingRTT = Double(rtt.components.seconds) * 1e3 + Double(rtt.components.attoseconds) / 1e15
                }
                pendingPing = nil
            } else if response.op == "subscribe" {
                if response.success {
                    emit(.status(.init(status: "subscribed")))
                } else {
                    emit(.error(.init(message: "subscribe refused: \(response.message)", code: "subscribe_failed")))
                    logger.error("bybit_public_subscribe_failed", metadata: ["message": "\(response.message)"])
                }
            }
        case .request, .other:
            break
        }
    }

    private func count(_ topic: String, bytes: Int) {
        var entry = topicStats[topic] ?? (0, 0, 0)
        entry.messages += 1
        entry.bytes += bytes
        topicStats[topic] = entry
    }

    private func apply(_ message: BybitDepthMessage, topic: String) {
        var sync = books[message.topic] ?? BybitBookSync(depth: message.topic.depth)
        let outcome = sync.apply(message.update)
        books[message.topic] = sync
        switch outcome {
        case .deltaApplied:
            emit(.depth(.init(update: message.update, depth: message.topic.depth)))
        case .snapshotApplied, .restartApplied:
            // The whole trusted book, as the bot should hold it now.
            var snapshot = message.update
            snapshot.kind = .snapshot
            snapshot.bids = sync.book.levels(.bid)
            snapshot.asks = sync.book.levels(.ask)
            emit(.depth(.init(update: snapshot, depth: message.topic.depth)))
            if outcome == .restartApplied {
                resyncs += 1
                emit(.status(.init(status: "resynced", reason: "exchange restart (u == 1)", topic: topic)))
                logger.warning("bybit_public_resynced", metadata: ["topic": "\(topic)", "reason": "exchange restart"])
            } else if let reason = pendingResync.removeValue(forKey: topic) {
                resyncs += 1
                emit(.status(.init(status: "resynced", reason: reason, topic: topic)))
                logger.warning("bybit_public_resynced", metadata: ["topic": "\(topic)", "reason": "\(reason)"])
            }
        case .ignored:
            break
        case .invalidated(let fault):
            var entry = topicStats[topic] ?? (0, 0, 0)
            entry.errors += 1
            topicStats[topic] = entry
            pendingResync[topic] = "\(fault)"
            logger.warning("bybit_public_book_invalid", metadata: ["topic": "\(topic)", "fault": "\(fault)"])
            // Bybit sends a fresh snapshot on (re)subscribe.
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic], op: "unsubscribe"))
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic]))
        }
    }

    // MARK: Commands

    /// Adds or removes a channel for a symbol; sent at once when connected, and kept for reconnects.
    public func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe add: Bool) {
        let topic = channel == .depth ? "orderbook.\(configuration.depth).\(symbol)" : "publicTrade.\(symbol)"
        if add {
            guard !topics.contains(topic) else { return }
            topics.append(topic)
            subscribe([topic], now: WallClock.nanoseconds())
        } else {
            guard topics.contains(topic) else { return }
            topics.removeAll { $0 == topic }
            detector.forget(topic)
            books = books.filter { $0.key.description != topic }
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic], op: "unsubscribe"))
        }
    }

    public func stats(now: Int64) -> ConnectorEvent.Stats {
        var result: [String: ConnectorEvent.Stats.Topic] = [:]
        for topic in topics {
            let entry = topicStats[topic] ?? (0, 0, 0)
            result[topic] = .init(messages: entry.messages, bytes: entry.bytes, errors: entry.errors,
                                  lastMessageAgeMilliseconds: detector.age(topic, now: now).map { $0 / 1_000_000 })
        }
        return .init(topics: result, reconnects: reconnects, resyncs: resyncs, malformed: malformed,
                     pingRTTMilliseconds: pingRTT, rateLimitRemaining: nil)
    }
}

/// The connector's reading of real time, UTC nanoseconds.
enum WallClock {
    static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
