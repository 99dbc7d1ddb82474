import Foundation
import Hummingbird
import Logging
import Market
import Prometheus
import Runtime
import ServiceLifecycle
import Storage
import Synchronization
import UnixSignals
import Supervisor

/// `keel run`: the market source (the supervised connector, or the stub), its events into the bot's
/// market state, and the HTTP API (`/health`, `/ready`, `/ws/health`, `/metrics`). SIGTERM / SIGINT
/// stop it in order, each step with its own timeout (`ShutdownSequence`); a second signal, or the
/// whole stop passing `monitoring.shutdown_timeout`, kills the connector's process group and exits.
public struct BotService: Sendable {
    public let settings: BotSettings
    public let source: any MarketSource
    public let state: MarketState
    /// The strategy (`strategy.enabled`), paper or live.
    public let maker: MarketMaker?
    /// The trading records' writer (nil: `storage.backend: none`); flushed as the last shutdown step.
    public let storage: StorageWriter?
    let metrics: BotMetrics
    let logger: Logger

    /// `connectorArguments`: the child's arguments instead of the settings' `connector <exchange> …` (`keel bench bot`
    /// starts a replaying peer in the connector's place).
    public init(settings: BotSettings, executable: String, connectorArguments: [String]? = nil, environment: [String: String] = [:],
                storage: StorageWriter? = nil, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.storage = storage
        @Sendable func make(_ kind: BotSettings.DataSource) -> any MarketSource {
            switch kind {
            case .stub:
                return StubSource(symbols: settings.connector.symbols)
            case .bybitConnector, .binanceWS:
                var runner = RunnerConfiguration(executable: executable, arguments: connectorArguments ?? settings.connectorArguments(for: kind))
                runner.environment = environment
                runner.queueCapacity = settings.queueSize
                runner.exchange = kind == .binanceWS ? "binance-usdm" : "bybit"
                var configuration = SupervisorConfiguration(runner: runner)
                configuration.healthInterval = ConnectorSettings.duration(settings.healthCheckInterval)
                configuration.staleAfter = ConnectorSettings.duration(settings.staleThreshold)
                configuration.staleGrace = ConnectorSettings.duration(settings.staleGrace)
                configuration.healthLogInterval = ConnectorSettings.duration(settings.healthLogInterval)
                configuration.restart = ReconnectPolicy(base: .milliseconds(settings.connector.reconnectBaseMilliseconds),
                                                        cap: .milliseconds(settings.connector.reconnectCapMilliseconds))
                return ConnectorSupervisor(configuration: configuration, logger: logger)
            }
        }
        if settings.fallback.isEmpty {
            source = make(settings.dataSource)
        } else {
            source = FallbackSource(chain: ([settings.dataSource] + settings.fallback).map { kind in .init(name: kind.rawValue) { make(kind) } },
                                    symbols: settings.connector.symbols, fallbackAfter: ConnectorSettings.duration(settings.fallbackAfter), logger: logger)
        }
        let metrics = BotMetrics(exchange: settings.dataSource == .binanceWS ? "binance-usdm" : "bybit")
        self.metrics = metrics
        state = MarketState { metrics.tickToBot(nanoseconds: $0) }
        if settings.trading.enabled, let symbol = settings.trading.symbol ?? settings.connector.symbols.first {
            let source = self.source
            // With recording on, the bot's own order events go beside the connector's frames.
            var orderLog: OrderLogWriter?
            if settings.connector.recordingEnabled {
                do {
                    orderLog = try OrderLogWriter(directory: settings.connector.recordingPath)
                } catch {
                    logger.error("keel_order_log_unavailable", metadata: ["path": "\(settings.connector.recordingPath)", "reason": "\(error)"])
                }
            }
            maker = MarketMaker(settings: settings.trading, symbol: symbol, staleAfterSeconds: settings.staleThreshold,
                                logger: logger, metrics: metrics, storage: storage, storageSettings: settings.storage,
                                askExchangeForInstrument: settings.dataSource != .stub, orderLog: orderLog,
                                exchange: settings.dataSource == .binanceWS ? "binance-usdm" : "bybit") { line in source.send(line) }
        } else {
            maker = nil
        }
    }

