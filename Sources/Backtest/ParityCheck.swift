import Market
import Strategy
import Storage

/// A paper run against its replay, fill by fill: a fill matches when the other side has one of the same
/// side, price and quantity within `tolerance` ns (each used once, nearest in time first).
public struct ParityCheck: Sendable {
    public struct Trade: Sendable, Equatable {
        public var time: Int64
        public var side: Side
        public var price: Price
        public var qty: Quantity

        public init(time: Int64, side: Side, price: Price, qty: Quantity) {
            self.time = time
            self.side = side
            self.price = price
            self.qty = qty
        }

        var text: String { "\(UTCTime.formatISO8601(time)) \(side.rawValue) \(qty) @ \(price)" }
    }

    public var paperOrders = 0
    public var backtestOrders = 0
    public var paper: [Trade] = []
    public var backtest: [Trade] = []
    /// Markouts of each side's fills on the same replayed mids.
    public var paperMarkouts: [Markouts.Figures] = []
    public var backtestMarkouts: [Markouts.Figures] = []
    public let tolerance: Int64

    public init(tolerance: Int64) {
        self.tolerance = tolerance
    }

    /// The paper run's orders and fills from its order log.
    public mutating func read(_ entries: [OrderLogEntry], symbol: String) {
        for entry in entries where entry.symbol == nil || entry.symbol == symbol {
            switch entry.event {
            case "sent" where entry.command == "place": paperOrders += 1
            case "fill":
                guard let side = entry.side.flatMap(Side.init(rawValue:)), let price = entry.price.flatMap({ try? FixedDecimal(parsing: $0) }),
                      let qty = entry.qty.flatMap({ try? FixedDecimal(parsing: $0) }) else { continue }
                paper.append(Trade(time: entry.time, side: side, price: price, qty: qty))
            default: break
            }
        }
    }

    public struct Result: Sendable {
        public var matched = 0
        public var unmatchedPaper: [Trade] = []
        public var unmatchedBacktest: [Trade] = []
    }

    public func compare() -> Result {
        var result = Result()
        var used = Array(repeating: false, count: backtest.count)
        // Both lists are in time order: for each paper fill, the nearest unused backtest fill alike within tolerance.
        var start = 0
        for fill in paper {
            while start < backtest.count, backtest[start].time < fill.time - tolerance { start += 1 }
            var best: Int?
            var index = start
            while index < backtest.count, backtest[index].time <= fill.time + tolerance {
                let candidate = backtest[index]
                if !used[index], candidate.side == fill.side, candidate.price == fill.price, candidate.qty == fill.qty,
                   best.map({ abs(backtest[$0].time - fill.time) > abs(candidate.time - fill.time) }) ?? true {
                    best = index
                }
                index += 1
            }
            if let best {
                used[best] = true
                result.matched += 1
            } else {
                result.unmatchedPaper.append(fill)
            }
        }
        for (index, fill) in backtest.enumerated() where !used[index] { result.unmatchedBacktest.append(fill) }
        return result
    }

    static func position(_ trades: [Trade]) -> Quantity {
        trades.reduce(Quantity.zero) { $0 + ($1.side == .buy ? $1.qty : -$1.qty) }
    }

    /// The parity line: counts, the match ratio (matched ÷ the larger fill count) and the first differences.
    public func json(limit: Int = 10) -> String {
        let result = compare()
        let denominator = max(paper.count, backtest.count)
        var out = JSONWriter()
        out.beginObject()
        out.field("paper_orders", paperOrders)
        out.field("backtest_orders", backtestOrders)
        out.field("paper_fills", paper.count)
        out.field("backtest_fills", backtest.count)
        out.field("matched_fills", result.matched)
        out.field("match_ratio", denominator > 0 ? (Double(result.matched) / Double(denominator) * 10_000).rounded() / 10_000 : 1)
        out.field("position_paper", number: Self.position(paper))
        out.field("position_backtest", number: Self.position(backtest))
        out.key("markouts_paper")
        BacktestSummary.write(paperMarkouts, to: &out)
        out.key("markouts_backtest")
        BacktestSummary.write(backtestMarkouts, to: &out)
        out.key("first_differences")
        out.beginArray()
        for fill in result.unmatchedPaper.prefix(limit) { out.string("paper only: " + fill.text) }
        for fill in result.unmatchedBacktest.prefix(limit) { out.string("backtest only: " + fill.text) }
        out.endArray()
        out.endObject()
        return out.string
    }
}
