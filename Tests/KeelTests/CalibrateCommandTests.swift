import ExchangeSim
import Foundation
import Storage
import Testing
import TestSupport

/// `keel calibrate` on the shared Binance capture against an independent computation written here:
/// the raw `trade` events read with JSONSerialization, summed in `Double`.
@Suite(.offThePool)
struct CalibrateCommandTests {
    struct Trade { var time: Int64; var price: Double; var qty: Double; var buy: Bool }

    private func trades() throws -> [Trade] {
        var trades: [Trade] = []
        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { line in
            let text = String(decoding: line, as: UTF8.self)
            guard let space = text.firstIndex(of: " "),
                  let object = try? JSONSerialization.jsonObject(with: Data(text[text.index(after: space)...].utf8)) as? [String: Any],
                  let data = object["data"] as? [String: Any], data["e"] as? String == "trade", (data["X"] as? String ?? "MARKET") == "MARKET",
                  let price = Double(data["p"] as! String), let qty = Double(data["q"] as! String) else { return }
            // `m` true: the buyer was the maker, so the seller took.
            trades.append(Trade(time: (data["T"] as! NSNumber).int64Value * 1_000_000, price: price, qty: qty, buy: !(data["m"] as! Bool)))
        }
        return trades
    }

    @Test func sigmaArrivalRatesAndSizeQuantilesEqualAnIndependentComputation() async throws {
        let run = try await runKeel(["calibrate", "--exchange", "binance-usdm", SharedData.path("binance-usdm/btcusdt_20240808.gz")])
        #expect(run.status == 0, "\(run.stderr)")
        let first = try #require(run.stdout.split(separator: "\n").first)
        let output = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        let trades = try trades()
        let seconds = Double(trades.last!.time - trades.first!.time) / 1e9
        #expect(abs((output["seconds"] as? Double ?? 0) - seconds) < 1e-3)

        // Rates and sizes per side: nearest-rank quantiles (the ⌈q·n⌉-th smallest).
        let sides = try #require(output["trades"] as? [String: [String: Any]])
        for (name, buy) in [("buy", true), ("sell", false)] {
            let sizes = trades.filter { $0.buy == buy }.map(\.qty).sorted()
            func quantile(_ q: Double) -> Double { sizes[max(0, Int((q * Double(sizes.count)).rounded(.up)) - 1)] }
            let got = try #require(sides[name])
            #expect(got["count"] as? Int == sizes.count)
            #expect(abs((got["per_second"] as? Double ?? 0) - Double(sizes.count) / seconds) < 1e-5)
            #expect(abs((got["mean_size"] as? Double ?? 0) - sizes.reduce(0, +) / Double(sizes.count)) < 1e-5)
            for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                #expect(abs((got[key] as? Double ?? -1) - quantile(q)) < 1e-9, "\(name) \(key)")
            }
            #expect(got["max"] as? Double == sizes.last)
        }

        // σ of the 1 s log returns of the last trade price as of each whole second.
        var returns: [Double] = []
        var last: Double?
        var previous: Double?
        var next: Int64?
        for trade in trades {
            if let price = last, var second = next {
                while second <= trade.time {
                    if let before = previous { returns.append(log(price / before)) }
                    previous = price
                    second += 1_000_000_000
                }
                next = second
            } else {
                next = (trade.time / 1_000_000_000 + 1) * 1_000_000_000
            }
            last = trade.price
        }
        let sigma = (returns.map { $0 * $0 }.reduce(0, +) / Double(returns.count)).squareRoot()
        let reported = try #require((output["sigma_per_sqrt_s"] as? [String: Any])?["trade"] as? Double)
        #expect(abs(reported - sigma) < 2e-9, "\(reported) vs \(sigma)")
        // The book's mid moves like the trades at 1 s (BTC's one-tick spread is 0.2 bp of bounce).
        let mid = try #require((output["sigma_per_sqrt_s"] as? [String: Any])?["mid"] as? Double)
        #expect(abs(mid - sigma) / sigma < 0.2)

        // The fragments: a strategy section and the sim's flow, in the sim's units.
        #expect(run.stdout.contains("strategy:\n  volatility_bps: ") && run.stdout.contains(#"{"flow": {"BTCUSDT": {"#))
        #expect((output["fill_intensity"] as? [String: Any])?["k"] as? Double ?? 0 > 0)

        // The sim's defaults are what this command prints for the capture: `keel calibrate` drives them.
        let flowLine = try #require(run.stdout.split(separator: "\n").last { $0.hasPrefix(#"{"flow""#) })
        let flow = try #require(((try JSONSerialization.jsonObject(with: Data(flowLine.utf8)) as? [String: Any])?["flow"]
            as? [String: Any])?["BTCUSDT"] as? [String: Any])
        let defaults = FlowParameters.calibrated
        for (key, value) in [("volatility_per_step", defaults.volatilityPerStep), ("market_orders_per_step", defaults.marketOrdersPerStep),
                             ("informed_share", defaults.informedShare), ("impact_bps", defaults.impactBps),
                             ("market_median_lots", defaults.marketMedianLots), ("market_size_sigma", defaults.marketSizeSigma),
                             ("max_market_lots", defaults.maxMarketLots)] {
            #expect(flow[key] as? Double == value, "\(key): printed \(flow[key] ?? "nothing"), the sim's default \(value)")
        }
        #expect(flow["informed_horizon_steps"] as? Int == defaults.informedHorizonSteps)
        #expect(flow["depth_lots"] as? [Double] == defaults.depthLots)
        // The share from the own-way measure, and the impact from its formula, computed here again.
        let ownWay = try #require(output["own_way_share_1s"] as? Double)
        #expect(abs(defaults.informedShare - (2 * ownWay - 1)) < 1e-5)
        let all = try #require(sides["all"])
        let p50 = try #require(all["p50"] as? Double), p99 = try #require(all["p99"] as? Double), p999 = try #require(all["p999"] as? Double)
        let sizeSigma = log(p99 / p50) / 2.3263, cap = p999 / p50
        func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
        let meanRatio = exp(sizeSigma * sizeSigma / 2) * phi((log(cap) - sizeSigma * sizeSigma) / sizeSigma) + cap * (1 - phi(log(cap) / sizeSigma))
        let impact = mid * 10_000 / ((2 * ownWay - 1) * ((all["per_second"] as? Double ?? 0) * meanRatio).squareRoot())
        #expect(abs(impact - defaults.impactBps) < 1e-3, "impact \(impact) bp")
    }
}
