import Bybit
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime
import WSClient

/// Bybit's order-entry WebSocket (`/v5/trade`): authenticates on every connection, sends
/// `order.create|amend|cancel`, and pairs each ack with its request by `reqId`. A request is either
/// answered, or not answered in time, or lost with its connection — the last two are "unknown" to the
/// caller, who must reconcile; a request is only sent on an authenticated connection.
actor BybitTradeSession: SocketSession {
    enum Outcome: Sendable, Equatable {
        case answered(BybitTradeAck)
        /// No ack within the time limit: the order may exist.
        case timedOut
        /// The connection went down after the request was written: the order may exist.
        case connectionLost
    }

    private enum Slot {
        case sent(at: ContinuousClock.Instant)
        case waiting(CheckedContinuation<Outcome, Never>, deadline: ContinuousClock.Instant)
        case done(Outcome)
    }

    let credentials: Credentials
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    let socket: ReconnectingSocket
    private var watch: AuthenticatedWatch
    private var outgoing: AsyncStream<String>.Continuation?
    /// The connection's writer: a request is written by `send` itself, not handed to the socket's writer task.
    private var direct: WebSocketOutboundWriter?
    private var written: (@Sendable () -> Void)?
    private var authenticated = false
    private var slots: [String: Slot] = [:]

    init(configuration: SocketConfiguration, credentials: Credentials, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.credentials = credentials
        self.logger = logger
        self.emit = emit
        socket = ReconnectingSocket(name: "trade", logPrefix: "bybit", configuration: configuration, logger: logger, emit: emit)
        watch = AuthenticatedWatch(interval: configuration.pingInterval, timeout: configuration.pongTimeout)
    }

    func observeWrites(_ observer: @escaping @Sendable () -> Void) async { await socket.observeWrites(observer) }
    var isReady: Bool { authenticated && outgoing != nil }

    // MARK: Requests

    /// Writes a request on the authenticated connection; its ticket for `wait`, or `nil` when there is
    /// no such connection (nothing was sent, so the caller may use REST instead).
    func send(_ request: BybitOrderRequest, now: Int64) async -> String? {
        guard authenticated, let outgoing else { return nil }
        let id = watch.nextId("o")
        guard let text = BybitEncode.tradeRequest(requestId: id, request, timestamp: now) else { return nil }
        slots[id] = .sent(at: .now)
        if let direct {
            // A failed write means the connection is going: its close resolves the ticket (connection lost).
            do {
                try await direct.write(.text(text))
                written?()
            } catch {
                logger.warning("bybit_trade_write_failed", metadata: ["req_id": "\(id)", "error": "\(error)"])
            }
        } else {
            outgoing.yield(text)
        }
        return id
    }

    /// The request's outcome: its ack, or `timedOut` once `timeout` has passed since it was sent
    /// (checked every 100 ms), or `connectionLost`.
    func wait(_ ticket: String, timeout: Duration) async -> Outcome {
        switch slots[ticket] {
        case .done(let outcome)?:
            slots[ticket] = nil
            return outcome
        case .sent(let sentAt)?:
            // The watchdog tick (every 100 ms) times it out: no timer task per request.
            return await withCheckedContinuation { continuation in slots[ticket] = .waiting(continuation, deadline: sentAt + timeout) }
        case .waiting?, nil:
            return .timedOut
        }
    }

    private func resolve(_ ticket: String, _ outcome: Outcome) {
        switch slots[ticket] {
        case .waiting(let continuation, _)?:
            slots[ticket] = nil
            continuation.resume(returning: outcome)
        case .sent?:
            slots[ticket] = .done(outcome)
        case .done?, nil:
            if case .answered(let ack) = outcome {
                logger.info("bybit_trade_late_ack", metadata: ["op": "\(ack.op)", "ret_code": "\(ack.retCode)"])
            }
        }
    }

    // MARK: SocketSession

    func attach(_ writer: WebSocketOutboundWriter, written: (@Sendable () -> Void)?) {
        direct = writer
        self.written = written
    }

    func opened(_ continuation: AsyncStream<String>.Continuation, now: Int64) {
        outgoing = continuation
        authenticated = false
        continuation.yield(watch.opened(credentials: credentials, now: now))
    }

    func closed() {
        outgoing = nil
        direct = nil
        authenticated = false
        for ticket in Array(slots.keys) { resolve(ticket, .connectionLost) }
    }

    func received(_ text: String, at now: Int64) {
        var copy = text
        let ack: BybitTradeAck
        do {
            ack = try copy.withUTF8 { try BybitTradeAck.decode(UnsafeRawBufferPointer($0)) }
        } catch {
            logger.warning("bybit_trade_malformed_message", metadata: ["error": "\(error)", "bytes": "\(text.utf8.count)"])
            return
        }
        switch ack.op {
        case "pong":
            watch.pong()
        case "auth":
            if ack.success {
                watch.authAnswered(refusal: nil)
                authenticated = true
                emit(.status(.init(status: .authenticated, session: "trade")))
                logger.info("bybit_trade_authenticated")
            } else {
                emit(.error(.init(message: "trade stream auth refused: \(ack.retMessage) (\(ack.retCode))", code: "auth_failed")))
                logger.error("bybit_trade_auth_failed", metadata: ["ret_code": "\(ack.retCode)", "message": "\(ack.retMessage)"])
                watch.authAnswered(refusal: "auth refused (\(ack.retCode))")
            }
        default:
            if let ticket = ack.requestId { resolve(ticket, .answered(ack)) }
        }
    }

    func tick(now: Int64, instant: ContinuousClock.Instant) -> String? {
        for (ticket, slot) in slots {
            if case .waiting(_, let deadline) = slot, instant >= deadline { resolve(ticket, .timedOut) }
        }
        switch watch.tick(at: instant) {
        case .dead(let reason): return reason
        case .send: outgoing?.yield(BybitEncode.ping(requestId: watch.nextId("ping")))
        case .none: break
        }
        return nil
    }
}
