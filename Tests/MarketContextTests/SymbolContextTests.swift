import Binance
import Foundation
import Market
import MarketContext
import Storage
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
private let btc = Instrument(symbol: "BTCUSDT", tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"))

/// The shared capture's trades through Keel's one Binance feed path into a context.
private func captureContext(_ configuration: ContextConfiguration = .init()) throws -> SymbolContext {
    var feed = BinanceFeed()
    var context = SymbolContext(instrument: btc, configuration: configuration)
    try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { line in
        let recorded = RecordedLine(line)
        feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { event in
            if case .trade(let trade) = event { context.onTrade(trade) }
        }
    }
    return context
}

/// An independent reference: the capture's raw `trade` events read with JSONSerialization and summed
/// with Foundation's Decimal — 1m candles, the session VWAP and the CVD.
private struct Reference {
    struct Minute { var o, h, l, c: Decimal; var v = Decimal(0), buy = Decimal(0), n = 0 }
    var minutes: [Int64: Minute] = [:]
    var pq = Decimal(0), q = Decimal(0), cvd = Decimal(0)

    init() throws {
        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { line in
            let text = String(decoding: line, as: UTF8.self)
            guard let space = text.firstIndex(of: " "),
                  let object = try? JSONSerialization.jsonObject(with: Data(text[text.index(after: space)...].utf8)) as? [String: Any],
                  let data = object["data"] as? [String: Any], data["e"] as? String == "trade", (data["X"] as? String ?? "MARKET") == "MARKET",
                  let p = Decimal(string: data["p"] as! String), let qty = Decimal(string: data["q"] as! String) else { return }
            let time = (data["T"] as! NSNumber).int64Value
            let minute = time - time % 60_000
            var entry = minutes[minute] ?? Minute(o: p, h: p, l: p, c: p)
            entry.h = max(entry.h, p)
            entry.l = min(entry.l, p)
            entry.c = p
            entry.v += qty
            entry.n += 1
            let buyerIsTaker = !(data["m"] as! Bool)
            if buyerIsTaker { entry.buy += qty }
            minutes[minute] = entry
            pq += p * qty
            q += qty
            cvd += buyerIsTaker ? qty : -qty
        }
    }
}

private func decimal(_ value: FixedDecimal) -> Decimal { Decimal(string: value.description)! }

@Suite(.offThePool)
struct SymbolContextTests {
    @Test func candlesVWAPAndCVDOfTheSharedCaptureEqualAnIndependentReference() throws {
        let context = try captureContext()
        let reference = try Reference()
        #expect(context.trades > 1_000)
        let candles = context.candles[.m1]!.last(100)
        // Every minute with trades equals the reference; minutes between are flat at the previous close.
        let traded = candles.filter { $0.trades > 0 }
        #expect(traded.count == reference.minutes.count)
        for candle in traded {
            let expected = try #require(reference.minutes[candle.start / 1_000_000])
            #expect(decimal(candle.open) == expected.o && decimal(candle.high) == expected.h && decimal(candle.low) == expected.l
                    && decimal(candle.close) == expected.c, "\(candle.start)")
            #expect(decimal(candle.volume) == expected.v && decimal(candle.buyVolume) == expected.buy && candle.trades == expected.n)
        }
        let snapshot = context.snapshot
        let vwap = try #require(snapshot.sessionVWAP)
        let exact = reference.pq / reference.q
        #expect(abs(NSDecimalNumber(decimal: decimal(vwap) - exact).doubleValue) < 0.00001, "\(vwap) vs \(exact)")
        #expect(decimal(snapshot.sessionCVD) == reference.cvd)
        #expect(snapshot.levels != nil && snapshot.sessionSigma! > 0)
    }

    @Test func anEmptyMinuteIsAFlatCandleAtThePreviousClose() {
        var series = CandleSeries(interval: .m1, keep: 10)
        let minute: Int64 = 60_000_000_000
        series.add(price: d("100"), qty: d("1"), aggressor: .buy, time: 5 * minute + 1)
        series.add(price: d("101"), qty: d("2"), aggressor: .sell, time: 5 * minute + 2)
        series.add(price: d("99"), qty: d("1"), aggressor: .buy, time: 8 * minute)
        #expect(series.closed.map(\.start) == [5 * minute, 6 * minute, 7 * minute])
        #expect(series.closed[1].open == d("101") && series.closed[1].close == d("101") && series.closed[1].volume.isZero)
        #expect(series.current?.open == d("99"))
        // A timer tick closes it; the trade's candle opened at its own price.
        series.advance(to: 10 * minute)
        #expect(series.closed.map(\.start).suffix(2) == [8 * minute, 9 * minute] && series.current == nil)
        #expect(series.closed[0].vwap == d("100.6667"))   // 302 / 3 to the price's scale + 4
        #expect(series.closed[0].delta == d("-1"))
        // A trade older than the last closed candle is left out.
        let accepted = series.add(price: d("1"), qty: d("1"), aggressor: .buy, time: 6 * minute)
        #expect(!accepted)
    }

    /// POC ties go to the row nearest the VWAP, then the lower price; the value area grows toward the
    /// bigger next row and takes both on a tie.
    @Test func pocAndValueAreaOnHandBuiltProfiles() throws {
        func profile(_ rows: [(String, String)]) -> VolumeProfile {
            var profile = VolumeProfile(tickSize: d("1"), rowTicks: 1)
            for (price, qty) in rows { profile.add(price: d(price), qty: d(qty)) }
            return profile
        }
        // One clear POC at 102; 70 % of 20 = 14: 102 (6) → 103 (4) vs 101 (3): up → 10; 104 (2) vs 101 (3): down → 13; 104 (2) vs 100 (2): both → 17.
        let one = try #require(profile([("100", "2"), ("101", "3"), ("102", "6"), ("103", "4"), ("104", "2"), ("105", "3")]).levels(valueArea: 0.7, reference: nil))
        #expect(one.poc == d("102") && one.val == d("100") && one.vah == d("104"))
        // Tied POCs 101 and 104: the reference 103.2 is nearer 104 (row middle 104.5 vs 101.5); without one, the lower.
        let tied = profile([("101", "5"), ("102", "1"), ("104", "5")])
        #expect(tied.levels(valueArea: 0.5, reference: d("103.2"))?.poc == d("104"))
        #expect(tied.levels(valueArea: 0.5, reference: nil)?.poc == d("101"))
        // Equidistant from the reference: the lower price.
        #expect(tied.levels(valueArea: 0.5, reference: d("103"))?.poc == d("101"))
        // A value area that must take both sides at once.
        let both = try #require(profile([("99", "1"), ("100", "4"), ("101", "10"), ("102", "4"), ("103", "1")]).levels(valueArea: 0.8, reference: nil))
        #expect(both.poc == d("101") && both.val == d("100") && both.vah == d("102"))
        // Rows of several ticks: labelled by their lowest price.
        var wide = VolumeProfile(tickSize: d("0.1"), rowTicks: 10)
        wide.add(price: d("100.95"), qty: d("1"))
        wide.add(price: d("100.00"), qty: d("2"))
        #expect(wide.rows.count == 1 && wide.levels(valueArea: 0.7, reference: nil)?.poc == d("100"))
    }

    @Test func rollingVWAPAndRealisedVolatility() {
        var context = SymbolContext(instrument: btc)
        let minute: Int64 = 60_000_000_000
        let start: Int64 = 1_723_161_600_000_000_000   // a UTC midnight
        // Prices alternating ±1 % minute by minute for two hours.
        for index in 0..<120 {
            let price = index % 2 == 0 ? d("100.0") : d("101.0")
            context.onTrade(TradeTick(symbol: "BTCUSDT", price: price, qty: d("1"), aggressor: index % 3 == 0 ? .sell : .buy, tradeId: "\(index)",
                                      exchangeTime: start + Int64(index) * minute, receiveTime: 0))
        }
        context.advance(to: start + 120 * minute)
        let snapshot = context.snapshot
        // The rolling hour holds the last 60 trades: 30 at 100 and 30 at 101.
        #expect(snapshot.rollingVWAP == d("100.5"))
        #expect(abs((snapshot.rollingSigma ?? 0) - 0.5) < 1e-9)
        let r = log(101.0 / 100.0)
        #expect(abs((snapshot.volatility1hPerSqrtSecond ?? 0) - r / 60.0.squareRoot()) < 1e-12)
        #expect(abs((snapshot.volatility24hAnnualised ?? 0) - r / 60.0.squareRoot() * (365.0 * 86_400).squareRoot()) < 1e-9)
        #expect(snapshot.sessionCVD == d("40"))   // 80 taker buys, 40 taker sells
        // A new UTC day starts a new session.
        context.advance(to: start + 86_400_000_000_000)
        #expect(context.snapshot.sessionVWAP == nil && context.snapshot.sessionCVD.isZero)
    }
}

