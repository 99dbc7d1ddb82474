import Foundation
import Market
import MarketContext
import Testing

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
private let btc = Instrument(symbol: "BTCUSDT", tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"))
private let minute = KlineWindow.minute
/// 2024-06-03 10:00 UTC.
private let t0: Int64 = 1_717_408_800_000_000_000

private func kline(_ index: Int, price: String, volume: String, buy: String? = nil) -> Candle {
    let start = t0 + Int64(index) * minute
    var candle = Candle(start: start, end: start + minute, open: d(price))
    candle.volume = d(volume)
    candle.turnover = d(price) * d(volume)
    if let buy {
        candle.buyVolume = d(buy)
        candle.buyTurnover = d(price) * d(buy)
        candle.trades = 4
    } else {
        candle.takerSplit = false
    }
    return candle
}

private func trade(_ id: Int, at time: Int64, price: String, qty: String, _ side: Side) -> TradeTick {
    TradeTick(symbol: "BTCUSDT", price: d(price), qty: d(qty), aggressor: side, tradeId: "\(id)", exchangeTime: time, receiveTime: time)
}

@Suite("Backfill into the context: the seam")
struct BackfillSeamTests {
    @Test("trades during the backfill wait; those in minutes the klines cover are dropped, the rest applied once")
    func seam() throws {
        var context = SymbolContext(instrument: btc)
        context.beginBackfill()
        // The backfill was asked at 10:03:20: it covers 10:00–10:03. Trades arrive meanwhile, in 10:02 (covered) and 10:03 (not).
        context.onTrade(trade(1, at: t0 + 2 * minute + 50_000_000_000, price: "101", qty: "1", .buy))
        context.onTrade(trade(2, at: t0 + 3 * minute + 10_000_000_000, price: "102", qty: "2", .buy))
        context.onTrade(trade(3, at: t0 + 3 * minute + 30_000_000_000, price: "103", qty: "0.5", .sell))
        context.advance(to: t0 + 3 * minute + 40_000_000_000)
        #expect(context.trades == 0)
        #expect(context.candles[.m1]!.last(10).isEmpty)
        let klines = [kline(0, price: "100", volume: "3", buy: "2"), kline(1, price: "100.5", volume: "1", buy: "0"),
                      kline(2, price: "101", volume: "1", buy: "1"), kline(1, price: "100.5", volume: "1", buy: "0")]
        context.finishBackfill(klines)
        let candles = context.candles[.m1]!.last(10)
        #expect(candles.map(\.start) == [t0, t0 + minute, t0 + 2 * minute, t0 + 3 * minute])
        // 10:02 once (the kline's, not the kline's plus trade 1); 10:03 from the trades.
        #expect(candles[2].volume == d("1"))
        #expect(candles[3].volume == d("2.5") && candles[3].trades == 2 && candles[3].buyVolume == d("2"))
        #expect(context.trades == 4 * 3 + 2)
        // Session VWAP over every minute exactly: (300 + 100.5 + 101 + 204 + 51.5) / 7.5.
        let snapshot = context.snapshot
        #expect(snapshot.sessionVWAP == d("757").divided(by: d("7.5"), scale: 5))
        // CVD: the klines' taker split (+1, −1, +1), then the trades (+2, −0.5).
        #expect(snapshot.sessionCVD == d("2.5"))
        #expect(context.history?.candles == 3 && context.history?.through == t0 + 3 * minute && context.history?.takerSplit == true)
        // A later backfill (after a reconnect) adds only what is newer than what the context has.
        context.beginBackfill()
        context.finishBackfill([kline(2, price: "999", volume: "9", buy: "9")])
        #expect(context.candles[.m1]!.last(10)[2].volume == d("1"))
    }

    @Test("higher intervals are built from the 1m klines; Bybit's klines leave the CVD to live trades and say so")
    func higherIntervalsAndBybitCVD() {
        var context = SymbolContext(instrument: btc)
        context.beginBackfill()
        context.finishBackfill((0..<12).map { kline($0, price: $0 == 7 ? "105" : "100", volume: "1") })
        let fives = context.candles[.m5]!.last(5)
        #expect(fives.map(\.start) == [t0, t0 + 5 * minute, t0 + 10 * minute])
        #expect(fives[1].volume == d("5") && fives[1].high == d("105") && !fives[1].takerSplit)
        #expect(context.candles[.h1]!.last(1).first?.volume == d("12"))
        #expect(context.cvdFromLiveTradesOnly)
        #expect(context.snapshot.sessionCVD == .zero)
        context.onTrade(trade(9, at: t0 + 12 * minute + 1, price: "100", qty: "0.3", .sell))
        #expect(context.snapshot.sessionCVD == d("-0.3"))
        #expect(context.realisedVolatility(minutes: 60) != nil)
    }
}
