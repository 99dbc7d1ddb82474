import Market
import Strategy

/// What a backtest did, as `keel backtest` prints it (one JSON object, the last line).
public struct BacktestSummary: Sendable, Equatable {
    public var symbol = ""
    /// Market events of the traded symbol (trusted depth, trades, broken books).
    public var events = 0
    public var orders = 0
    public var amends = 0
    public var cancels = 0
    public var rejected = 0
    public var fills = 0
    public var makerFills = 0
    public var halts = 0
    public var position: Quantity = .zero
    public var realised: FixedDecimal = .zero
    public var unrealised: FixedDecimal = .zero
    public var fees: FixedDecimal = .zero
    public var net: FixedDecimal = .zero
    /// Largest fall of net PnL from its peak, quote currency.
    public var maxDrawdown: FixedDecimal = .zero
    public var roundTrips = 0
    /// Event time covered, and the part of it with a working quote on both sides, ns.
    public var observed: Int64 = 0
    public var quotedBothSides: Int64 = 0
    /// Markouts of the fills at 1, 5 and 30 s (`Markouts.horizons`), since start.
    public var markouts: [Markouts.Figures] = []

    public init() {}

    public var quoteUptime: Double { observed > 0 ? Double(quotedBothSides) / Double(observed) : 0 }

    mutating func close(ledger: PositionLedger, mark: Price?) {
        position = ledger.position
        realised = ledger.realisedPnl
        unrealised = ledger.unrealisedPnl(mark: mark)
        fees = ledger.fees
        net = ledger.netPnl(mark: mark)
        roundTrips = ledger.roundTrips
    }

    /// The summary line; `seconds`: the run's wall time (the one number that is not a pure function of the input).
    public func json(seconds: Double) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("symbol", symbol)
        out.field("events", events)
        out.field("seconds", (seconds * 1_000_000).rounded() / 1_000_000)
        out.field("events_per_sec", seconds > 0 ? (Double(events) / seconds).rounded() : 0)
        out.field("orders", orders)
        out.field("amends", amends)
        out.field("cancels", cancels)
        out.field("fills", fills)
        out.field("maker_fills", makerFills)
        out.field("rejected", rejected)
        out.field("position", number: position)
        out.field("realised_pnl", number: realised)
        out.field("unrealised_pnl", number: unrealised)
        out.field("fees", number: fees)
        out.field("net_pnl", number: net)
        out.field("max_drawdown", number: maxDrawdown)
        out.field("round_trips", roundTrips)
        out.field("halts", halts)
        out.field("quote_uptime", (quoteUptime * 1_000_000).rounded() / 1_000_000)
        out.key("markouts")
        Self.write(markouts, to: &out)
        out.endObject()
        return out.string
    }

    /// `{"1s": {"all", "buy", "sell", "fills"}, …}` in bp (positive: good for us), null where no fill.
    public static func write(_ markouts: [Markouts.Figures], to out: inout JSONWriter) {
        out.beginObject()
        for (index, figures) in markouts.enumerated() where index < Markouts.horizons.count {
            out.key(Markouts.name(Markouts.horizons[index]))
            out.beginObject()
            for (name, value) in [("all", figures.all), ("buy", figures.buy), ("sell", figures.sell)] {
                out.key(name)
                if let value { out.double((value * 100).rounded() / 100) } else { out.null() }
            }
            out.field("fills", figures.count)
            out.endObject()
        }
        out.endObject()
    }
}

/// One row of the equity curve.
public struct EquityPoint: Sendable, Equatable {
    public var time: Int64
    public var mid: Price?
    public var position: Quantity
    public var realised: FixedDecimal
    public var unrealised: FixedDecimal
    public var fees: FixedDecimal
    public var net: FixedDecimal
    /// Our best working bid and ask at that moment (nil: none on that side).
    public var ourBid: Price?
    public var ourAsk: Price?

    public static let csvHeader = "time,mid,position,realised,unrealised,net"

    public var csv: String {
        "\(UTCTime.formatISO8601(time)),\(mid.map { "\($0)" } ?? ""),\(position),\(realised),\(unrealised),\(net)"
    }
}

/// A series kept for the report in bounded memory: when full, every other point goes and the spacing
/// doubles, so a day or a month of data draws with the same number of points. The latest point is
/// kept apart, so the series always ends where the run ended.
public struct Decimated<Point: Sendable>: Sendable {
    public let capacity: Int
    public private(set) var kept: [Point] = []
    public private(set) var latest: Point?
    private var latestKept = false
    private var stride = 1
    private var seen = 0

    public init(capacity: Int) {
        self.capacity = max(capacity, 4)
    }

    public mutating func add(_ point: Point) {
        latest = point
        latestKept = seen % stride == 0
        seen += 1
        guard latestKept else { return }
        kept.append(point)
        if kept.count >= capacity {
            kept = kept.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            stride *= 2
            latestKept = false
        }
    }

    /// The kept points and the latest one.
    public var points: [Point] {
        guard let latest, !latestKept else { return kept }
        return kept + [latest]
    }
}

public typealias EquityCurve = Decimated<EquityPoint>
