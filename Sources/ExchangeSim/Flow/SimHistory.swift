import Foundation
import Market

/// The sim's past (`keel sim --history 2d`): seeded 1-minute candles before the sim started, served
/// by its kline endpoints like any other. The price walks backwards from where the live market
/// starts, so the last past candle closes at the live market's first price and the seam is
/// continuous; volumes, the taker split and trade counts are drawn around what the live flow trades.
/// Prices sit on the tick grid, volumes on the lot grid; each candle's turnover is its volume at a
/// price inside its range, exactly. Pure: the same seed and start give the same past.
public enum SimHistory {
    public static func candles(instrument: Instrument, parameters: FlowParameters, stepMilliseconds: Int,
                               start: Int64, minutes: Int, seed: UInt64) -> [Candle] {
        guard minutes > 0 else { return [] }
        var random = SeededRandom(seed: seed ^ 0x4849_5354_4F52_5921)
        let tick = instrument.tickSize.doubleValue
        let stepsPerMinute = 60_000.0 / Double(max(stepMilliseconds, 1))
        let sigma = parameters.volatilityPerStep * stepsPerMinute.squareRoot()
        // Market orders a minute × their mean size (three times a limit order's), in lots.
        let meanLots = max(parameters.marketOrdersPerStep * stepsPerMinute * parameters.meanLots * 3, 1)
        let meanTrades = max(parameters.marketOrdersPerStep * stepsPerMinute, 1)
        func ticks(_ price: Double) -> Int64 { Int64((price / tick).rounded()) }
        func price(_ ticks: Int64) -> Price { instrument.tickSize * FixedDecimal(Int(max(ticks, 1))) }
        var candles: [Candle] = []
        candles.reserveCapacity(minutes)
        // Walk backwards: each minute's close is the next one's open.
        var close = ticks(parameters.startPrice)
        for index in 0..<minutes {
            let begin = start - Int64(index + 1) * KlineWindow.minute
            let open = ticks(Double(close) * tick * exp(-sigma * random.normal()))
            let wick = abs(sigma * 0.5 * random.normal()) * Double(close)
            let high = max(open, close) + Int64(wick.rounded()) + Int64(random.poisson(0.5))
            let low = max(min(open, close) - Int64((abs(sigma * 0.5 * random.normal()) * Double(close)).rounded()) - Int64(random.poisson(0.5)), 1)
            var candle = Candle(start: begin, end: begin + KlineWindow.minute, open: price(open))
            candle.high = price(high)
            candle.low = price(low)
            candle.close = price(close)
            let lots = max(Int((meanLots * random.exponential(mean: 1)).rounded()), 1)
            let buyLots = Int((Double(lots) * random.unit()).rounded(.down))
            candle.volume = instrument.qtyStep * FixedDecimal(lots)
            candle.buyVolume = instrument.qtyStep * FixedDecimal(buyLots)
            // The minute's average price: a tick inside its range.
            let average = price(low + Int64((Double(high - low) * random.unit()).rounded(.down)))
            candle.turnover = average * candle.volume
            candle.buyTurnover = average * candle.buyVolume
            candle.trades = max(random.poisson(min(meanTrades, 400)), 1)
            candles.append(candle)
            close = open
        }
        return candles.reversed()
    }
}
