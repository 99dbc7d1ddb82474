import Foundation
import Hummingbird
import HummingbirdWebSocket
import ServiceLifecycle
import Market
import Runtime

/// What `/ready` answers. The data is ready once the connector is up and every book is valid; the bot is
/// ready when, besides, its strategy may quote (or it has none) — a halted or waiting bot is not ready, and
/// its reasons say why, so `/ready`, `/strategy/status` and the dashboard never disagree.
struct Readiness {
    var ready: Bool
    var dataReady: Bool
    var reasons: [String]
    var connected: Bool
    var trading: (allowed: Bool, reason: String)
    var dataSource: DataSourceAnswer

    static func of(_ service: BotService, now: Int64) async -> Readiness {
        let health = await service.source.health(now: now)
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
        let dataReady = reasons.isEmpty
        var trading = (allowed: false, reason: "strategy.enabled is false")
        if let maker = service.maker {
            trading = await maker.tradingAllowed()
            if !trading.allowed { reasons.append("not quoting: \(trading.reason)") }
        }
        let source = DataSourceAnswer(await service.source.dataSource(), configured: service.settings.dataSource.rawValue)
        return Readiness(ready: reasons.isEmpty, dataReady: dataReady, reasons: reasons, connected: health.connected, trading: trading, dataSource: source)
    }
}

/// The HTTP API on `monitoring.http_host:monitoring.http_port`: health, readiness, the connector's
/// health, the strategy's status and controls, and the Prometheus metrics. Every JSON answer is a type
/// of `Answers.swift`.
struct HTTPAPI {
    let service: BotService

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let service = self.service
        router.add(middleware: TokenMiddleware(token: service.settings.apiToken))
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/health") { _, _ in
            answer(HealthAnswer())
        }
        router.get("/ready") { _, _ in
            let readiness = await Readiness.of(service, now: WallClock.nanoseconds())
            return answer(ReadyAnswer(ready: readiness.ready, dataReady: readiness.dataReady, reasons: readiness.reasons, connected: readiness.connected,
                                      tradingAllowed: readiness.trading.allowed, tradingReason: readiness.trading.reason,
                                      dataSource: readiness.dataSource.active),
                          status: readiness.ready ? .ok : .serviceUnavailable)
        }
        router.get("/ws/health") { _, _ in
            let now = WallClock.nanoseconds()
            let health = await service.source.health(now: now)
            let books = await service.state.summary()
            let process = WSHealthAnswer.ProcessHealth(processAlive: health.processAlive, queueSize: health.queueSize,
                                                       errorCount: health.errorCount, pid: OrNull(health.pid.map { Int($0) }))
            let connector = WSHealthAnswer.Connector(
                connected: health.connected, lastTs: OrNull(health.lastEventTime.map { UTCTime.formatISO8601($0) }), queueSize: health.queueSize,
                connectorHealth: process, restarts: health.restarts, deaths: health.deaths, staleRestarts: health.staleRestarts,
                secondsSinceLastEvent: OrNull(health.secondsSinceLastEvent.map { ($0 * 1_000).rounded() / 1_000 }),
                droppedEvents: health.droppedEvents,
                books: books.mapValues {
                    .init(valid: $0.valid, bidLevels: $0.bids, askLevels: $0.asks, lastUpdateId: $0.lastUpdateId,
                          bestBid: .decimal($0.bestBid), bestAsk: .decimal($0.bestAsk))
                })
            return answer(WSHealthAnswer(connector: connector,
                                         dataSource: DataSourceAnswer(await service.source.dataSource(), configured: service.settings.dataSource.rawValue)))
        }
        router.get("/context/:symbol") { _, context in
            let symbol = context.parameters.get("symbol")?.uppercased() ?? ""
            guard let maker = service.maker else { return answer(ErrorAnswer(error: "strategy.enabled is false: the context is kept for the quoted symbol"), status: .notFound) }
            guard symbol == maker.symbol else {
                return answer(ErrorAnswer(error: "no context for \(symbol): it is kept for the quoted symbol, \(maker.symbol)"), status: .notFound)
            }
            return answer(await maker.contextReport())
        }
        router.get("/strategy/status") { _, _ in
            guard let maker = service.maker else { return answer(ErrorAnswer(error: "strategy.enabled is false"), status: .notFound) }
            return answer(await maker.status())
        }
        router.post("/strategy/halt") { _, _ in
            guard let maker = service.maker else { return answer(ErrorAnswer(error: "strategy.enabled is false"), status: .notFound) }
            await maker.halt(reason: "operator: POST /strategy/halt", now: WallClock.nanoseconds())
            return answer(await maker.status())
        }
        router.post("/strategy/resume") { _, _ in
            guard let maker = service.maker else { return answer(ErrorAnswer(error: "strategy.enabled is false"), status: .notFound) }
            await maker.resume(now: WallClock.nanoseconds())
            return answer(await maker.status())
        }
        let api = self
        router.get("/metrics") { _, _ in await api.metricsResponse() }
        return router
    }

    /// `/ws/dashboard`: the dashboard's updates, pushed (see `DashboardFeed`). A graceful stop ends it.
    func webSocketRouter() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        let feed = DashboardFeed(service: service)
        router.ws("/ws/dashboard") { inbound, outbound, _ in
            await cancelWhenGracefulShutdown {
                await feed.serve(inbound: inbound, outbound: outbound)
            }
        }
        return router
    }

    /// Prometheus text (404 when `monitoring.enable_prometheus` is false).
    func metricsResponse() async -> Response {
        guard service.settings.enablePrometheus else { return answer(ErrorAnswer(error: "monitoring.enable_prometheus is false"), status: .notFound) }
        let health = await service.source.health(now: WallClock.nanoseconds())
        let text = service.metrics.render(health: health, books: await service.state.summary(), counts: await service.state.counts(),
                                          incidents: await service.state.incidents(),
                                          storage: service.storage?.stats)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// With `monitoring.api_token` set, every `POST` needs it: `Authorization: Bearer <token>` (compared in
/// constant time); 401 otherwise, saying what is missing and never echoing what came.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, request.method == .post else { return try await next(request, context) }
        let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard Self.same(Array(given.utf8), Array(token.utf8)) else {
            return answer(ErrorAnswer(error: "this POST needs monitoring.api_token: send it as Authorization: Bearer <token>"), status: .unauthorized)
        }
        return try await next(request, context)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
