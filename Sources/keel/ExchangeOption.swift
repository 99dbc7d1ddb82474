import ArgumentParser
import Binance
import Bybit
import Market

/// The exchanges whose recordings Keel reads, as the command line spells them.
enum ExchangeOption: String, ExpressibleByArgument, CaseIterable {
    case bybit
    case binanceUSDM = "binance-usdm"

    /// Runs `body` with a fresh feed of this exchange.
    func withFeed<Result>(_ body: (inout any MarketFeed) throws -> Result) rethrows -> Result {
        var feed: any MarketFeed
        switch self {
        case .bybit: feed = BybitFeed()
        case .binanceUSDM: feed = BinanceFeed()
        }
        return try body(&feed)
    }
}
