import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import Market
import NIOCore
import Runtime
import ServiceLifecycle

/// The ports a running simulator listens on.
public struct SimPorts: Sendable, Equatable {
    public var main: Int
    public var control: Int
}

/// `keel sim`'s network side: one port for Bybit's WebSocket paths and REST API, one for the control
/// API, and the step task that moves the market — run together in one service group that stops
/// cleanly on SIGTERM/SIGINT or when its task is cancelled.
public struct SimServer: Sendable {
    public let exchange: SimExchange
    public let configuration: SimConfiguration
    let logger: Logger

    public init(configuration: SimConfiguration, logger: Logger = Logger(label: "keel.sim")) {
        self.configuration = configuration
        exchange = SimExchange(configuration: configuration, logger: logger)
        self.logger = logger
    }

    /// Runs until cancelled or signalled; `onReady` gets the bound ports once both are listening.
    public func run(onReady: @escaping @Sendable (SimPorts) async -> Void = { _ in }) async throws {
        let ports = PortCollector(onReady: onReady)
        // Binance pings every connection (every 3 minutes) and closes one that has not answered by the next ping.
        let autoPing: AutoPingSetup = configuration.venue == .binanceUSDM
            ? .enabled(timePeriod: .milliseconds(Int64(configuration.binancePingSeconds * 1_000))) : .disabled
        var server = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 4 << 20, autoPing: autoPing))) { request, _, _ in
            await self.upgrade(request)
        }
        if let tls = configuration.tls {
            server = try .tls(server, tlsConfiguration: try tls.serverConfiguration(host: configuration.host))
        }
        let main = Application(
            router: mainRouter(),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "keel-sim"),
            onServerRunning: { channel in await ports.set(main: channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let controlPort = configuration.controlPort ?? (configuration.port == 0 ? 0 : configuration.port + 1)
        let control = Application(
            router: ControlRoutes(exchange: exchange).router(),
            configuration: .init(address: .hostname(configuration.host, port: controlPort), serverName: "keel-sim-control"),
            onServerRunning: { channel in await ports.set(control: channel.localAddress?.port ?? 0) },
            logger: logger
        )
        var services: [any Service] = [main, control, StepService(exchange: exchange, interval: .milliseconds(configuration.stepMilliseconds))]
        if let replay = configuration.replay {
            services.append(ReplayService(configuration: replay, exchange: exchange, logger: logger))
        }
        if !configuration.faultSchedule.faults.isEmpty {
            services.append(FaultScheduleService(schedule: configuration.faultSchedule, exchange: exchange, logger: logger))
        }
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }

    func mainRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(SimFaultMiddleware(exchange: exchange))
        switch configuration.venue {
        case .bybit:
            MarketRoutes(exchange: exchange).add(to: router)
            OrderRoutes(exchange: exchange).add(to: router)
        case .binanceUSDM:
            BinanceRoutes(exchange: exchange).add(to: router)
        }
        return router
    }

    /// Decides a WebSocket upgrade by path, as Bybit's hosts do; refused during the `reject` fault.
    func upgrade(_ request: HTTPRequest) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let path = request.path.map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? $0 } ?? ""
        if configuration.venue == .binanceUSDM { return await upgradeBinance(path: path, query: request.path ?? "") }
        let kind: SimExchange.ConnectionKind
        switch path {
        case "/v5/public/linear": kind = .public
        case "/v5/private": kind = .private
        case "/v5/trade": kind = .trade
        default: return .dontUpgrade
        }
        guard let accepted = await exchange.connect(kind, now: WallClock.nanoseconds()) else { return .dontUpgrade }
        let exchange = self.exchange
        return .upgrade([:]) { inbound, outbound, _ in
            await SimServer.serve(accepted, kind: kind, inbound: inbound, outbound: outbound, exchange: exchange)
        }
    }

    /// Binance's paths: `/ws/<stream>` and `/ws` (raw frames, streams added by `SUBSCRIBE`) and
    /// `/stream?streams=a/b` (combined: `{"stream","data"}`), each also under Binance's routed
    /// prefixes `/public`, `/market` and `/private` (its SDKs connect there).
    func upgradeBinance(path fullPath: String, query: String) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        var path = fullPath
        for prefix in ["/public", "/market", "/private"] where path.hasPrefix(prefix + "/") { path = String(path.dropFirst(prefix.count)) }
        let streams: [String]
        let combined: Bool
        if path == "/stream" {
            let list = query.split(separator: "?", maxSplits: 1).dropFirst().first.map {
                Query(parameters: Dictionary($0.split(separator: "&").map { pair -> (String, String) in
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    return (parts[0], (parts.count > 1 ? parts[1] : "").removingPercentEncodingOrSelf)
                }, uniquingKeysWith: { $1 })).string("streams")
            } ?? nil
            streams = (list ?? "").split(separator: "/").map(String.init)
            combined = true
        } else if path == "/ws" || path == "/ws/" {
            streams = []
            combined = false
        } else if path.hasPrefix("/ws/") {
            streams = path.dropFirst(4).split(separator: "/").map(String.init)
            combined = false
        } else {
            return .dontUpgrade
        }
        guard let accepted = await exchange.connectBinance(streams: streams, combined: combined, now: WallClock.nanoseconds()) else { return .dontUpgrade }
        let exchange = self.exchange
        return .upgrade([:]) { inbound, outbound, _ in
            await SimServer.serve(accepted, kind: .binance, inbound: inbound, outbound: outbound, exchange: exchange)
        }
    }

    /// Pumps one connection: frames queued by the exchange go out, frames received go to it.
    static func serve(_ accepted: (id: Int, connectionId: String, outgoing: AsyncStream<SimOutgoing>), kind: SimExchange.ConnectionKind,
                      inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, exchange: SimExchange) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for await item in accepted.outgoing {
                        switch item {
                        case .text(let text):
                            try await outbound.write(.text(text))
                        case .close(let code, let reason):
                            try await outbound.close(.init(codeNumber: Int(code)), reason: reason)
                            return
                        }
                    }
                    // The exchange finished the queue (a drop or a slow consumer): close the socket.
                    try await outbound.close(.goingAway, reason: "closed by sim")
                } catch {}
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        await exchange.receive(accepted.id, kind: kind, text: text, now: WallClock.nanoseconds())
                    }
                } catch {}
            }
            await group.next()
            group.cancelAll()
        }
        await exchange.disconnect(accepted.id)
    }
}

/// Moves the market every `interval` until the service group shuts down.
struct StepService: Service {
    let exchange: SimExchange
    let interval: Duration

    func run() async throws {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            next = next.advanced(by: interval)
            // A late step is not made up twice: never schedule into the past.
            if next < clock.now { next = clock.now }
            try? await Task.sleep(until: next, clock: clock)
            await exchange.step(now: WallClock.nanoseconds())
        }
    }
}

/// Collects the two bound ports and reports them once both are known.
actor PortCollector {
    var main: Int?
    var control: Int?
    let onReady: @Sendable (SimPorts) async -> Void

    init(onReady: @escaping @Sendable (SimPorts) async -> Void) {
        self.onReady = onReady
    }

    func set(main port: Int) async {
        main = port
        await report()
    }

    func set(control port: Int) async {
        control = port
        await report()
    }

    private func report() async {
        guard let main, let control else { return }
        await onReady(SimPorts(main: main, control: control))
    }
}