    /// Opens the configured store (migrating its schema) and its writer; nil for `storage.backend: none`.
    public static func openStorage(_ configuration: StorageConfiguration, logger: Logger) async throws -> StorageWriter? {
        guard let store = try await TradingStore.open(configuration, logger: logger) else { return nil }
        let versions = try await store.schemaVersions()
        logger.info("keel_storage_opened", metadata: [
            "backend": "\(configuration.backend.rawValue)",
            "where": "\(configuration.backend == .sqlite ? configuration.path : "PostgreSQL")",
            "schema": "\(versions)"])
        return StorageWriter(store: store, queueSize: configuration.queueSize, batchSize: configuration.batchSize, logger: logger)
    }

    /// Runs until SIGTERM / SIGINT (or cancellation); `onListening` gets the HTTP port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // Hummingbird's own "Server started and listening" line is not ours: its logger says warnings only, and
        // the bot logs keel_http_listening / keel_metrics_listening itself.
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let api = HTTPAPI(service: self)
        let application = Application(
            router: api.router(),
            server: .http1WebSocketUpgrade(webSocketRouter: api.webSocketRouter()),
            configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "keel"),
            onServerRunning: { [logger, settings] channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("keel_http_listening", metadata: ["url": "http://\(settings.httpHost):\(port)"])
                await onListening(port)
            },
            logger: serverLogger)
        let times = StopTimes()
        let core = BotCore(service: self, times: times)
        let guardian = ShutdownGuard(deadline: ConnectorSettings.duration(settings.shutdownTimeout), source: source, logger: logger, times: times)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: guardian), .init(service: BoundedStop(application, name: "http", logger: logger)),
        ]
        if settings.enablePrometheus, let port = settings.metricsPort, port != settings.httpPort || port == 0 {
            let metricsOnly = Router()
            metricsOnly.get("/metrics") { _, _ in await api.metricsResponse() }
            services.append(.init(service: BoundedStop(Application(
                router: metricsOnly, configuration: .init(address: .hostname(settings.httpHost, port: port), serverName: "keel-metrics"),
                onServerRunning: { [logger] channel in
                    logger.info("keel_metrics_listening", metadata: ["url": "http://\(settings.httpHost):\(channel.localAddress?.port ?? 0)/metrics"])
                }, logger: serverLogger), name: "metrics", logger: logger)))
        }
        // The core is listed last so it stops first: the connector is down before the HTTP servers close.
        services.append(.init(service: core))
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()
        times.log(logger)
    }

    /// The source's lifetime as a service: connect, move events into the state; on shutdown the
    /// steps in order, each bounded.
    struct BotCore: ServiceLifecycle.Service {
        let service: BotService
        let times: StopTimes

        func run() async throws {
            let source = service.source
            let state = service.state
            let maker = service.maker
            let storage = service.storage
            let writer = Task { await storage?.run() }
            await source.connect()
            let consumer = Task {
                for await event in source.events {
                    let now = WallClock.nanoseconds()
                    if case .status(let status) = event, status.status == .reconnecting, let session = status.session {
                        service.metrics.sessionReconnecting(exchange: status.connector, session: session, delayMilliseconds: status.retryDelayMilliseconds)
                    }
                    if case .stats(let stats) = event, let frames = stats.recordedFrames {
                        service.metrics.recording(frames: frames, bytes: stats.recordedBytes ?? 0)
                    }
                    await state.apply(event, now: now)
                    if let maker { await maker.handle(event, book: await state.book(maker.symbol), now: now) }
                }
            }
            // Without events the strategy still checks its feed: a silent one halts quoting.
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    await maker?.tick(now: WallClock.nanoseconds())
                }
            }
            try? await gracefulShutdown()
            // The service group and the guard each see the signal; whichever notices first begins the stop.
            times.mark(\.begun)
            times.mark(\.steps)
            let steps = ShutdownSequence(logger: service.logger)
            if let maker {
                await steps.run("stop quoting", timeout: .seconds(2)) { await maker.stopQuoting(now: WallClock.nanoseconds()) }
                await steps.run("cancel all orders", timeout: .seconds(12)) {
                    let live = await maker.liveOrderIds
                    let clean = await maker.cancelAllAndWait(timeout: .seconds(10))
                    let left = await maker.liveOrders
                    // What was live when the step began, so the line says what the cancel did, not only what is left.
                    let cancelled: Logger.Metadata = ["cancelled": "\(live.count - left)", "client_ids": "\(live.joined(separator: ","))"]
                    if clean {
                        service.logger.info("keel_orders_cancelled", metadata: cancelled.merging(["live_orders": "0"]) { $1 })
                    } else {
                        service.logger.error("keel_orders_left_open", metadata: cancelled.merging(["live_orders": "\(left)"]) { $1 })
                    }
                }
                // The exchange's own list, over REST: cancel again and re-check while anything is open.
                await steps.run("verify no open orders", timeout: .seconds(15)) {
                    let open = await maker.verifyNothingOpen()
                    if open != 0 {
                        service.logger.error("keel_orders_left_open", metadata: [
                            "exchange_open_orders": "\(open.map { "\($0)" } ?? "unknown (no answer)")"])
                    }
                }
            }
            ticker.cancel()
            await steps.run("stop the connector", timeout: .seconds(15)) {
                await source.disconnect()
                await consumer.value
                // Hygiene at exit, from /proc: no child of the bot is left, zombie or not.
                let children = ProcessTable.children()
                let metadata: Logger.Metadata = ["count": "\(children.count)", "zombies": "\(children.filter { $0.state == "Z" }.count)"]
                if children.isEmpty {
                    service.logger.info("keel_children_at_exit", metadata: metadata)
                } else {
                    service.logger.error("keel_children_at_exit", metadata: metadata.merging(["pids": "\(children.map(\.pid))"]) { $1 })
                }
            }
            if let storage {
                await steps.run("flush storage", timeout: .seconds(10)) {
                    await maker?.recordRunEnd(now: WallClock.nanoseconds())
                    let flushed = await storage.flush(timeout: .seconds(8))
                    let stats = storage.stats
                    if flushed {
                        service.logger.info("keel_storage_flushed", metadata: ["written": "\(stats.written)", "dropped_snapshots": "\(stats.dropped)"])
                    } else {
                        service.logger.error("keel_storage_not_flushed", metadata: ["queued": "\(stats.queued)", "written": "\(stats.written)"])
                    }
                    storage.close()
                    await writer.value
                    await storage.store.close()
                }
            }
            steps.finished()
            times.mark(\.stepsDone)
        }
    }
}

