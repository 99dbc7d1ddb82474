import ConnectorWire
import Foundation
import Logging
import Market
import NIOSSL
import Runtime
import WSClient

/// Where a WebSocket session connects and how it keeps the connection honest. Every threshold is
/// configurable; tests use short ones.
public struct SocketConfiguration: Sendable {
    public var url: String
    /// A PEM file of the certificates to trust (e.g. `keel sim --tls`'s) instead of the system's.
    public var caFile: String?
    /// Snapshots of 1000 levels are larger than WebSocket's default 16 KiB frame limit.
    public var maxFrameSize = 8 << 20
    public var pingInterval: Duration = .seconds(20)
    /// No pong this long after a ping: the socket is dead.
    public var pongTimeout: Duration = .seconds(10)
    public var reconnect = ReconnectPolicy()
    /// WebSocket-level pings from our side this often, the connection dropped when one is not answered
    /// by the next (Binance's way; Bybit's sessions ping at the application level instead). nil: none.
    public var webSocketPing: Duration?

    public init(url: String) {
        self.url = url
    }
}

/// One connection's worth of a session's logic: what to send when the socket opens, what each text
/// frame means, and a watchdog tick (every 100 ms) that may ask for the connection to be dropped.
protocol SocketSession: Actor {
    var socket: ReconnectingSocket { get }
    func opened(_ outgoing: AsyncStream<String>.Continuation, now: Int64)
    func received(_ text: String, at now: Int64)
    /// The connection's writer, for a session that writes some frames itself (no task between the caller
    /// and the socket); `written` is the socket's write observer. Most sessions only queue.
    func attach(_ writer: WebSocketOutboundWriter, written: (@Sendable () -> Void)?)
    /// A reason to drop the connection, or `nil`.
    func tick(now: Int64, instant: ContinuousClock.Instant) -> String?
    func closed()
}

extension SocketSession {
    func attach(_ writer: WebSocketOutboundWriter, written: (@Sendable () -> Void)?) {}

    /// Connects and reconnects until `stop()`.
    func run() async { await socket.run(self) }
    func stop() async { await socket.stop() }
    var reconnects: Int { get async { await socket.reconnects } }
}

