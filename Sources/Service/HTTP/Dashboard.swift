import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Market
import MarketContext
import Runtime
import Supervisor

/// The live dashboard's data: one update holds everything the page at `/` shows, pushed over
/// `/ws/dashboard` (a snapshot on connect, then at most `DashboardFeed.updatesPerSecond` a second).
/// Prices and quantities are exact decimal strings; nothing secret is in it.
struct DashboardUpdate: Encodable, Sendable {
    /// One data source: Connected, Reconnecting, Down or Standby (a fallback not running), and why.
    struct Source: Encodable, Sendable {
        var name: String
        var active: Bool
        var state: String
        var reason: OrNull<String>
        var pid: OrNull<Int>
        var lastTs: OrNull<String>
        var secondsSinceLastEvent: OrNull<Double>
        var restarts: Int
        var queueSize: Int
        var errors: Int
    }

    struct Book: Encodable, Sendable {
        var symbol: String
        var valid: Bool
        /// Best first: `[price, qty]`, at most `DashboardFeed.levels` a side.
        var bids: [[String]]
        var asks: [[String]]
        var mid: OrNull<String>
        var spread: OrNull<String>
    }

    struct Trade: Encodable, Sendable {
        var time: Int64
        var side: String
        var price: String
        var qty: String
    }

    struct Fill: Encodable, Sendable {
        var time: Int64
        var side: String
        var price: String
        var qty: String
        var fee: String
        var maker: Bool
    }

    struct Latency: Encodable, Sendable {
        var p50Seconds: Double
        var p99Seconds: Double
        var samples: Int
    }

    /// The market context's headline figures (the whole of it is `/context/{symbol}`).
    struct Context: Encodable, Sendable {
        var vwap: OrNull<String>
        var poc: OrNull<String>
        var vah: OrNull<String>
        var val: OrNull<String>
        var cvd: OrNull<String>
    }

    /// Wall-clock UTC ns when the update was made.
    var time: Int64
    var sources: [Source]
    var dataSource: DataSourceAnswer
    var reconnects: Int
    var gaps: Int
    var resyncs: Int
    var ready: Bool
    var readyReasons: [String]
    var book: OrNull<Book>
    var trades: [Trade]
    var strategy: OrNull<StrategyStatus>
    var maxPosition: OrNull<String>
    var fills: [Fill]
    /// `[Unix ms, net PnL]` since start, oldest first.
    var pnlCurve: [[Double]]
    var latency: OrNull<Latency>
    var context: OrNull<Context>
    /// Whether Halt / Resume need `monitoring.api_token` (the server listens beyond loopback).
    var tokenRequired: Bool
}

/// Net PnL since start for the dashboard's curve: a point a second at first; when `capacity` points are
/// kept, every other one goes and the spacing doubles, so the whole run stays on the curve.
struct PnLCurve: Sendable {
    static let capacity = 600
    private(set) var points: [(time: Int64, net: Double)] = []
    private var spacing: Int64 = 1_000_000_000

    mutating func add(time: Int64, net: Double) {
        if let last = points.last, time - last.time < spacing { return }
        points.append((time, net))
        if points.count > Self.capacity {
            points = points.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            spacing *= 2
        }
    }
}

extension DashboardUpdate.Source {
    /// A source's state from its health: Connected while its socket is up and events come within the
    /// stale threshold; Reconnecting while its process runs without a connection (or has gone silent);
    /// Down while no connector process runs (the supervisor brings it back); Standby for a fallback that
    /// is not running.
    static func state(of health: ConnectorHealth?, staleThreshold: Double) -> (state: String, reason: String?) {
        guard let health else { return ("Standby", "a fallback, started when the active source fails") }
        if !health.processAlive {
            let restart = health.restarts + health.deaths > 0 ? " (restarts so far: \(health.restarts))" : ""
            return ("Down", "no connector process running\(restart); the supervisor restarts it")
        }
        if !health.connected { return ("Reconnecting", "the connector runs; its exchange connection is not up") }
        if let silent = health.secondsSinceLastEvent, silent > staleThreshold {
            return ("Reconnecting", "no market event for \(Int(silent)) s (stale after \(Int(staleThreshold)) s)")
        }
        return ("Connected", nil)
    }
}

/// Builds dashboard updates from the running bot and serves `/ws/dashboard`.
struct DashboardFeed: Sendable {
    let service: BotService
    /// Levels a side on the ladder.
    static let levels = 20
    /// The push rate's ceiling (the issue's: at most 10 a second).
    static let updatesPerSecond = 5