/// The moments of a stop, so the whole of it is accounted for: its beginning (the first signal, as the guard
/// or the core sees it first), the start and end of the shutdown steps, and (logged by ``log(_:)`` once the
/// service group has ended) the rest — the HTTP servers closing their connections.
final class StopTimes: Sendable {
    struct Moments {
        var begun: ContinuousClock.Instant?
        var steps: ContinuousClock.Instant?
        var stepsDone: ContinuousClock.Instant?
    }

    private let moments = Mutex(Moments())

    func mark(_ moment: WritableKeyPath<Moments, ContinuousClock.Instant?> & Sendable) {
        moments.withLock { if $0[keyPath: moment] == nil { $0[keyPath: moment] = .now } }
    }

    /// `keel_stopped`: `seconds` from the beginning to now, split into `before_steps` (the signal reaching the
    /// core), `steps` and `after_steps` (the servers closing).
    func log(_ logger: Logger) {
        let end = ContinuousClock.now
        let m = moments.withLock { $0 }
        func seconds(_ from: ContinuousClock.Instant?, _ to: ContinuousClock.Instant?) -> String? {
            guard let from, let to else { return nil }
            return "\(((to - from).inSeconds * 1_000).rounded() / 1_000)"
        }
        var metadata: Logger.Metadata = [:]
        if let value = seconds(m.begun, end) { metadata["seconds"] = "\(value)" }
        if let value = seconds(m.begun, m.steps) { metadata["before_steps"] = "\(value)" }
        if let value = seconds(m.steps, m.stepsDone) { metadata["steps"] = "\(value)" }
        if let value = seconds(m.stepsDone, end) { metadata["after_steps"] = "\(value)" }
        logger.info("keel_stopped", metadata: metadata)
    }
}