/// Keeps one session's WebSocket up: connects (TLS for `wss://`), runs the session on it, and when it
/// goes down — closed, failed, or dropped by the session's watchdog — reports why and reconnects with
/// backoff and jitter (never a storm), until `stop()`.
actor ReconnectingSocket {
    let name: String
    /// The exchange's prefix of the log event names (`bybit_public_connected`, `binance_public_connected`).
    let logPrefix: String
    /// The wire's `connector` of the statuses this socket reports (`bybit`, `binance-usdm`).
    let connector: String
    let configuration: SocketConfiguration
    let logger: Logger
    let emit: @Sendable (ConnectorEvent) -> Void
    private var policy: ReconnectPolicy
    private var random = SeededRandom(seed: UInt64(UInt32.random(in: 0 ... .max)))
    private var outgoing: AsyncStream<String>.Continuation?
    private var stopping = false
    /// Why the current connection is being closed by us, reported when it goes down.
    private var closeReason: String?
    private(set) var reconnects = 0
    /// Called after each frame is written to the socket (`keel bench connector` times order requests with it).
    private var writeObserver: (@Sendable () -> Void)?

    func observeWrites(_ observer: @escaping @Sendable () -> Void) {
        writeObserver = observer
    }

    init(name: String, logPrefix: String, connector: String = "bybit", configuration: SocketConfiguration, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) {
        self.name = name
        self.logPrefix = logPrefix
        self.connector = connector
        self.configuration = configuration
        self.logger = logger
        self.emit = emit
        policy = configuration.reconnect
    }

    func run(_ session: some SocketSession) async {
        while !stopping && !Task.isCancelled {
            var reason = "closed by the exchange"
            do {
                if let close = try await connectOnce(session) { reason = "closed by the exchange (code \(close.closeCode))" }
            } catch {
                reason = "\(error)"
            }
            if let ours = closeReason { reason = ours }
            closeReason = nil
            outgoing = nil
            await session.closed()
            policy.disconnected(at: WallClock.nanoseconds())
            if stopping || Task.isCancelled { break }
            emit(.status(.init(status: .disconnected, connector: connector, session: name, reason: reason)))
            logger.warning("\(logPrefix)_\(name)_disconnected", metadata: ["reason": "\(reason)"])
            let delay = policy.nextDelay(using: &random)
            reconnects += 1
            let milliseconds = delay.inNanoseconds / 1_000_000
            emit(.status(.init(status: .reconnecting, connector: connector, session: name, reason: reason, attempt: policy.attempt, retryDelayMilliseconds: milliseconds)))
            logger.info("\(logPrefix)_\(name)_reconnecting", metadata: ["attempt": "\(policy.attempt)", "retry_delay_ms": "\(milliseconds)"])
            try? await Task.sleep(for: delay)
        }
    }

    func stop() {
        stopping = true
        closeReason = "shutdown"
        outgoing?.finish()
    }

    private func drop(_ reason: String) {
        closeReason = reason
        outgoing?.finish()
    }

    private func connectOnce(_ session: some SocketSession) async throws -> WebSocketCloseFrame? {
        let tls = configuration.url.hasPrefix("wss") ? try TLSConfiguration.client(trusting: configuration.caFile) : nil
        let maxFrameSize = configuration.maxFrameSize
        let written = writeObserver
        return try await WebSocketClient.connect(
            url: configuration.url,
            configuration: .init(maxFrameSize: maxFrameSize,
                                 autoPing: configuration.webSocketPing.map { .enabled(timePeriod: $0) } ?? .disabled),
            tlsConfiguration: tls,
            logger: logger
        ) { inbound, outbound, _ in
            let (requests, continuation) = AsyncStream.makeStream(of: String.self)
            guard await self.opened(continuation) else { return }
            await session.attach(outbound, written: written)
            await session.opened(continuation, now: WallClock.nanoseconds())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await request in requests {
                        try await outbound.write(.text(request))
                        written?()
                    }
                    try? await outbound.close(.normalClosure, reason: nil)
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: maxFrameSize) {
                        guard case .text(let text) = message else { continue }
                        await session.received(text, at: WallClock.nanoseconds())
                    }
                }
                group.addTask {
                    let clock = ContinuousClock()
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(100))
                        if let reason = await session.tick(now: WallClock.nanoseconds(), instant: clock.now) {
                            await self.drop(reason)
                            return
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Takes the new connection's sender; false when stopping (the connection closes at once).
    private func opened(_ continuation: AsyncStream<String>.Continuation) -> Bool {
        guard !stopping else {
            continuation.finish()
            return false
        }
        outgoing = continuation
        policy.connected(at: WallClock.nanoseconds())
        emit(.status(.init(status: .connected, connector: connector, session: name)))
        logger.info("\(logPrefix)_\(name)_connected", metadata: ["url": "\(configuration.url)"])
        return true
    }
}

extension TLSConfiguration {
    /// A client configuration trusting the certificates of `caFile` instead of the system's, when given
    /// (the WebSocket sessions and the REST client alike).
    static func client(trusting caFile: String?) throws -> TLSConfiguration {
        var client = TLSConfiguration.makeClientConfiguration()
        if let caFile { client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        return client
    }
}

/// App-level ping/pong on one connection: a ping every `interval`, and a dead socket when no pong
/// comes within `timeout`. Keeps the last round-trip time.
struct PingTracker {
    enum Action: Equatable {
        case none, send
        case dead(String)
    }

    let interval: Duration
    let timeout: Duration
    private var next: ContinuousClock.Instant?
    private var sentAt: ContinuousClock.Instant?
    private(set) var roundTripMilliseconds: Double?

    init(interval: Duration, timeout: Duration) {
        self.interval = interval
        self.timeout = timeout
    }

    /// A fresh connection: the first ping one interval from now.
    mutating func reset(at instant: ContinuousClock.Instant) {
        next = instant + interval
        sentAt = nil
    }

    mutating func tick(at instant: ContinuousClock.Instant) -> Action {
        if let sentAt, instant - sentAt > timeout { return .dead("no pong within \(timeout)") }
        guard sentAt == nil, let due = next, instant >= due else { return .none }
        sentAt = instant
        next = instant + interval
        return .send
    }

    mutating func pong(at instant: ContinuousClock.Instant) {
        if let sentAt {
            roundTripMilliseconds = Double((instant - sentAt).inNanoseconds) / 1e6
        }
        sentAt = nil
    }
}
