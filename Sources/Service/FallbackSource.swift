import ConnectorWire
import Foundation
import Logging
import Market
import Runtime
import Supervisor
import Synchronization

/// Which market source the bot's prices come from now (`/ws/health`, `/ready`).
public struct DataSourceView: Sendable, Equatable {
    public var active: String
    public var primary: String
    /// Since when the active source is a fallback (UTC ns), and why.
    public var fallbackSince: Int64?
    public var reason: String?
}

/// `exchange.fallback`: the primary market source, and the sources to fall back to in order. When
/// the active source has delivered no trusted book for `fallbackAfter`, the next one is started and
/// its market data goes to the bot (`keel_data_source_fallback`, a `status` `data_source`); once the
/// primary has sent a synced book of every symbol again, its market data comes back
/// (`keel_data_source_restored`) and the fallbacks are stopped.
///
/// Account events (orders, fills, positions, acks, reconciliation) always come from the primary,
/// and commands always go to it: only market data falls back. A fallback's own statuses and
/// errors stay out of the bot's view except its connection statuses while it is active.
public actor FallbackSource: MarketSource {
    public struct Source: Sendable {
        public var name: String
        public var make: @Sendable () -> any MarketSource

        public init(name: String, make: @escaping @Sendable () -> any MarketSource) {
            self.name = name
            self.make = make
        }
    }

    public nonisolated let events: AsyncStream<ConnectorEvent>
    private let sink: AsyncStream<ConnectorEvent>.Continuation
    private let chain: [Source]
    private let symbols: [String]
    private let fallbackAfter: Int64
    private let logger: Logger
    private var running: [Int: any MarketSource] = [:]
    /// `running[0]`, for `send` without a hop onto this actor.
    private nonisolated let primary = Mutex<(any MarketSource)?>(nil)
    private var pumps: [Int: Task<Void, Never>] = [:]
    private var watcher: Task<Void, Never>?
    /// Index in `chain` of the source whose market data the bot gets.
    private var active = 0
    private var activeSince: Int64 = 0
    private var reason: String?
    /// The last depth event per source (a connector only sends trusted depth).
    private var lastDepth: [Int: Int64] = [:]
    /// The primary's books while it is not active, to hand over on restore; and the symbols it has
    /// re-sent a snapshot of since it lost the lead.
    private var primaryBooks: [String: OrderBook] = [:]
    private var primaryLastUpdate: [String: Int64] = [:]
    private var primarySynced: Set<String> = []

    public init(chain: [Source], symbols: [String], fallbackAfter: Duration, logger: Logger) {
        precondition(!chain.isEmpty)
        self.chain = chain
        self.symbols = symbols
        self.fallbackAfter = fallbackAfter.inNanoseconds
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: ConnectorEvent.self, bufferingPolicy: .unbounded)
    }

    public func connect() async {
        guard running[0] == nil else { return }
        activeSince = WallClock.nanoseconds()
        await start(0)
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await self?.check(now: WallClock.nanoseconds())
            }
        }
    }

    public func disconnect() async {
        watcher?.cancel()
        for index in running.keys.sorted() { await stop(index) }
        sink.finish()
    }

    public func health(now: Int64) async -> ConnectorHealth {
        await (running[active] ?? running[0])?.health(now: now)
            ?? ConnectorHealth(connected: false, processAlive: false, pid: nil, queueSize: 0, errorCount: 0, decodeErrors: 0, droppedEvents: 0,
                               events: 0, lastEventTime: nil, secondsSinceLastEvent: nil, restarts: 0, deaths: 0, staleRestarts: 0,
                               restartAttempt: 0, lastRestartDelaySeconds: 0)
    }

    /// Commands go to the primary: orders and instruments are the primary venue's.
    public nonisolated func send(_ line: String) -> Bool {
        primary.withLock { $0 }?.send(line) ?? false
    }

    public func kill() async {
        for source in running.values { await source.kill() }
    }

    public func sources(now: Int64) async -> [SourceHealth] {
        var answer: [SourceHealth] = []
        for (index, source) in chain.enumerated() {
            answer.append(SourceHealth(name: source.name, health: await running[index]?.health(now: now), active: index == active))
        }
        return answer
    }

    public func dataSource() -> DataSourceView? {
        DataSourceView(active: chain[active].name, primary: chain[0].name, fallbackSince: active == 0 ? nil : activeSince, reason: active == 0 ? nil : reason)
    }

    // MARK: Inside

    private func start(_ index: Int) async {
        let source = chain[index].make()
        running[index] = source
        if index == 0 { primary.withLock { $0 = source } }
        await source.connect()
        pumps[index] = Task { [weak self] in
            for await event in source.events { await self?.forward(event, from: index) }
        }
    }

    private func stop(_ index: Int) async {
        guard let source = running.removeValue(forKey: index) else { return }
        if index == 0 { primary.withLock { $0 = nil } }
        await source.disconnect()
        pumps.removeValue(forKey: index)?.cancel()
        lastDepth[index] = nil
    }

    private func forward(_ event: ConnectorEvent, from index: Int) {
        let isMarket: Bool
        switch event {
        case .depth(let depth):
            isMarket = true
            lastDepth[index] = WallClock.nanoseconds()
            if index == 0 && active != 0 { followPrimary(depth.update) }
        case .trade:
            isMarket = true
        case .status(var status):
            // A connector (re)start invalidates the bot's books: only the active source's may. Each is
            // marked with what it touches: `inactive` (the primary behind a fallback: its account, not
            // the books), `fallback` (the books, not the primary venue's account).
            if status.status == .connectorStarted && index != 0 {
                guard index == active else { return }
                status.session = "fallback"
                sink.yield(.status(status))
                return
            }
            if status.status == .connectorStarted && index != active {
                primarySynced = []
                status.session = "inactive"
                sink.yield(.status(status))
                return
            }
            isMarket = index == active
        default:
            // Account events, acks, errors, stats: the primary's only.
            isMarket = false
        }
        if index == active || (index == 0 && !isMarket) { sink.yield(event) }
    }

    /// The primary's book while a fallback leads: kept, so it can be handed over whole on restore.
    private func followPrimary(_ update: DepthUpdate) {
        if update.kind == .snapshot {
            var book = OrderBook()
            if (try? book.apply(update)) != nil { primarySynced.insert(update.symbol) } else { primarySynced.remove(update.symbol) }
            primaryBooks[update.symbol] = book
        } else if var book = primaryBooks[update.symbol] {
            primaryBooks[update.symbol] = nil
            if (try? book.apply(update)) == nil { primarySynced.remove(update.symbol) }
            primaryBooks[update.symbol] = book
        }
        primaryLastUpdate[update.symbol] = update.lastUpdateId
    }

    private func check(now: Int64) async {
        if active != 0 {
            // The primary is back once it has sent a synced book of every symbol.
            if !symbols.isEmpty, symbols.allSatisfy(primarySynced.contains) { await restore(now: now) }
            else if active + 1 < chain.count, now - (lastDepth[active] ?? activeSince) >= fallbackAfter { await fallBack(now: now) }
            return
        }
        guard chain.count > 1, now - (lastDepth[0] ?? activeSince) >= fallbackAfter else { return }
        await fallBack(now: now)
    }

    private func fallBack(now: Int64) async {
        let from = chain[active].name
        let silent = (now - (lastDepth[active] ?? activeSince)) / 1_000_000
        active += 1
        activeSince = now
        reason = "\(from) delivered no trusted book for \(silent) ms (exchange.fallback_after \(fallbackAfter / 1_000_000) ms)"
        primaryBooks = [:]
        primarySynced = []
        logger.warning("keel_data_source_fallback", metadata: ["from": "\(from)", "to": "\(chain[active].name)", "reason": "\(reason!)"])
        sink.yield(.status(.init(status: .dataSource, connector: chain[active].name, session: "fallback", reason: reason)))
        if running[active] == nil { await start(active) }
    }

    private func restore(now: Int64) async {
        let from = chain[active].name
        logger.notice("keel_data_source_restored", metadata: ["from": "\(from)", "to": "\(chain[0].name)",
                                                              "fallback_ms": "\((now - activeSince) / 1_000_000)"])
        active = 0
        activeSince = now
        reason = nil
        sink.yield(.status(.init(status: .dataSource, connector: chain[0].name, session: "primary", reason: "\(chain[0].name) is back and synced")))
        // The primary's books as they stand, then its events as they come.
        for symbol in symbols {
            guard let book = primaryBooks[symbol] else { continue }
            let id = primaryLastUpdate[symbol] ?? 0
            sink.yield(.depth(.init(update: DepthUpdate(symbol: symbol, kind: .snapshot, bids: book.levels(.bid), asks: book.levels(.ask),
                                                        firstUpdateId: id, lastUpdateId: id, exchangeTime: now, receiveTime: now), depth: nil)))
        }
        primaryBooks = [:]
        for index in running.keys where index != 0 { await stop(index) }
    }
}
