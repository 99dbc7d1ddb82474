import ArgumentParser
import Backtest
import Foundation
import Market

/// `keel calibrate`: what the strategy and the sim need, estimated from a recording.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Estimate σ, fill intensity A and k, the imbalance coefficient, trade arrivals and sizes, the spread and depth from recordings.",
        discussion: """
        Reads the recordings through the exchange's one feed path (exchange time) and prints one JSON object \
        with the figures, then the YAML fragment for `strategy:` and the JSON fragment for `keel sim --config` \
        (its `flow`), both on stderr-free stdout after the JSON line.
        """
    )

    @Option(help: "Exchange of the recordings: bybit or binance-usdm.")
    var exchange: ExchangeOption

    @Option(help: "Symbol (default: the first with a book).")
    var symbol: String?

    @Option(help: "Tick size of the symbol (for distances in ticks).")
    var tickSize = "0.1"

    @Option(help: "Lot step of the symbol (for the sim's sizes in lots).")
    var qtyStep = "0.001"

    @Option(help: "The sim's step in milliseconds the flow fragment is written for (keel sim --step-ms).")
    var stepMs = 20

    @Argument(help: "Recordings, in order (.gz or plain; raw JSON or `<local_ns> <json>` lines).")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one recording") }
        guard (try? FixedDecimal(parsing: tickSize))?.signum == 1, (try? FixedDecimal(parsing: qtyStep))?.signum == 1 else {
            throw ValidationError("--tick-size and --qty-step must be positive decimals, e.g. 0.1 and 0.001")
        }
        guard (1...1_000).contains(stepMs) else { throw ValidationError("--step-ms must be 1–1000") }
    }

    func run() throws {
        var calibration = Calibration(tickSize: try FixedDecimal(parsing: tickSize), qtyStep: try FixedDecimal(parsing: qtyStep),
                                      symbol: symbol?.uppercased())
        try exchange.replay(files, command: "keel calibrate") { calibration.ingest($0) }
        guard let chosen = calibration.symbol, calibration.seconds > 0 else {
            throw ValidationError("no trades in \(files.joined(separator: ", "))\(symbol.map { " for \($0)" } ?? "")")
        }
        print(CalibrateCommand.json(calibration))
        print(CalibrateCommand.fragments(calibration, symbol: chosen, stepMs: stepMs))
    }

    static func round(_ value: Double?, _ digits: Double = 1e6) -> Double? { value.map { ($0 * digits).rounded() / digits } }

    static func json(_ c: Calibration) -> String {
        var out = JSONWriter()
        out.beginObject()
        out.field("symbol", c.symbol ?? "")
        out.key("seconds")
        out.double(round(c.seconds, 1e3)!)
        out.key("sigma_per_sqrt_s")
        out.beginObject()
        for (name, value) in [("trade", c.sigmaTrade), ("mid", c.sigmaMid)] {
            out.key(name)
            if let value { out.double(round(value, 1e9)!) } else { out.null() }
        }
        out.endObject()
        out.key("trades")
        out.beginObject()
        for side in [Side.buy, .sell] {
            let f = c.side(side)
            out.key(side.rawValue)
            out.beginObject()
            out.field("count", f.count)
            for (name, value) in [("per_second", f.perSecond), ("mean_size", f.meanSize), ("p50", f.p50), ("p90", f.p90), ("p99", f.p99), ("max", f.max)] {
                out.key(name)
                out.double(round(value)!)
            }
            out.endObject()
        }
        out.endObject()
        out.key("fill_intensity")
        if let estimate = c.intensity {
            out.beginObject()
            out.key("a")
            out.double(round(estimate.a)!)
            out.key("k")
            out.double(round(estimate.k)!)
            out.endObject()
        } else {
            out.null()
        }
        for (name, value) in [("imbalance_coefficient_ticks", c.imbalanceCoefficient), ("own_way_share_1s", c.ownWayShare), ("spread_ticks", c.spreadTicks)] {
            out.key(name)
            if let value { out.double(round(value)!) } else { out.null() }
        }
        out.key("depth_near_touch")
        out.beginObject()
        for (name, side) in [("bid", Side.buy), ("ask", Side.sell)] {
            out.key(name)
            out.beginArray()
            for value in c.depth(side) { out.double(round(value)!) }
            out.endArray()
        }
        out.endObject()
        out.endObject()
        return out.string
    }

    /// `strategy:` keys and the sim's `flow` for this market.
    static func fragments(_ c: Calibration, symbol: String, stepMs: Int) -> String {
        let sigma = c.sigmaMid ?? c.sigmaTrade ?? 0
        let buy = c.side(.buy), sell = c.side(.sell)
        let steps = 1_000.0 / Double(stepMs)
        let lot = c.qtyStep.doubleValue
        let count = Double(buy.count + sell.count)
        let meanSize = count > 0 ? (buy.meanSize * Double(buy.count) + sell.meanSize * Double(sell.count)) / count : 0
        var strategy = "# strategy: (keel run / keel backtest)\nstrategy:\n  volatility_bps: \(round(sigma * 10_000, 1e4)!)\n"
        if let estimate = c.intensity { strategy += "  fill_a: \(round(estimate.a, 1e4)!)\n  fill_k: \(round(estimate.k, 1e4)!)\n" }
        if let coefficient = c.imbalanceCoefficient { strategy += "  imbalance_coefficient: \(round(coefficient, 1e4)!)\n" }
        let flow = """
        {"flow": {"\(symbol)": {"start_price": \(round(c.lastMid ?? 0, 1e2)!), "volatility_per_step": \(round(sigma / steps.squareRoot(), 1e9)!), \
        "market_orders_per_step": \(round((buy.perSecond + sell.perSecond) / steps, 1e6)!), "mean_lots": \(round(meanSize / lot / 3, 1e3)!)}}}
        """
        return strategy + "# keel sim --config (its flow, for --step-ms \(stepMs)):\n" + flow
    }
}
