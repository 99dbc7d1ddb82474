import ConnectorWire
import Foundation
import Market
import Runtime
import Supervisor

/// Where the bot's events come from (`exchange.data_source`): the supervised connector child
/// (`bybit_connector`) or the deterministic in-process stub (`stub`). The rest of the bot cannot tell
/// them apart.
public protocol MarketSource: Sendable {
    /// Every event, in order, until `disconnect()`.
    var events: AsyncStream<ConnectorEvent> { get }
    func connect() async
    func disconnect() async
    func health(now: Int64) async -> ConnectorHealth
    /// One command line for the exchange side, written before it returns; false when nothing can take it.
    /// Synchronous and nonisolated: an order decision reaches the connector's stdin without an actor hop.
    nonisolated func send(_ line: String) -> Bool
    /// At once, no goodbye: for a forced exit (the connector's whole process group gets SIGKILL).
    func kill() async
    /// With `exchange.fallback`: which source leads now; nil for a single source.
    func dataSource() async -> DataSourceView?
    /// Each data source's health, the primary first: a source that is not running has none. A single
    /// source answers its own, unnamed (the configured `exchange.data_source` is its name).
    func sources(now: Int64) async -> [SourceHealth]
}

/// One data source as the dashboard shows it.
public struct SourceHealth: Sendable {
    public var name: String?
    public var health: ConnectorHealth?
    public var active: Bool
}

extension MarketSource {
    public func dataSource() async -> DataSourceView? { nil }
    public func sources(now: Int64) async -> [SourceHealth] { [SourceHealth(name: nil, health: await health(now: now), active: true)] }
}

extension ConnectorSupervisor: MarketSource {}

/// `DATA_SOURCE=stub`: `StubMarket` driven by a timer — a `connected` status, a snapshot per symbol,
/// then a step every `interval`. No process, no network; health reports it alive with no pid.
public actor StubSource: MarketSource {
    public nonisolated let events: AsyncStream<ConnectorEvent>
    private let sink: AsyncStream<ConnectorEvent>.Continuation
    private var market: StubMarket
    private let interval: Duration
    private var loop: Task<Void, Never>?
    private var connected = false
    private var lastEvent: Int64?
    private var count = 0

    public init(symbols: [String], seed: UInt64 = 42, interval: Duration = .milliseconds(100)) {
        var configuration = StubMarket.Configuration(symbols: symbols)
        configuration.seed = seed
        market = StubMarket(configuration: configuration)
        self.interval = interval
        (events, sink) = AsyncStream.makeStream(of: ConnectorEvent.self, bufferingPolicy: .unbounded)
    }

    public func connect() {
        guard loop == nil else { return }
        loop = Task { await self.run() }
    }

    public func disconnect() async {
        loop?.cancel()
        await loop?.value
        connected = false
        sink.finish()
    }

    public func health(now: Int64) -> ConnectorHealth {
        ConnectorHealth(connected: connected, processAlive: loop != nil && connected, pid: nil, queueSize: 0, errorCount: 0, decodeErrors: 0,
                        droppedEvents: 0, events: count, lastEventTime: lastEvent,
                        secondsSinceLastEvent: lastEvent.map { Double(now - $0) / 1e9 }, restarts: 0, deaths: 0, staleRestarts: 0,
                        restartAttempt: 0, lastRestartDelaySeconds: 0)
    }

    public nonisolated func send(_ line: String) -> Bool { false }

    public func kill() { loop?.cancel() }

    private func run() async {
        emit(.status(.init(status: .connected, connector: "stub")))
        connected = true
        let now = WallClock.nanoseconds()
        for snapshot in market.snapshots(at: now) { emit(.depth(.init(update: snapshot, depth: nil))) }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { break }
            let step = market.step(at: WallClock.nanoseconds())
            for update in step.depth { emit(.depth(.init(update: update, depth: nil))) }
            for trade in step.trades { emit(.trade(trade)) }
        }
    }

    private func emit(_ event: ConnectorEvent) {
        switch event {
        case .depth, .trade: lastEvent = WallClock.nanoseconds()
        default: break
        }
        count += 1
        sink.yield(event)
    }
}