struct RollingVWAPTests {
    /// Hours of one-second buckets ageing out (the aged ones cut off in bulk) leave the window's sum
    /// exactly that of the trades still in it.
    @Test func theWindowHoldsExactlyItsTradesAcrossBulkCutOffs() {
        let window: Int64 = 600_000_000_000
        var rolling = RollingVWAP(window: window)
        var trades: [(time: Int64, price: Price, qty: Quantity)] = []
        var rng = SeededGenerator(seed: 3)
        var time: Int64 = 1_700_000_000_000_000_000
        for step in 0..<9_000 {
            // Mostly a trade or two a second; now and then a silence longer than the window.
            time += step % 2_500 == 2_499 ? 700_000_000_000 : Int64.random(in: 300_000_000...1_500_000_000, using: &rng)
            let price = FixedDecimal(mantissa: Int64.random(in: 9_990...10_010, using: &rng), scale: 1)
            let qty = FixedDecimal(mantissa: Int64.random(in: 1...50, using: &rng), scale: 3)
            rolling.add(price: price, qty: qty, time: time)
            trades.append((time, price, qty))
            if step % 97 == 0 {
                let cut = CandleInterval.s1.start(of: time) - window
                let kept = trades.filter { CandleInterval.s1.start(of: $0.time) + 1_000_000_000 > cut }
                let volume = kept.reduce(Quantity.zero) { $0 + $1.qty }
                let turnover = kept.reduce(FixedDecimal.zero) { $0 + $1.price * $1.qty }
                #expect(rolling.total.volume == volume && rolling.total.turnover == turnover, "step \(step)")
            }
        }
    }
}

