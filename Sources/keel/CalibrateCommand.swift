import ArgumentParser
import Backtest
import ExchangeSim
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
        for (name, f) in [("buy", c.side(.buy)), ("sell", c.side(.sell)), ("all", c.allTrades)] {
            out.key(name)
            out.beginObject()
            out.field("count", f.count)
            for (name, value) in [("per_second", f.perSecond), ("mean_size", f.meanSize), ("p50", f.p50), ("p90", f.p90), ("p99", f.p99), ("p999", f.p999), ("max", f.max)] {
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
    ///
    /// The flow: σ per step = σ per √s · √(step); market orders per step = trades per second · step; the
    /// informed share = 2 · own-way share − 1 (clamped to 0…1): informed trades are followed by a move their
    /// way, noise trades by one either way at even odds; the informed horizon = the own-way measure's 1 s;
    /// sizes lognormal with the median of all trades, log-σ = ln(p99 / p50) / z₀.₉₉ (z₀.₉₉ = 2.3263), capped
    /// at p99.9 — all in lots; the makers' impact per trade from σ, the rate, the share and those sizes
    /// (`FlowParameters.impactBps`); the depth at the touch and the next prices, both sides' mean, in lots.
    static func fragments(_ c: Calibration, symbol: String, stepMs: Int) -> String {
        let sigma = c.sigmaMid ?? c.sigmaTrade ?? 0
        let all = c.allTrades
        let steps = 1_000.0 / Double(stepMs)
        let lot = c.qtyStep.doubleValue
        var strategy = "# strategy: (keel run / keel backtest)\nstrategy:\n  volatility_bps: \(round(sigma * 10_000, 1e4)!)\n"
        if let estimate = c.intensity { strategy += "  fill_a: \(round(estimate.a, 1e4)!)\n  fill_k: \(round(estimate.k, 1e4)!)\n" }
        if let coefficient = c.imbalanceCoefficient { strategy += "  imbalance_coefficient: \(round(coefficient, 1e4)!)\n" }
        let informed = Swift.min(1, Swift.max(0, 2 * (c.ownWayShare ?? 0.5) - 1))
        let sizeSigma = all.p50 > 0 && all.p99 > all.p50 ? log(all.p99 / all.p50) / 2.3263 : 0
        let medianLots = all.p50 / lot, maxLots = all.p999 / lot
        let impact = FlowParameters.impactBps(sigmaBps: sigma * 10_000, tradesPerSecond: all.perSecond, informedShare: informed,
                                              medianLots: medianLots, sizeSigma: sizeSigma, maxLots: maxLots)
        let depthLots = zip(c.depth(.buy), c.depth(.sell)).map { "\(round(($0 + $1) / 2 / lot, 1e3)!)" }.joined(separator: ", ")
        let flow = """
        {"flow": {"\(symbol)": {"start_price": \(round(c.lastMid ?? 0, 1e2)!), "volatility_per_step": \(round(sigma / steps.squareRoot(), 1e9)!), \
        "market_orders_per_step": \(round(all.perSecond / steps, 1e6)!), "informed_share": \(round(informed, 1e5)!), \
        "informed_horizon_steps": \(Int(steps.rounded())), "impact_bps": \(round(impact, 1e4)!), \
        "market_median_lots": \(round(medianLots, 1e3)!), "market_size_sigma": \(round(sizeSigma, 1e3)!), \
        "max_market_lots": \(round(maxLots, 1e3)!), "depth_lots": [\(depthLots)]}}}
        """
        return strategy + "# keel sim --config (its flow, for --step-ms \(stepMs)):\n" + flow
    }
}
