import ArgumentParser
import Foundation
import Market
import MarketContext

/// `keel context`: the market context of a recording — candles, VWAP, volume profile, CVD, volatility.
struct ContextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context",
        abstract: "Replay recordings' trades into the market context and print it as one JSON object.",
        discussion: """
        The same feed path and the same context code as the bot and the backtester. Prints {"symbol", \
        "trades", "session_start", "candles": {"1m": [{"t","o","h","l","c","v","buy_v","sell_v","n","vwap","delta"}…]}, \
        "vwap", "profile": {"row_ticks","poc","vah","val","rows": [[price, volume]…]}, "cvd", "volatility"}; prices \
        and volumes are exact decimal strings, `t` a candle's start in Unix ms.
        """
    )

    @Option(help: "Exchange of the recordings: bybit or binance-usdm.")
    var exchange: ExchangeOption

    @Option(help: "Candle intervals to print, comma-separated: 1s, 1m, 5m, 15m, 1h, 4h, 1d, or all.")
    var interval = "1m"

    @Option(help: "Symbol (default: the first with trades).")
    var symbol: String?

    @Option(help: "Tick size of the symbol's prices, for the profile rows (default: the smallest step of the recorded prices' decimals).")
    var tickSize: String?

    @Option(help: "Ticks per volume-profile row (context.profile_row_ticks).")
    var rowTicks = 10

    @Option(help: "Share of the volume in the value area (context.value_area).")
    var valueArea = 0.70

    @Option(help: "Seconds of the rolling VWAP window (context.vwap_window).")
    var vwapWindow = 3_600.0

    @Argument(help: "Recordings, in order (.gz or plain; raw JSON or `<local_ns> <json>` lines).")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one recording") }
        guard intervals != nil else { throw ValidationError("--interval: \(interval) is not a list of 1s, 1m, 5m, 15m, 1h, 4h, 1d or all") }
        guard rowTicks >= 1, (0.01...1).contains(valueArea), vwapWindow > 0 else {
            throw ValidationError("--row-ticks must be 1 or more, --value-area 0.01–1, --vwap-window positive seconds")
        }
        if let tickSize { guard (try? FixedDecimal(parsing: tickSize))?.signum == 1 else { throw ValidationError("--tick-size must be a positive decimal, e.g. 0.1") } }
    }

    var intervals: [CandleInterval]? {
        if interval == "all" { return CandleInterval.allCases }
        let list = interval.split(separator: ",").map { CandleInterval(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        return list.contains(nil) || list.isEmpty ? nil : list.compactMap { $0 }
    }

    func run() throws {
        // The trades first (the tick size may come from them), then the context.
        var trades: [TradeTick] = []
        try exchange.replay(files, command: "keel context") { event in
            if case .trade(let trade) = event, symbol == nil || trade.symbol == symbol?.uppercased() { trades.append(trade) }
        }
        let chosen = symbol?.uppercased() ?? trades.first?.symbol
        guard let chosen else { throw ValidationError("no trades in \(files.joined(separator: ", "))\(symbol.map { " for \($0)" } ?? "")") }
        let mine = trades.filter { $0.symbol == chosen }
        let tick = try tickSize.map { try FixedDecimal(parsing: $0) }
            ?? FixedDecimal(mantissa: 1, scale: mine.map(\.price.scale).max() ?? 0)
        var configuration = ContextConfiguration()
        configuration.profileRowTicks = rowTicks
        configuration.valueArea = valueArea
        configuration.vwapWindow = Int64(vwapWindow * 1e9)
        // Every candle the recording holds, however long.
        let span = (mine.last?.exchangeTime ?? 0) - (mine.first?.exchangeTime ?? 0)
        for interval in CandleInterval.allCases { configuration.keep[interval] = Int(span / interval.nanoseconds) + 2 }
        var context = SymbolContext(instrument: Instrument(symbol: chosen, tickSize: tick, qtyStep: tick, minQty: tick), configuration: configuration)
        for trade in mine { context.onTrade(trade) }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let report = ContextReport(context, intervals: intervals ?? [.m1], count: Int.max)
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
