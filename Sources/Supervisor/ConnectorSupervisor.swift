import ConnectorWire
import Foundation
import Logging
import Market
import Runtime
import Synchronization

/// The earlier system's health loop, every interval configurable (tests use short ones).
public struct SupervisorConfiguration: Sendable {
    public var runner: RunnerConfiguration
    /// How often the child is checked: alive, queue size, errors, time since the last event.
    public var healthInterval: Duration = .seconds(5)
    /// No market event this long means the connection is stale → restart.
    public var staleAfter: Duration = .seconds(60)
    /// Staleness is only judged this long after a (re)start.
    public var staleGrace: Duration = .seconds(30)
    /// How often `bybit_connector_health_check` is logged.
    public var healthLogInterval: Duration = .seconds(60)
    /// Delay before a restart: `min(base·2^attempt + jitter, cap)`, reset after a stable minute.
    public var restart = ReconnectPolicy()

    public init(runner: RunnerConfiguration) {
        self.runner = runner
    }
}

/// What `/ws/health` and `/metrics` show of the connector.
public struct ConnectorHealth: Sendable, Equatable {
    public var connected: Bool
    public var processAlive: Bool
    public var pid: Int32?
    public var queueSize: Int
    public var errorCount: Int
    public var decodeErrors: Int
    public var droppedEvents: Int
    public var events: Int
    /// UTC ns of the last market event, `nil` before the first.
    public var lastEventTime: Int64?
    public var secondsSinceLastEvent: Double?
    public var restarts: Int
    public var deaths: Int
    public var staleRestarts: Int
    public var restartAttempt: Int
    public var lastRestartDelaySeconds: Double

    public init(connected: Bool, processAlive: Bool, pid: Int32?, queueSize: Int, errorCount: Int, decodeErrors: Int, droppedEvents: Int,
                events: Int, lastEventTime: Int64?, secondsSinceLastEvent: Double?, restarts: Int, deaths: Int, staleRestarts: Int,
                restartAttempt: Int, lastRestartDelaySeconds: Double) {
        self.connected = connected
        self.processAlive = processAlive
        self.pid = pid
        self.queueSize = queueSize
        self.errorCount = errorCount
        self.decodeErrors = decodeErrors
        self.droppedEvents = droppedEvents
        self.events = events
        self.lastEventTime = lastEventTime
        self.secondsSinceLastEvent = secondsSinceLastEvent
        self.restarts = restarts
        self.deaths = deaths
        self.staleRestarts = staleRestarts
        self.restartAttempt = restartAttempt
        self.lastRestartDelaySeconds = lastRestartDelaySeconds
    }
}

