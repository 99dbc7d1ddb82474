import Bybit
import Foundation
import Logging
import Market

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
        case sent
        case waiting(CheckedContinuation<Outcome, Never>)
        case done(Outcome)
    }

    let credentials: Credentials
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    private let socket: ReconnectingSocket
    private var watch: AuthenticatedWatch
    private var outgoing: AsyncStream<String>.Continuation?
    private var authenticated = false
    private var counter = 0
    private var slots: [String: Slot] = [:]
    private(set) var lateAcks = 0

    init(configuration: SocketConfiguration, credentials: Credentials, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.credentials = credentials
        self.logger = logger
        self.emit = emit
        socket = ReconnectingSocket(name: "trade", configuration: configuration, logger: logger, emit: emit)
        watch = AuthenticatedWatch(interval: configuration.pingInterval, timeout: configuration.pongTimeout)
    }

    func run() async { await socket.run(self) }
    func observeWrites(_ observer: @escaping @Sendable () -> Void) async { await socket.observeWrites(observer) }
    func stop() async { await socket.stop() }
    var reconnects: Int { get async { await socket.reconnects } }
    var isReady: Bool { authenticated && outgoing != nil }
    var roundTripMilliseconds: Double? { watch.ping.roundTripMilliseconds }

    private func nextId(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)-\(counter)"
    }

    // MARK: Requests

    /// Writes a request on the authenticated connection; its ticket for `wait`, or `nil` when there is
    /// no such connection (nothing was sent, so the caller may use REST instead).
    func send(_ request: BybitOrderRequest, now: Int64) -> String? {
        guard authenticated, let outgoing else { return nil }
        let id = nextId("o")
        guard let text = BybitEncode.tradeRequest(requestId: id, request, timestamp: now) else { return nil }
        slots[id] = .sent
        outgoing.yield(text)
        return id
    }

    /// The request's outcome: its ack, or `timedOut` after `timeout`, or `connectionLost`.
    func wait(_ ticket: String, timeout: Duration) async -> Outcome {
        switch slots[ticket] {
        case .done(let outcome)?:
            slots[ticket] = nil
            return outcome
        case .sent?:
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.resolve(ticket, .timedOut)
            }
            return await withCheckedContinuation { continuation in slots[ticket] = .waiting(continuation) }
        case .waiting?, nil:
            return .timedOut
        }
    }

    private func resolve(_ ticket: String, _ outcome: Outcome) {
        switch slots[ticket] {
        case .waiting(let continuation)?:
            slots[ticket] = nil
            continuation.resume(returning: outcome)
        case .sent?:
            slots[ticket] = .done(outcome)
        case .done?, nil:
            if case .answered(let ack) = outcome {
                lateAcks += 1
                logger.info("bybit_trade_late_ack", metadata: ["op": "\(ack.op)", "ret_code": "\(ack.retCode)"])
            }
        }
    }

    // MARK: SocketSession

    func opened(_ continuation: AsyncStream<String>.Continuation, now: Int64) {
        outgoing = continuation
        authenticated = false
        continuation.yield(watch.opened(credentials: credentials, now: now, requestId: nextId("auth")))
    }

    func closed() {
        outgoing = nil
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
                emit(.status(.init(status: "authenticated", session: "trade")))
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
        switch watch.tick(at: instant) {
        case .dead(let reason): return reason
        case .send: outgoing?.yield(BybitEncode.ping(requestId: nextId("ping")))
        case .none: break
        }
        return nil
    }
}
