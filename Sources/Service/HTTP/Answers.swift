import Foundation
import Hummingbird
import Market
import MarketContext

/// The HTTP API's answers, typed: every field a route answers is a property here, and the JSON keys
/// are the properties' names in snake case (`secondsSinceLastEvent` → `seconds_since_last_event`).

/// A field that is always present: its value, or `null`.
struct OrNull<Value: Encodable & Sendable>: Encodable, Sendable {
    var value: Value?

    init(_ value: Value?) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

extension OrNull where Value == String {
    /// An exact decimal as its string, or `null`.
    static func decimal(_ value: FixedDecimal?) -> OrNull<String> { OrNull(value.map { "\($0)" }) }
}

extension OrNull where Value == Double {
    /// A measurement rounded to 6 decimals, or `null`.
    static func measure(_ value: Double?) -> OrNull<Double> { OrNull(value.map { ($0 * 1e6).rounded() / 1e6 }) }
}

struct HealthAnswer: Encodable, Sendable {
    var status = "ok"
}

struct ErrorAnswer: Encodable, Sendable {
    var error: String
}

/// `/ready`: 200 once the connector is up, every book is valid and the strategy may quote (or there is
/// none); why not, otherwise. `data_ready`: the market data alone.
struct ReadyAnswer: Encodable, Sendable {
    var ready: Bool
    var dataReady: Bool
    var reasons: [String]
    var connected: Bool
    var tradingAllowed: Bool
    var tradingReason: String
    /// The source the market data comes from now (`exchange.data_source`, or a fallback).
    var dataSource: String
}

/// Where the market data comes from: the configured source, or a fallback since when and why.
struct DataSourceAnswer: Encodable, Sendable {
    var active: String
    var primary: String
    var fallback: Bool
    var since: OrNull<String>
    var reason: OrNull<String>

    init(_ view: DataSourceView?, configured: String) {
        active = view?.active ?? configured
        primary = view?.primary ?? configured
        fallback = active != primary
        since = OrNull(view?.fallbackSince.map { UTCTime.formatISO8601($0) })
        reason = OrNull(view?.reason)
    }
}

/// `/ws/health`: the connector as the supervisor sees it, and the bot's books.
struct WSHealthAnswer: Encodable, Sendable {
    struct Connector: Encodable, Sendable {
        var connected: Bool
        var lastTs: OrNull<String>
        var queueSize: Int
        var connectorHealth: ProcessHealth
        var restarts: Int
        var deaths: Int
        var staleRestarts: Int
        var secondsSinceLastEvent: OrNull<Double>
        var droppedEvents: Int
        var books: [String: Book]
    }

    struct ProcessHealth: Encodable, Sendable {
        var processAlive: Bool
        var queueSize: Int
        var errorCount: Int
        var pid: OrNull<Int>
    }

    struct Book: Encodable, Sendable {
        var valid: Bool
        var bidLevels: Int
        var askLevels: Int
        var lastUpdateId: Int64
        var bestBid: OrNull<String>
        var bestAsk: OrNull<String>
    }

    var connector: Connector
    var dataSource: DataSourceAnswer
}

/// `/strategy/status` (and the answer of `POST /strategy/halt` and `/resume`): the strategy as it stands.
public struct StrategyStatus: Encodable, Sendable {
    struct InstrumentGrid: Encodable, Sendable {
        var tickSize: String
        var qtyStep: String
        var minQty: String
        var maxQty: OrNull<String>
        var minNotional: OrNull<String>
        var confirmedByExchange: Bool
    }

    struct Risk: Encodable, Sendable {
        var state: String
        var reasons: [String]
        var consecutiveLosses: Int
    }

    struct PnL: Encodable, Sendable {
        var realised: String
        var unrealised: String
        var fees: String
        var net: String
    }

    struct MarketView: Encodable, Sendable {
        var mid: OrNull<String>
        var microprice: OrNull<String>
        var spread: OrNull<String>
        var volatility: OrNull<Double>
        var tradeIntensity: OrNull<Double>
        var imbalance: OrNull<Double>
    }

    /// The quote model; the depths only once it has quoted.
    struct Model: Encodable, Sendable {
        var mode: String
        var gamma: Double
        var bidDepthTicks: Double?
        var askDepthTicks: Double?
        var halfSpreadTicks: Double?
        var skewTicks: Double?
        var sigmaTicks: Double?
        var a: Double?
        var k: Double?
        var inventory: Double?
        /// The maker fee the quotes pay (a rate), one fill's fee in ticks (in the GLFT half spread), and
        /// the least spread in bp of the mid (min_spread_bps, or two fees plus min_edge_bps).
        var makerFee: Double?
        var feeTicks: Double?
        var floorBps: Double?
        /// `strategy.fair_value`, the price the last quotes were centred on, and the imbalance coefficient in use (ticks).
        var fairValue: String?
        var fair: String?
        var imbalanceCoefficient: Double?
        /// Sides judged toxic now (`strategy.toxicity_bps`), and a pulled side's return time (Unix ns).
        var toxic: [String]?
        var pulledUntil: [String: Int64]?
    }

    struct Quote: Encodable, Sendable {
        var price: String
        var qty: String
    }

    struct Quotes: Encodable, Sendable {
        var bids: [Quote]
        var asks: [Quote]
    }

    struct LiveOrder: Encodable, Sendable {
        var clientId: String
        var side: String
        var price: String
        var qty: String
        var filled: String
        var status: String
        /// The ladder rung it stands for; −1 when none (adopted, or forgotten).
        var level: Int
    }

    struct MarkoutView: Encodable, Sendable {
        struct Figures: Encodable, Sendable {
            var all: Double?
            var buy: Double?
            var sell: Double?
            var fills: Int
        }

        var sinceStart: Figures
        var lastFills: Figures
    }

    struct Decision: Encodable, Sendable {
        var time: Int64
        var text: String
    }

    var mode: String
    var symbol: String
    var quoting: Bool
    var reconciled: Bool
    var instrument: InstrumentGrid
    var risk: Risk
    var position: String
    var averageEntry: OrNull<String>
    var pnl: PnL
    var roundTrips: Int
    var losingRoundTrips: Int
    var market: MarketView
    var model: Model
    var quotes: Quotes
    var liveOrders: [LiveOrder]
    var orders: [String: Int]
    var decisions: [Decision]
    /// Markouts of our fills by horizon (`1s`, `5s`, `30s`): since start and over the last fills.
    var markouts: [String: MarkoutView]
    /// The REST backfill of the context (`context.backfill`).
    var backfill: ContextReport.Backfill
    /// Whether quotes may go out now, and why not (the gate of `/ready`).
    var tradingAllowed: Bool
    var tradingReason: String
}

/// One JSON encoder for every answer: snake-case keys, sorted, so answers are stable.
enum AnswerEncoder {
    static func data(_ answer: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(answer)) ?? Data("{}".utf8)
    }
}

/// An answer as an HTTP response.
func answer(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(bytes: AnswerEncoder.data(value))))
}
