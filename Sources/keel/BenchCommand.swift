import ArgumentParser
import Binance
import Bybit
import Market
import Storage

/// `keel bench`: performance measurements on real data (run a release build).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Keel's hot paths on recorded data (use a release build).",
        subcommands: [FeedBench.self, SimBench.self, ConnectorBench.self, BotBench.self, BotBenchPeer.self]
    )
}

/// `keel bench feed`: parse + book apply over a whole recording, decompressed into memory first.
struct FeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Time parsing and book building over a recording held in memory.",
        discussion: """
        Decompresses FILE into memory, then replays every line (split, timestamp, JSON decode, \
        book sync) --iterations times with a fresh feed each time. Prints one line per iteration \
        and, last, a JSON object with the median figures: messages_per_sec, mb_per_sec, \
        ns_per_message (MB = 10^6 bytes of the decompressed file).
        """
    )

    @Option(help: "Exchange of the recording: bybit or binance-usdm.")
    var exchange: ExchangeOption

    @Option(help: "How many timed passes over the file.")
    var iterations: Int = 7

    @Argument(help: "The recording (.gz or plain).")
    var file: String

    func validate() throws {
        guard iterations > 0 else { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        #if DEBUG
        printError("keel bench: warning: this is a debug build; figures are meaningless (use `swift run -c release keel bench …`)")
        #endif
        let data = try RecordingReader.readAll(path: file)
        var seconds: [Double] = []
        var messages = 0
        let clock = ContinuousClock()
        for iteration in 1...iterations {
            var stats = FeedStats()
            let elapsed = clock.measure {
                switch exchange {
                case .bybit: stats = Self.pass(BybitFeed(), over: data)
                case .binanceUSDM: stats = Self.pass(BinanceFeed(), over: data)
                }
            }
            messages = stats.messages
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            seconds.append(secs)
            print("iteration \(iteration): \(format(secs * 1e3)) ms, \(stats.messages) messages, \(stats.errors) errors, \(stats.gaps) gaps")
        }
        let median = seconds.sorted()[seconds.count / 2]
        let bytes = Double(data.count)
        var out = JSONWriter()
        out.beginObject()
        out.field("exchange", exchange.rawValue)
        out.field("messages", messages)
        out.field("bytes", data.count)
        out.field("iterations", iterations)
        out.key("seconds"); out.double(rounded(median, 6))
        out.key("messages_per_sec"); out.double(rounded(Double(messages) / median, 0))
        out.key("mb_per_sec"); out.double(rounded(bytes / median / 1e6, 1))
        out.key("ns_per_message"); out.double(rounded(median * 1e9 / Double(max(messages, 1)), 1))
        out.endObject()
        print(out.string)
    }

    /// One pass of a fresh feed over the recording, the feed's own type known (as in the connector's
    /// sessions), not opened from an existential on every message.
    private static func pass<Feed: MarketFeed>(_ fresh: Feed, over data: [UInt8]) -> FeedStats {
        var feed = fresh
        data.withUnsafeBytes { bytes in
            LineSplitter.forEachLineIncludingLast(in: bytes) { line in
                let recorded = RecordedLine(line)
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime)
            }
        }
        return feed.stats
    }

    private func rounded(_ value: Double, _ places: Int) -> Double {
        var factor = 1.0
        for _ in 0..<places { factor *= 10 }
        return (value * factor).rounded() / factor
    }

    private func format(_ value: Double) -> String { "\(rounded(value, 2))" }
}