struct CandleRollUpTests {
    /// Trades go into the 1s series alone and the coarser series take the seconds as they close: the
    /// candles read — closed and open, 1s to 1d — are the ones every trade going into every series makes,
    /// through busy seconds, quiet minutes and hours, and timer ticks, to the digits.
    @Test func coarserCandlesFromClosedSecondsAreTheCandlesOfEveryTrade() {
        let keep = ContextConfiguration().keep
        var context = SymbolContext(instrument: btc)
        var reference = CandleInterval.allCases.map { CandleSeries(interval: $0, keep: keep[$0] ?? 100) }
        var rng = SeededGenerator(seed: 5)
        var time: Int64 = 1_700_000_000_000_000_123
        var compared = 0
        for step in 0..<20_000 {
            // Mostly a few trades a second; now and then a quiet stretch of a minute to two hours.
            time += step % 1_000 == 999 ? Int64.random(in: 60_000_000_000...7_200_000_000_000, using: &rng) : Int64.random(in: 0...400_000_000, using: &rng)
            if Int.random(in: 0..<10, using: &rng) == 0 {
                context.advance(to: time)
                for index in reference.indices { reference[index].advance(to: time) }
            } else {
                let trade = TradeTick(symbol: "BTCUSDT", price: FixedDecimal(mantissa: Int64.random(in: 599_000...601_000, using: &rng), scale: 1),
                                      qty: FixedDecimal(mantissa: Int64.random(in: 1...900, using: &rng), scale: 3),
                                      aggressor: Bool.random(using: &rng) ? .buy : .sell, tradeId: "\(step)", exchangeTime: time, receiveTime: time)
                context.onTrade(trade)
                for index in reference.indices { reference[index].add(price: trade.price, qty: trade.qty, aggressor: trade.aggressor, time: time) }
            }
            guard step % 37 == 0 else { continue }
            for series in reference {
                let read = context.candles[series.interval]!
                #expect(read.closed == series.closed && read.current == series.current, "\(series.interval) at step \(step)")
                #expect("\(read.last(2))" == "\(series.last(2))", "\(series.interval) at step \(step)")
                compared += 1
            }
        }
        #expect(compared > 3_000)
    }
}
