import Connector
import Foundation
import Hummingbird
import Logging
import Market
import Prometheus
import ServiceLifecycle
import Supervisor

/// `keel run`: the connector supervised, its events into the bot's market state, and the HTTP API
/// (`/health`, `/ready`, `/ws/health`, `/metrics`). SIGTERM / SIGINT stop it in order: the connector
/// gets `shutdown` (then SIGTERM, SIGKILL), the HTTP server closes, the process exits.
public struct BotService: Sendable {
    public let settings: BotSettings
    public let supervisor: ConnectorSupervisor
    public let state: MarketState
    let metrics: BotMetrics
    let logger: Logger

    public init(settings: BotSettings, executable: String, environment: [String: String] = [:], logger: Logger) {
        self.settings = settings
        self.logger = logger
        var runner = RunnerConfiguration(executable: executable, arguments: settings.connectorArguments())
        runner.environment = environment
        runner.queueCapacity = settings.queueSize
        var configuration = SupervisorConfiguration(runner: runner)
        configuration.healthInterval = ConnectorSettings.duration(settings.healthCheckInterval)
        configuration.staleAfter = ConnectorSettings.duration(settings.staleThreshold)
        configuration.staleGrace = ConnectorSettings.duration(settings.staleGrace)
        configuration.healthLogInterval = ConnectorSettings.duration(settings.healthLogInterval)
        configuration.restart = ReconnectPolicy(base: .milliseconds(settings.connector.reconnectBaseMilliseconds),
                                                cap: .milliseconds(settings.connector.reconnectCapMilliseconds))
        supervisor = ConnectorSupervisor(configuration: configuration, logger: logger)
        let metrics = BotMetrics()
        self.metrics = metrics
        state = MarketState { metrics.tickToBot(nanoseconds: $0) }
    }

    /// Runs until SIGTERM / SIGINT (or cancellation); `onListening` gets the HTTP port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = Application(
            router: HTTPAPI(service: self).router(),
            configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "keel"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let core = BotCore(service: self)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: core), .init(service: application)],
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()
    }

    /// The connector's lifetime as a service: connect, move events into the state, disconnect on shutdown.
    struct BotCore: ServiceLifecycle.Service {
        let service: BotService

        func run() async throws {
            let supervisor = service.supervisor
            let state = service.state
            await supervisor.connect()
            let consumer = Task {
                for await event in supervisor.events { await state.apply(event, now: WallClock.nanoseconds()) }
            }
            try? await gracefulShutdown()
            service.logger.info("keel_shutdown", metadata: ["step": "stopping the connector"])
            await supervisor.disconnect()
            await consumer.value
            service.logger.info("keel_shutdown", metadata: ["step": "connector stopped"])
        }
    }
}

/// The HTTP API on `monitoring.http_host:monitoring.http_port`.
struct HTTPAPI {
    let service: BotService

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let service = self.service
        router.get("/health") { _, _ in
            json(["status": "ok"])
        }
        router.get("/ready") { _, _ in
            let health = await service.supervisor.health()
            let books = await service.state.summary()
            var reasons: [String] = []
            if !health.connected { reasons.append("connector not connected") }
            for symbol in service.settings.connector.symbols {
                if let book = books[symbol] {
                    if !book.valid { reasons.append("book \(symbol) invalid (waiting for a snapshot)") }
                } else {
                    reasons.append("no book for \(symbol) yet")
                }
            }
            let object: [String: Any] = ["ready": reasons.isEmpty, "reasons": reasons, "connected": health.connected,
                                         "trading_allowed": false, "trading_reason": "no strategy in this version (paper or live trading comes with the strategy)"]
            return json(object, status: reasons.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/ws/health") { _, _ in
            let now = WallClock.nanoseconds()
            let health = await service.supervisor.health(now: now)
            let books = await service.state.summary()
            var connectorHealth: [String: Any] = ["process_alive": health.processAlive, "queue_size": health.queueSize, "error_count": health.errorCount]
            connectorHealth["pid"] = health.pid.map { Int($0) } ?? NSNull()
            let lastTimestamp: Any = health.lastEventTime.map { ISO8601DateFormatter.keelAPI.string(from: Date(timeIntervalSince1970: Double($0) / 1e9)) } ?? NSNull()
            let connector: [String: Any] = [
                "connected": health.connected, "last_ts": lastTimestamp, "queue_size": health.queueSize, "connector_health": connectorHealth,
                "restarts": health.restarts, "deaths": health.deaths, "stale_restarts": health.staleRestarts,
                "seconds_since_last_event": health.secondsSinceLastEvent.map { ($0 * 1_000).rounded() / 1_000 } ?? NSNull(),
                "dropped_events": health.droppedEvents,
                "books": books.mapValues { ["valid": $0.valid, "bid_levels": $0.bids, "ask_levels": $0.asks, "last_update_id": $0.lastUpdateId] as [String: Any] },
            ]
            return json(["connector": connector])
        }
        router.get("/metrics") { _, _ in
            let health = await service.supervisor.health()
            let text = service.metrics.render(health: health, books: await service.state.summary(), counts: await service.state.counts())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }
}

func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let keelAPI: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