    func update(now: Int64) async -> DashboardUpdate {
        let settings = service.settings
        var sources: [DashboardUpdate.Source] = []
        for (index, source) in await service.source.sources(now: now).enumerated() {
            let name = source.name ?? (index == 0 ? settings.dataSource.rawValue : "source \(index)")
            let state = DashboardUpdate.Source.state(of: source.health, staleThreshold: settings.staleThreshold)
            let health = source.health
            sources.append(.init(name: name, active: source.active, state: state.state, reason: OrNull(state.reason),
                                 pid: OrNull(health?.pid.map { Int($0) }), lastTs: OrNull(health?.lastEventTime.map { UTCTime.formatISO8601($0) }),
                                 secondsSinceLastEvent: OrNull(health?.secondsSinceLastEvent.map { ($0 * 10).rounded() / 10 }),
                                 restarts: health?.restarts ?? 0, queueSize: health?.queueSize ?? 0, errors: health?.errorCount ?? 0))
        }
        let incidents = await service.state.incidents()
        let readiness = await Readiness.of(service, now: now)
        let symbol = service.maker?.symbol ?? settings.connector.symbols.first ?? ""
        var book: DashboardUpdate.Book?
        if let current = await service.state.book(symbol) {
            func rows(_ side: BookSide) -> [[String]] { current.book.levels(side, limit: Self.levels).map { ["\($0.price)", "\($0.qty)"] } }
            let bid = current.book.bestBid?.price, ask = current.book.bestAsk?.price
            book = .init(symbol: symbol, valid: current.valid, bids: rows(.bid), asks: rows(.ask), mid: .decimal(current.book.mid),
                         spread: OrNull(bid.flatMap { bid in ask.map { "\($0 - bid)" } }))
        }
        let trades = await service.state.trades(symbol).reversed().map {
            DashboardUpdate.Trade(time: $0.exchangeTime, side: $0.aggressor.rawValue, price: "\($0.price)", qty: "\($0.qty)")
        }
        var update = DashboardUpdate(
            time: now, sources: sources, dataSource: readiness.dataSource,
            reconnects: incidents.reconnects, gaps: incidents.gaps, resyncs: incidents.resyncs, ready: readiness.ready,
            readyReasons: readiness.reasons, book: OrNull(book), trades: Array(trades), strategy: OrNull(nil),
            maxPosition: .decimal(settings.trading.risk.maxPosition), fills: [], pnlCurve: [], latency: OrNull(nil), context: OrNull(nil),
            tokenRequired: settings.apiToken != nil)
        if let maker = service.maker {
            let trading = await maker.dashboard()
            update.strategy = OrNull(trading.status)
            update.fills = trading.fills.reversed().map {
                .init(time: $0.time, side: $0.side.rawValue, price: "\($0.price)", qty: "\($0.qty)", fee: "\($0.fee)", maker: $0.isMaker)
            }
            update.pnlCurve = trading.curve.map { [Double($0.time / 1_000_000), ($0.net * 1e6).rounded() / 1e6] }
            if let context = trading.context {
                update.context = OrNull(.init(vwap: .decimal(context.sessionVWAP), poc: .decimal(context.levels?.poc), vah: .decimal(context.levels?.vah),
                                              val: .decimal(context.levels?.val), cvd: .decimal(context.sessionCVD)))
            }
        }
        if let latency = service.metrics.recentTickToQuote() {
            update.latency = OrNull(.init(p50Seconds: (latency.p50 * 1e6).rounded() / 1e6, p99Seconds: (latency.p99 * 1e6).rounded() / 1e6,
                                          samples: latency.count))
        }
        return update
    }

    /// `/ws/dashboard`: an update on connect, then one every 1/`updatesPerSecond` s (each differs from the
    /// last: it carries its time and the feed's age), until a write fails because the page has gone.
    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let reader = Task {
            // The page sends nothing; reading its frames lets the library answer its pings and its close.
            for try await _ in inbound {}
        }
        defer { reader.cancel() }
        while !Task.isCancelled {
            let data = AnswerEncoder.data(await update(now: WallClock.nanoseconds()))
            do {
                try await outbound.write(.text(String(decoding: data, as: UTF8.self)))
                try await Task.sleep(for: .milliseconds(1_000 / Self.updatesPerSecond))
            } catch {
                return
            }
        }
    }
}