/// The bot's handle on its connector: starts the child, forwards its events (across restarts) to
/// `events`, watches it, and brings it back — after a crash, a `kill -9`, a silent feed or a hung
/// exchange — with backoff, resubscribing what the bot asked for. Every step is logged with the
/// earlier system's event names.
public actor ConnectorSupervisor {
    public let configuration: SupervisorConfiguration
    let logger: Logger
    /// Every event of every connector child, in order.
    public nonisolated let events: AsyncStream<ConnectorEvent>
    private let sink: AsyncStream<ConnectorEvent>.Continuation
    private var runner: ConnectorRunner? {
        didSet { current.withLock { [runner] in $0 = runner } }
    }
    /// `runner`, for `send` from any thread without a hop onto this actor (an order command goes out at once).
    private nonisolated let current = Mutex<ConnectorRunner?>(nil)
    private var loop: Task<Void, Never>?
    private var running = false
    private var connected = false
    private var subscriptions: [(channel: String, symbol: String)] = []
    private var policy: ReconnectPolicy
    private var random = SeededRandom(seed: UInt64(UInt32.random(in: 0 ... .max)))
    private var startedAt: Int64 = 0
    private var lastMarketEvent: Int64?
    private var errorEvents = 0
    private var restarts = 0
    private var deaths = 0
    private var staleRestarts = 0
    private var lastDelay: Duration = .zero
    private var cumulativeDecodeErrors = 0
    private var cumulativeDropped = 0
    private var cumulativeEvents = 0

    public init(configuration: SupervisorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        policy = configuration.restart
        (events, sink) = AsyncStream.makeStream(of: ConnectorEvent.self, bufferingPolicy: .unbounded)
    }

    // MARK: The handle

    /// Starts the connector and keeps it up until `disconnect()`.
    public func connect() {
        guard !running else { return }
        running = true
        loop = Task { await self.superviseLoop() }
    }

    /// Stops the connector (`shutdown`, then SIGTERM, then SIGKILL) and waits until it is reaped.
    public func disconnect() async {
        running = false
        await runner?.stop()
        await loop?.value
        loop = nil
        connected = false
        sink.finish()
    }

    public var isConnected: Bool { connected }

    /// Kills the current child's process group at once and restarts nothing (a forced exit).
    public func kill() {
        running = false
        runner?.kill()
    }

    /// Subscribes now and after every restart.
    public func subscribe(channel: String, symbol: String) {
        guard !subscriptions.contains(where: { $0.channel == channel && $0.symbol == symbol }) else { return }
        subscriptions.append((channel, symbol))
        runner?.send(ConnectorSupervisor.command("subscribe", channel: channel, symbol: symbol))
    }

    /// Sends one command line to the current child; false when there is none.
    @discardableResult
    public nonisolated func send(_ line: String) -> Bool { current.withLock { $0 }?.send(line) ?? false }

    /// The current child's process id.
    public var pid: Int32? { runner?.processIdentifier }

    public func health(now: Int64 = WallClock.nanoseconds()) -> ConnectorHealth {
        let last = lastMarketEvent
        return ConnectorHealth(
            connected: connected, processAlive: runner?.isAlive ?? false, pid: runner?.processIdentifier,
            queueSize: runner?.queue.count ?? 0, errorCount: errorEvents + cumulativeDecodeErrors + (runner?.decodeErrorCount ?? 0),
            decodeErrors: cumulativeDecodeErrors + (runner?.decodeErrorCount ?? 0), droppedEvents: cumulativeDropped + (runner?.queue.droppedCount ?? 0),
            events: cumulativeEvents + (runner?.eventCount ?? 0), lastEventTime: last,
            secondsSinceLastEvent: last.map { Double(now - $0) / 1e9 }, restarts: restarts, deaths: deaths, staleRestarts: staleRestarts,
            restartAttempt: policy.attempt, lastRestartDelaySeconds: lastDelay.inSeconds)
    }

    // MARK: The loop

    private enum Ending { case died(ChildExit), stale(Double), stopped }

    private func superviseLoop() async {
        while running && !Task.isCancelled {
            let child = ConnectorRunner(configuration: configuration.runner, logger: logger)
            runner = child
            startedAt = WallClock.nanoseconds()
            lastMarketEvent = nil
            // Every book the bot holds is from the old child: each waits for the new one's snapshot.
            sink.yield(.status(.init(status: .connectorStarted, connector: configuration.runner.exchange, session: "supervisor", reason: restarts == 0 ? "first start" : "restart \(restarts)")))
            let process = Task { await child.run() }
            let forward = Task { await self.forward(child) }
            for subscription in subscriptions {
                child.send(ConnectorSupervisor.command("subscribe", channel: subscription.channel, symbol: subscription.symbol))
            }
            let ending = await watch(child)
            connected = false
            switch ending {
            case .died(let exit):
                deaths += 1
                logger.error("\(configuration.runner.logPrefix)_connector_process_died", metadata: ["exit": "\(exit)", "pid": "\(child.processIdentifier ?? 0)"])
            case .stale(let seconds):
                staleRestarts += 1
                logger.error("\(configuration.runner.logPrefix)_connector_stale_connection_detected", metadata: [
                    "seconds_since_last_event": "\((seconds * 10).rounded() / 10)",
                    "stale_threshold": "\(configuration.staleAfter.inSeconds)"])
            case .stopped:
                break
            }
            if case .stopped = ending {} else {
                logger.warning("connector_disconnected", metadata: ["reason": "\(ending)"])
            }
            // Clean up the old child: stopped and reaped before anything else starts.
            await child.stop()
            _ = await process.value
            await forward.value
            cumulativeDecodeErrors += child.decodeErrorCount
            cumulativeDropped += child.queue.droppedCount
            cumulativeEvents += child.eventCount
            checkChildren(after: child.processIdentifier)
            policy.disconnected(at: WallClock.nanoseconds())
            guard running, !Task.isCancelled else { break }
            let delay = policy.nextDelay(using: &random)
            lastDelay = delay
            restarts += 1
            logger.warning("connector_connection_error", metadata: [
                "attempt": "\(policy.attempt)", "retry_delay": "\(delay.inSeconds)"])
            try? await Task.sleep(for: delay)
        }
        runner = nil
    }

    /// Process hygiene, after every child: the old one is gone from /proc, and this process holds no zombie
    /// (a child exited and not reaped). Either is logged as `bybit_connector_cleanup_error`; `keel_children`
    /// (debug) reports the count.
    private func checkChildren(after pid: Int32?) {
        let children = ProcessTable.children()
        let zombies = children.filter { $0.state == "Z" }.map(\.pid)
        let lingering = pid.flatMap { old in ProcessTable.entry(old) }
        if !zombies.isEmpty || lingering != nil {
            logger.error("\(configuration.runner.logPrefix)_connector_cleanup_error", metadata: [
                "reason": "\(zombies.isEmpty ? "" : "zombie children ")\(lingering == nil ? "" : "old connector still in /proc")",
                "zombies": "\(zombies)", "pid": "\(pid ?? 0)"])
        }
        logger.debug("keel_children", metadata: ["count": "\(children.count)", "zombies": "\(zombies.count)"])
        childChecks += 1
        if !zombies.isEmpty || lingering != nil { childCheckFailures += 1 }
    }

    /// Children checks done after a child ended, and how many found a zombie or a lingering child.
    public private(set) var childChecks = 0
    public private(set) var childCheckFailures = 0

    /// The health loop for one child: returns when it died, went stale, or the handle was disconnected.
    private func watch(_ child: ConnectorRunner) async -> Ending {
        let clock = ContinuousClock()
        var nextHealthLog = clock.now + configuration.healthLogInterval
        while running && !Task.isCancelled {
            // Check often enough that staleness is seen within a second of its threshold, whatever the interval.
            let tick = min(configuration.healthInterval, .milliseconds(250))
            try? await Task.sleep(for: tick)
            guard running else { return .stopped }
            if let exit = child.exit { return .died(exit) }
            let now = WallClock.nanoseconds()
            let since = Double(now - (lastMarketEvent ?? startedAt)) / 1e9
            let staleAfter = configuration.staleAfter.inSeconds
            let grace = configuration.staleGrace.inSeconds
            if Double(now - startedAt) / 1e9 >= grace, since > staleAfter { return .stale(since) }
            if clock.now >= nextHealthLog {
                nextHealthLog = clock.now + configuration.healthLogInterval
                let health = health(now: now)
                logger.info("\(configuration.runner.logPrefix)_connector_health_check", metadata: [
                    "process_alive": "\(health.processAlive)", "queue_size": "\(health.queueSize)", "error_count": "\(health.errorCount)",
                    "seconds_since_last_event": "\(health.secondsSinceLastEvent.map { ($0 * 10).rounded() / 10 } ?? -1)"])
            }
        }
        return .stopped
    }

    /// Moves the child's events to `events`, noting what the health loop needs. A symbol whose depth
    /// the full queue dropped gets a `depth_dropped` status (its book cannot be trusted) and is
    /// resubscribed, so the connector sends a fresh snapshot. The dropped event was the oldest market
    /// event queued, so it is seen here before any later depth of that symbol goes out.
    private func forward(_ child: ConnectorRunner) async {
        while let event = await child.queue.next() {
            for symbol in child.queue.takeDroppedDepth().sorted() {
                logger.warning("\(configuration.runner.logPrefix)_connector_depth_dropped", metadata: ["symbol": "\(symbol)", "queue_size": "\(child.queue.count)"])
                sink.yield(.status(.init(status: .depthDropped, session: "supervisor", reason: "the bot's queue was full; resubscribing", topic: symbol)))
                child.send(ConnectorSupervisor.command("unsubscribe", channel: "depth", symbol: symbol))
                child.send(ConnectorSupervisor.command("subscribe", channel: "depth", symbol: symbol))
            }
            note(event)
            sink.yield(event)
        }
    }

    static func command(_ name: String, channel: String, symbol: String) -> String {
        #"{"command":"\#(name)","channel":"\#(channel)","symbol":"\#(symbol)"}"#
    }

    private func note(_ event: ConnectorEvent) {
        switch event {
        case .depth, .trade:
            lastMarketEvent = WallClock.nanoseconds()
            if !connected {
                connected = true
                policy.connected(at: WallClock.nanoseconds())
                logger.info("\(configuration.runner.logPrefix)_connector_connected", metadata: ["symbol": "\(symbolOf(event))"])
            }
        case .error:
            errorEvents += 1
        default:
            break
        }
    }

    private func symbolOf(_ event: ConnectorEvent) -> String {
        switch event {
        case .depth(let depth): return depth.update.symbol
        case .trade(let trade): return trade.symbol
        default: return ""
        }
    }
}
