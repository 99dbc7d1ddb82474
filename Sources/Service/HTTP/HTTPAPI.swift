import Foundation
import Hummingbird
import Market
import Runtime

/// The HTTP API on `monitoring.http_host:monitoring.http_port`: health, readiness, the connector's
/// health, the strategy's status and controls, and the Prometheus metrics. Every JSON answer is a type
/// of `Answers.swift`.
struct HTTPAPI {
    let service: BotService

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let service = self.service
        router.get("/health") { _, _ in
            answer(HealthAnswer())
        }
        router.get("/ready") { _, _ in
            let health = await service.source.health(now: WallClock.nanoseconds())
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
            var trading = (allowed: false, reason: "strategy.enabled is false")
            if let maker = service.maker { trading = await maker.tradingAllowed() }
            let source = DataSourceAnswer(await service.source.dataSource(), configured: service.settings.dataSource.rawValue)
            return answer(ReadyAnswer(ready: reasons.isEmpty, reasons: reasons, connected: health.connected,
                                      tradingAllowed: trading.allowed, tradingReason: trading.reason, dataSource: source.active),
                          status: reasons.isEmpty ? .ok : .serviceUnavailable)
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
                books: books.mapValues { .init(valid: $0.valid, bidLevels: $0.bids, askLevels: $0.asks, lastUpdateId: $0.lastUpdateId) })
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

    /// Prometheus text (404 when `monitoring.enable_prometheus` is false).
    func metricsResponse() async -> Response {
        guard service.settings.enablePrometheus else { return answer(ErrorAnswer(error: "monitoring.enable_prometheus is false"), status: .notFound) }
        let health = await service.source.health(now: WallClock.nanoseconds())
        let text = service.metrics.render(health: health, books: await service.state.summary(), counts: await service.state.counts(),
                                          storage: service.storage?.stats)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
