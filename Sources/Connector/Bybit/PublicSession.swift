import Bybit
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// How a public session connects and watches its feed. Every threshold is configurable; tests use short ones.
public struct PublicSessionConfiguration: Sendable {
    public var socket: SocketConfiguration
    public var symbols: [String]
    public var depth: Int
    /// No orderbook message this long (after subscribing): the feed is stale.
    public var bookStaleAfter: Duration = .seconds(10)
    /// No trade this long: stale (trades can be legitimately quiet, so the default is generous).
    public var tradeStaleAfter: Duration = .seconds(120)
    /// Sees every frame exactly as received, with its receive time, before it is parsed (the recorder).
    public var frameTap: (@Sendable (UnsafeRawBufferPointer, Int64) -> Void)?

    public init(url: String, symbols: [String], depth: Int) {
        socket = SocketConfiguration(url: url)
        self.symbols = symbols
        self.depth = depth
    }
}

/// One Bybit public WebSocket session that stays up: connect, subscribe `orderbook.{depth}` and
/// `publicTrade` per symbol, ping every 20 s and expect the pong, watch each topic for silence, and on
/// any failure reconnect with backoff and jitter, resubscribe and resync. Books follow Bybit's rules;
/// on a gap, a `u == 1` restart or a crossed book the topic is resubscribed, and the bot gets the
/// fresh book as a `depth` snapshot plus a `status` naming the reason. Only trusted depth goes out.
public actor BybitPublicSession: SocketSession {
    public let configuration: PublicSessionConfiguration
    let emit: @Sendable (ConnectorEvent) -> Void
    let logger: Logger
    let socket: ReconnectingSocket
    /// Bybit's one feed path: raw messages → trusted books, trades, broken books.
    private var feed = BybitFeed()
    private var detector = StaleFeedDetector()
    private var ping: PingTracker
    private var topics: [String] = []
    private var outgoing: AsyncStream<String>.Continuation?
    private var requestCounter = 0
    private var pendingResync: [String: String] = [:]
    // Statistics for the `stats` event.
    private var topicStats: [String: (messages: Int, bytes: Int, errors: Int)] = [:]
    public private(set) var resyncs = 0
    public private(set) var malformed = 0

    public init(configuration: PublicSessionConfiguration, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.configuration = configuration
        self.emit = emit
        self.logger = logger
        socket = ReconnectingSocket(name: "public", logPrefix: "bybit", configuration: configuration.socket, logger: logger, emit: emit)
        ping = PingTracker(interval: configuration.socket.pingInterval, timeout: configuration.socket.pongTimeout)
        topics = configuration.symbols.flatMap { ["orderbook.\(configuration.depth).\($0)", "publicTrade.\($0)"] }
    }

    // MARK: Running

    /// Connects and reconnects until `stop()`.
    public func run() async {
        await socket.run(self)
    }

    public func stop() async {
        await socket.stop()
    }

    public var reconnects: Int {
        get async { await socket.reconnects }
    }

    func opened(_ continuation: AsyncStream<String>.Continuation, now: Int64) {
        outgoing = continuation
        feed.reset()
        detector.forgetAll()
        ping.reset(at: .now)
        subscribe(topics, now: now)
    }

    func closed() {
        outgoing = nil
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

    /// One watchdog tick: pings, and a reason to drop on a missing pong or a silent topic.
    func tick(now: Int64, instant: ContinuousClock.Instant) -> String? {
        if let stale = detector.stale(now: now).first {
            emit(.status(.init(status: .stale, session: "public", reason: "no message for \(stale.silentNanoseconds / 1_000_000) ms (threshold \(stale.thresholdNanoseconds / 1_000_000) ms)", topic: stale.topic)))
            logger.warning("bybit_public_stale_feed", metadata: ["topic": "\(stale.topic)", "silent_ms": "\(stale.silentNanoseconds / 1_000_000)"])
            return "stale feed on \(stale.topic)"
        }
        switch ping.tick(at: instant) {
        case .dead(let reason): return reason
        case .send: outgoing?.yield(BybitEncode.ping(requestId: nextRequestId()))
        case .none: break
        }
        return nil
    }

    // MARK: Messages

    func received(_ text: String, at now: Int64) {
        var copy = text
        let emit = emit
        let tap = configuration.frameTap
        let received = copy.withUTF8 { bytes in
            tap?(UnsafeRawBufferPointer(bytes), now)
            return feed.receive(UnsafeRawBufferPointer(bytes), receiveTime: now) { event in
                switch event {
                case .depth(let depth):
                    // After a (re)snapshot the bot gets the whole trusted book, as it should hold it now.
                    let update = depth.cause == .delta ? depth.update : depth.asSnapshot
                    emit(.depth(.init(update: update, depth: depth.depthLimit)))
                case .trade(let trade):
                    emit(.trade(trade))
                case .bookInvalid:
                    break
                }
            }
        }
        switch received {
        case .malformed(let error):
            malformed += 1
            logger.warning("bybit_public_malformed_message", metadata: ["error": "\(error)", "bytes": "\(text.utf8.count)"])
        case .depth(let topic, let outcome, _):
            let name = topic.description
            count(name, bytes: text.utf8.count)
            detector.record(name, at: now)
            resync(after: outcome, topic: name)
        case .trades(let symbol, _):
            let topic = "publicTrade.\(symbol)"
            count(topic, bytes: text.utf8.count)
            detector.record(topic, at: now)
        case .response(let response):
            if response.isPong {
                ping.pong(at: .now)
            } else if response.op == "subscribe" {
                if response.success {
                    emit(.status(.init(status: .subscribed, session: "public")))
                } else {
                    emit(.error(.init(message: "subscribe refused: \(response.message)", code: "subscribe_failed")))
                    logger.error("bybit_public_subscribe_failed", metadata: ["message": "\(response.message)"])
                }
            }
        case .other:
            break
        }
    }

    private func count(_ topic: String, bytes: Int) {
        var entry = topicStats[topic] ?? (0, 0, 0)
        entry.messages += 1
        entry.bytes += bytes
        topicStats[topic] = entry
    }

    /// A broken book is resubscribed (Bybit sends a fresh snapshot on subscribe); the snapshot that
    /// mends it, or an exchange restart, is reported as a resync with its reason.
    private func resync(after outcome: BybitBookSync.Outcome, topic: String) {
        switch outcome {
        case .restartApplied:
            resyncs += 1
            pendingResync[topic] = nil
            emit(.status(.init(status: .resynced, session: "public", reason: "exchange restart (u == 1)", topic: topic)))
            logger.warning("bybit_public_resynced", metadata: ["topic": "\(topic)", "reason": "exchange restart"])
        case .snapshotApplied:
            if let reason = pendingResync.removeValue(forKey: topic) {
                resyncs += 1
                emit(.status(.init(status: .resynced, session: "public", reason: reason, topic: topic)))
                logger.warning("bybit_public_resynced", metadata: ["topic": "\(topic)", "reason": "\(reason)"])
            }
        case .invalidated(let fault):
            var entry = topicStats[topic] ?? (0, 0, 0)
            entry.errors += 1
            topicStats[topic] = entry
            pendingResync[topic] = "\(fault)"
            logger.warning("bybit_public_book_invalid", metadata: ["topic": "\(topic)", "fault": "\(fault)"])
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic], op: "unsubscribe"))
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic]))
        case .deltaApplied, .ignored:
            break
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
            if channel == .depth { feed.forget(BybitBookTopic(symbol: symbol, depth: configuration.depth)) }
            outgoing?.yield(BybitEncode.subscribe(requestId: nextRequestId(), topics: [topic], op: "unsubscribe"))
        }
    }

    public func stats(now: Int64) async -> ConnectorEvent.Stats {
        var result: [String: ConnectorEvent.Stats.Topic] = [:]
        for topic in topics {
            let entry = topicStats[topic] ?? (0, 0, 0)
            result[topic] = .init(messages: entry.messages, bytes: entry.bytes, errors: entry.errors,
                                  lastMessageAgeMilliseconds: detector.age(topic, now: now).map { $0 / 1_000_000 })
        }
        return .init(topics: result, reconnects: await socket.reconnects, resyncs: resyncs, malformed: malformed,
                     pingRTTMilliseconds: ping.roundTripMilliseconds, rateLimitRemaining: nil)
    }
}
