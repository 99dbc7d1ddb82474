import Bybit
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// Bybit's private WebSocket: `auth`, then `order`, `execution`, `position` and `wallet`, turned into
/// `order`, `fill`, `position` and `wallet` events with exact decimals. Re-authenticates and
/// resubscribes on every reconnect, and once subscribed calls `onReady` so the account can be
/// reconciled over REST (what changed while the stream was down is not replayed by Bybit).
actor BybitPrivateSession: SocketSession {
    static let topics = ["order", "execution", "position", "wallet"]
    /// The account topics, plus `dcp.future` when DCP is on (the subscription is what DCP watches).
    let subscriptions: [String]

    let credentials: Credentials
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    private let onReady: @Sendable () async -> Void
    let socket: ReconnectingSocket
    private let decoder = BybitPrivateDecoder()
    private var watch: AuthenticatedWatch
    private var outgoing: AsyncStream<String>.Continuation?
    private var topicStats: [String: (messages: Int, bytes: Int, errors: Int, last: Int64?)] = [:]
    private(set) var malformed = 0

    init(configuration: SocketConfiguration, credentials: Credentials, logger: Logger, disconnectCancel: Bool = false,
         emit: @escaping @Sendable (ConnectorEvent) -> Void, onReady: @escaping @Sendable () async -> Void) {
        subscriptions = BybitPrivateSession.topics + (disconnectCancel ? ["dcp.future"] : [])
        self.credentials = credentials
        self.logger = logger
        self.emit = emit
        self.onReady = onReady
        socket = ReconnectingSocket(name: "private", logPrefix: "bybit", configuration: configuration, logger: logger, emit: emit)
        watch = AuthenticatedWatch(interval: configuration.pingInterval, timeout: configuration.pongTimeout)
    }


    func opened(_ continuation: AsyncStream<String>.Continuation, now: Int64) {
        outgoing = continuation
        continuation.yield(watch.opened(credentials: credentials, now: now))
    }

    func closed() {
        outgoing = nil
    }

    func received(_ text: String, at now: Int64) {
        var copy = text
        let message: BybitPrivateMessage
        do {
            message = try copy.withUTF8 { try decoder.decode(UnsafeRawBufferPointer($0)) }
        } catch {
            malformed += 1
            logger.warning("bybit_private_malformed_message", metadata: ["error": "\(error)", "bytes": "\(text.utf8.count)"])
            return
        }
        switch message {
        case .orders(let orders):
            count("order", bytes: text.utf8.count, at: now)
            for order in orders { emit(.order(order)) }
        case .fills(let fills):
            count("execution", bytes: text.utf8.count, at: now)
            for fill in fills { emit(.fill(fill)) }
        case .positions(let positions):
            count("position", bytes: text.utf8.count, at: now)
            for position in positions { emit(.position(position)) }
        case .wallets(let wallets):
            count("wallet", bytes: text.utf8.count, at: now)
            for wallet in wallets { emit(.wallet(wallet)) }
        case .response(let response):
            answer(response)
        case .other:
            break
        }
    }

    private func answer(_ response: BybitResponse) {
        switch response.op {
        case "pong":
            watch.pong()
        case "auth":
            if response.success {
                watch.authAnswered(refusal: nil)
                emit(.status(.init(status: .authenticated, session: "private")))
                logger.info("bybit_private_authenticated")
                outgoing?.yield(BybitEncode.subscribe(requestId: watch.nextId("sub"), topics: subscriptions))
            } else {
                emit(.error(.init(message: "private stream auth refused: \(response.message)", code: "auth_failed")))
                logger.error("bybit_private_auth_failed", metadata: ["message": "\(response.message)"])
                watch.authAnswered(refusal: "auth refused")
            }
        case "subscribe":
            if response.success {
                emit(.status(.init(status: .subscribed, session: "private")))
                let onReady = self.onReady
                Task { await onReady() }
            } else {
                emit(.error(.init(message: "private subscribe refused: \(response.message)", code: "subscribe_failed")))
                logger.error("bybit_private_subscribe_failed", metadata: ["message": "\(response.message)"])
            }
        default:
            break
        }
    }

    private func count(_ topic: String, bytes: Int, at now: Int64) {
        var entry = topicStats[topic] ?? (0, 0, 0, nil)
        entry.messages += 1
        entry.bytes += bytes
        entry.last = now
        topicStats[topic] = entry
    }

    func tick(now: Int64, instant: ContinuousClock.Instant) -> String? {
        switch watch.tick(at: instant) {
        case .dead(let reason): return reason
        case .send: outgoing?.yield(BybitEncode.ping(requestId: watch.nextId("ping")))
        case .none: break
        }
        return nil
    }

    /// Per-topic counters for the `stats` event (private topics are quiet between account changes, so
    /// they have no staleness threshold; the ping watches the socket).
    func stats(now: Int64) -> [String: ConnectorEvent.Stats.Topic] {
        var result: [String: ConnectorEvent.Stats.Topic] = [:]
        for topic in BybitPrivateSession.topics {
            let entry = topicStats[topic] ?? (0, 0, 0, nil)
            result["private." + topic] = .init(messages: entry.messages, bytes: entry.bytes, errors: entry.errors,
                                               lastMessageAgeMilliseconds: entry.last.map { (now - $0) / 1_000_000 })
        }
        return result
    }
}
