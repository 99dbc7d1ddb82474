import ArgumentParser
import Market

/// `keel book`: replays a recording into an order book and prints the result as one JSON object.
struct BookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "book",
        abstract: "Replay recorded exchange messages into an order book and print it as JSON.",
        discussion: """
        FILE is plain text or gzip; each line is a raw JSON message or `<local_ns> <json>` \
        (hftbacktest's collector format). Prints one JSON object on stdout: counters \
        (messages, errors, snapshots, deltas, trades, gaps), whether the final book is valid, \
        its last update id, level counts and the top N levels of each side as exact decimal strings. \
        A gzip file cut inside its last member (a recorder killed mid-write) is read up to the cut, with a \
        warning on stderr, and exits 0.
        """
    )

    @Option(help: "Exchange of the recording: bybit or binance-usdm.")
    var exchange: ExchangeOption

    @Option(help: "How many levels of each side to print.")
    var depth: Int = 10

    @Option(help: "Symbol whose book to print (default: the first symbol with a book).")
    var symbol: String?

    @Argument(help: "The recording to replay (.gz or plain).")
    var file: String

    func validate() throws {
        guard depth >= 0 else { throw ValidationError("--depth must be 0 or more (levels printed per side)") }
    }

    func run() throws {
        let report = try exchange.replay([file], command: "keel book", events: { _ in }) { feed in
            let chosen = symbol ?? feed.symbols.first
            return BookReport(exchange: exchange.rawValue, stats: feed.stats,
                              state: chosen.flatMap { feed.bookState(symbol: $0) }, depth: depth)
        }
        if let symbol, report.state == nil {
            printError("keel book: warning: no book for symbol \(symbol) in \(file)")
        }
        print(report.json)
    }
}
