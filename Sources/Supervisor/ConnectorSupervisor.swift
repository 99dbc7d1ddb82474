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
    /// Every event of every connector child, in order: read straight from the one bounded queue the children's
    /// stdout readers fill (`limits.queue_size`), so an event wakes the consumer without a task between them.
    public nonisolated let events: AsyncStream<ConnectorEvent>
    private nonisolated let queue: EventQueue
    /// What the consumer's side notes and the current child, shared with the consumer's task (see `Shared`).
    private nonisolated let shared = Shared()
    private var runner: ConnectorRunner? {
        didSet { shared.current.withLock { [runner] in $0 = runner } }
    }
    private var loop: Task<Void, Never>?
    private var running = false
    private var subscriptions: [(channel: String, symbol: String)] = []
    private var policy: ReconnectPolicy
    private var random = SeededRandom(seed: UInt64(UInt32.random(in: 0 ... .max)))
    private var startedAt: Int64 = 0
    private var restarts = 0
    private var deaths = 0
    private var staleRestarts = 0
    private var lastDelay: Duration = .zero
    private var cumulativeDecodeErrors = 0
    private var cumulativeEvents = 0

    /// The consumer's notes: the last market event, whether market data flows, errors the connector reported,
    /// statuses owed for depth the full queue dropped. Kept under a lock: the consumer's task writes them as it
    /// takes each event, the supervisor's loop reads them.
    struct Activity {
        var lastMarketEvent: Int64?
        var connected = false
        /// When market data began to flow on the current child (the restart policy hears it on its next check).
        var connectedAt: Int64?
        var errorEvents = 0
        var owed: [ConnectorEvent] = []
    }

    /// The state the consumer's task and any sender reach without a hop onto this actor.
    final class Shared: Sendable {
        let activity = Mutex(Activity())
        /// `runner`, for `send` from any thread (an order command goes out at once).
        let current = Mutex<ConnectorRunner?>(nil)
    }

    public init(configuration: SupervisorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        policy = configuration.restart
        let queue = EventQueue(capacity: configuration.runner.queueCapacity)
        self.queue = queue
        let shared = self.shared
        let prefix = configuration.runner.logPrefix
        events = AsyncStream(unfolding: {
            await ConnectorSupervisor.next(from: queue, shared: shared, prefix: prefix, logger: logger)
        })
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
        shared.activity.withLock { $0.connected = false }
        queue.finish()
    }

    public var isConnected: Bool { shared.activity.withLock { $0.connected } }

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
    public nonisolated func send(_ line: String) -> Bool { shared.current.withLock { $0 }?.send(line) ?? false }

    /// The current child's process id.
    public var pid: Int32? { runner?.processIdentifier }

    public func health(now: Int64 = WallClock.nanoseconds()) -> ConnectorHealth {
        let (last, connected, errorEvents) = shared.activity.withLock { ($0.lastMarketEvent, $0.connected, $0.errorEvents) }
        return ConnectorHealth(
            connected: connected, processAlive: runner?.isAlive ?? false, pid: runner?.processIdentifier,
            queueSize: queue.count, errorCount: errorEvents + cumulativeDecodeErrors + (runner?.decodeErrorCount ?? 0),
            decodeErrors: cumulativeDecodeErrors + (runner?.decodeErrorCount ?? 0), droppedEvents: queue.droppedCount,
            events: cumulativeEvents + (runner?.eventCount ?? 0), lastEventTime: last,
            secondsSinceLastEvent: last.map { Double(now - $0) / 1e9 }, restarts: restarts, deaths: deaths, staleRestarts: staleRestarts,
            restartAttempt: policy.attempt, lastRestartDelaySeconds: lastDelay.inSeconds)
    }

    // MARK: The loop

    private enum Ending { case died(ChildExit), stale(Double), stopped }

    private func superviseLoop() async {
        while running && !Task.isCancelled {
            let child = ConnectorRunner(configuration: configuration.runner, logger: logger, queue: queue)
            runner = child
            startedAt = WallClock.nanoseconds()
            shared.activity.withLock { $0.lastMarketEvent = nil }
            // Every book the bot holds is from the old child: each waits for the new one's snapshot.
            queue.push(.status(.init(status: .connectorStarted, connector: configuration.runner.exchange, session: "supervisor", reason: restarts == 0 ? "first start" : "restart \(restarts)")))
            let process = Task { await child.run() }
            for subscription in subscriptions {
                child.send(ConnectorSupervisor.command("subscribe", channel: subscription.channel, symbol: subscription.symbol))
            }
            let ending = await watch(child)
            shared.activity.withLock { $0.connected = false; $0.connectedAt = nil }
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
            cumulativeDecodeErrors += child.decodeErrorCount
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
            let (lastMarketEvent, connectedAt) = shared.activity.withLock { state in
                defer { state.connectedAt = nil }
                return (state.lastMarketEvent, state.connectedAt)
            }
            if let connectedAt { policy.connected(at: connectedAt) }
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

    /// The consumer's next event, taken from the queue on the consumer's own task, noting what the health loop
    /// needs. A symbol whose depth the full queue dropped gets a `depth_dropped` status first (its book cannot be
    /// trusted) and is resubscribed, so the connector sends a fresh snapshot. The dropped event was the oldest
    /// market event queued, so the status goes out before any later depth of that symbol. Nil once finished.
    private static func next(from queue: EventQueue, shared: Shared, prefix: String, logger: Logger) async -> ConnectorEvent? {
        if let owed = shared.activity.withLock({ $0.owed.isEmpty ? nil : $0.owed.removeFirst() }) {
            return note(owed, shared: shared, prefix: prefix, logger: logger)
        }
        guard let event = await queue.next() else { return nil }
        let dropped = queue.takeDroppedDepth().sorted()
        if !dropped.isEmpty {
            let runner = shared.current.withLock { $0 }
            for symbol in dropped {
                logger.warning("\(prefix)_connector_depth_dropped", metadata: ["symbol": "\(symbol)", "queue_size": "\(queue.count)"])
                runner?.send(ConnectorSupervisor.command("unsubscribe", channel: "depth", symbol: symbol))
                runner?.send(ConnectorSupervisor.command("subscribe", channel: "depth", symbol: symbol))
            }
            let statuses = dropped.map { ConnectorEvent.status(.init(status: .depthDropped, session: "supervisor", reason: "the bot's queue was full; resubscribing", topic: $0)) }
            shared.activity.withLock { $0.owed += statuses.dropFirst() + [event] }
            return statuses[0]
        }
        return note(event, shared: shared, prefix: prefix, logger: logger)
    }

    private static func note(_ event: ConnectorEvent, shared: Shared, prefix: String, logger: Logger) -> ConnectorEvent {
        switch event {
        case .depth, .trade:
            let now = WallClock.nanoseconds()
            let began = shared.activity.withLock { state in
                state.lastMarketEvent = now
                guard !state.connected else { return false }
                state.connected = true
                state.connectedAt = now
                return true
            }
            if began { logger.info("\(prefix)_connector_connected", metadata: ["symbol": "\(symbolOf(event))"]) }
        case .error:
            shared.activity.withLock { $0.errorEvents += 1 }
        default:
            break
        }
        return event
    }

    static func command(_ name: String, channel: String, symbol: String) -> String {
        #"{"command":"\#(name)","channel":"\#(channel)","symbol":"\#(symbol)"}"#
    }

    private static func symbolOf(_ event: ConnectorEvent) -> String {
        switch event {
        case .depth(let depth): return depth.update.symbol
        case .trade(let trade): return trade.symbol
        default: return ""
        }
    }
}
