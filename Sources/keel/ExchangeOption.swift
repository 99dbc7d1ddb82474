import ArgumentParser
import Binance
import Bybit
import Market
import Storage

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

    /// Every market event of `files`, in order, through one fresh feed of this exchange. A recording cut
    /// by a crash is read up to the cut, with a warning naming `command`.
    func replay(_ files: [String], command: String, _ body: (MarketEvent) -> Void) throws {
        try replay(files, command: command, events: body) { _ in }
    }

    /// The same, then `finish` with the feed as the files left it (its books and counters).
    func replay<Result>(_ files: [String], command: String, events body: (MarketEvent) -> Void,
                        then finish: (any MarketFeed) -> Result) throws -> Result {
        try withFeed { feed in
            for file in files {
                let end = try RecordingReader.forEachLine(path: file) { line in
                    let recorded = RecordedLine(line)
                    feed.ingest(recorded.message, receiveTime: recorded.receiveTime, body)
                }
                // A recorder killed between flushes: everything before the cut is read.
                if case .truncated(let reason) = end { printError("\(command): warning: \(file): \(reason); read every line before the cut") }
            }
            return finish(feed)
        }
    }
}