/// The graceful stop, one bounded step at a time: each is logged (`keel_shutdown` with `step`,
/// `seconds`), and one that overruns its timeout is logged (`keel_shutdown_step_timeout`) and left
/// behind so the next step still runs.
public struct ShutdownSequence: Sendable {
    let logger: Logger
    let started = ContinuousClock.now

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Runs `body`; returns true when it finished within `timeout`.
    @discardableResult
    public func run(_ step: String, timeout: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
        let begin = ContinuousClock.now
        logger.info("keel_shutdown", metadata: ["step": "\(step)", "phase": "start"])
        let work = Task { await body() }
        let finished = await Self.race(work, timeout: timeout)
        let seconds = (ContinuousClock.now - begin).inSeconds
        if finished {
            logger.info("keel_shutdown", metadata: ["step": "\(step)", "phase": "done", "seconds": "\((seconds * 1_000).rounded() / 1_000)"])
        } else {
            work.cancel()
            logger.error("keel_shutdown_step_timeout", metadata: ["step": "\(step)", "timeout": "\(timeout.inSeconds)"])
        }
        return finished
    }

    public func finished() {
        let seconds = (ContinuousClock.now - started).inSeconds
        logger.info("keel_shutdown", metadata: ["step": "all", "phase": "done", "seconds": "\((seconds * 1_000).rounded() / 1_000)"])
    }

    /// Whether `work` ends before `timeout`; never waits longer than that for it.
    static func race(_ work: Task<Void, Never>, timeout: Duration) async -> Bool {
        await first(work, Task { try? await Task.sleep(for: timeout) })
    }

    /// Whether `one` ends before `other` (true) or after it (false); waits for the first only.
    static func first(_ one: Task<Void, Never>, _ other: Task<Void, Never>) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = Once(continuation)
            Task { await one.value; once.resume(true) }
            Task { await other.value; once.resume(false) }
        }
    }

    /// A continuation resumed by whichever side comes first.
    final class Once: Sendable {
        let continuation: Mutex<CheckedContinuation<Bool, Never>?>
        init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = Mutex(continuation) }
        func resume(_ value: Bool) { continuation.withLock { $0.take() }?.resume(returning: value) }
    }
}

/// The last resort on stopping: after the first SIGTERM / SIGINT, a second one, or the whole stop
/// passing its deadline, kills the connector's process group (nothing left running) and exits
/// (`keel_forced_exit`, code 128 + signal, or 1 on the deadline). Listed first in the group, it is
/// told to stop last — after every other service has finished — so it watches the whole stop.
struct ShutdownGuard: ServiceLifecycle.Service {
    let deadline: Duration
    let source: any MarketSource
    let logger: Logger
    let times: StopTimes

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        var first: UnixSignal?
        let timer = Mutex<Task<Void, Never>?>(nil)
        for await signal in signals.cancelOnGracefulShutdown() {
            guard first != nil else {
                first = signal
                times.mark(\.begun)
                logger.info("keel_shutdown_signal", metadata: ["signal": "\(signal)"])
                let (deadline, source, logger) = (self.deadline, self.source, self.logger)
                timer.withLock { $0 = Task.detached {
                    try? await Task.sleep(for: deadline)
                    guard !Task.isCancelled else { return }
                    await ShutdownGuard.force(reason: "the stop took longer than \(deadline.inSeconds) s", code: 1, source: source, logger: logger)
                } }
                continue
            }
            await ShutdownGuard.force(reason: "second signal \(signal)", code: 128 + signal.rawValue, source: source, logger: logger)
        }
        timer.withLock { $0?.cancel() }
    }

    static func force(reason: String, code: Int32, source: any MarketSource, logger: Logger) async {
        logger.critical("keel_forced_exit", metadata: ["reason": "\(reason)", "exit_code": "\(code)"])
        await source.kill()
        exit(code)
    }
}
