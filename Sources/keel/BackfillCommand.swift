import ArgumentParser
import Connector
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// `keel backfill`: the REST kline backfill alone, with a progress bar on a terminal, the candles as CSV.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Fetch an exchange's closed 1m candles over REST in chunks, within its limits, and write them as CSV.",
        discussion: """
        The bot's backfill on its own: the same pager (Bybit /v5/market/kline newest first, paged backwards; Binance \
        /fapi/v1/klines oldest first), rate-limit waits and retries. Candles of --interval above 1m are built from the \
        1m ones. CSV columns: t,o,h,l,c,v,turnover,buy_v,sell_v,n (t the candle's start in Unix ms, oldest first; \
        buy_v, sell_v and n empty where the exchange gives no taker split: Bybit). Progress: a bar on a terminal, \
        else keel_backfill_progress JSON lines, on stderr.
        """
    )

    @Option(help: "bybit or binance-usdm.")
    var exchange: StandaloneBackfill.Exchange

    @Option(help: "Symbol, e.g. BTCUSDT.")
    var symbol: String

    @Option(help: "Candle interval of the output: 1m, 5m, 15m, 1h, 4h or 1d.")
    var interval = "1m"

    @Option(help: "How far back: e.g. 24h, 7d, 90m (up to 30d).")
    var since = "24h"

    @Option(help: "REST base URL (default: the exchange's mainnet; e.g. http://127.0.0.1:9100 for keel sim).")
    var restURL: String?

    @Option(help: "PEM file of a certificate authority to trust for https (e.g. keel sim --tls's).")
    var caFile: String?

    @Option(help: "Write the CSV here instead of stdout.")
    var out: String?

    @Option(help: "Candles per request (default: the exchange's maximum, Bybit 1000, Binance 1500).")
    var chunkLimit: Int?

    @Option(help: "Seconds to wait after an IP rate-limit answer (Bybit 403; Binance 418/429 without Retry-After).")
    var rateLimitWait = 60.0

    static let minutes: [String: Int64] = ["1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1_440]

    func validate() throws {
        guard BackfillCommand.minutes[interval] != nil else { throw ValidationError("--interval must be 1m, 5m, 15m, 1h, 4h or 1d") }
        guard let seconds = DurationText.seconds(since), seconds >= 60, seconds <= 30 * 86_400 else {
            throw ValidationError("--since must be a duration from 1m to 30d, e.g. 24h or 7d")
        }
        if let chunkLimit { guard (1...1_500).contains(chunkLimit) else { throw ValidationError("--chunk-limit must be 1–1500") } }
        guard rateLimitWait > 0 else { throw ValidationError("--rate-limit-wait must be positive seconds") }
        if let restURL { guard restURL.hasPrefix("http://") || restURL.hasPrefix("https://") else { throw ValidationError("--rest-url must be an http:// or https:// URL") } }
    }

    func run() async throws {
        let terminal = isatty(2) != 0
        let level: Logger.Level = terminal ? .warning : .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "keel.backfill")
        var rest = RestConfiguration(baseURL: (restURL ?? exchange.defaultRestURL).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        rest.caFile = caFile
        var configuration = BackfillConfiguration()
        configuration.chunkLimit = chunkLimit
        configuration.rateLimitWait = .milliseconds(Int64(rateLimitWait * 1_000))
        let now = WallClock.nanoseconds()
        let from = now - Int64(DurationText.seconds(since)! * 1e9)
        let collector = CandleCollector()
        let symbol = symbol.uppercased()
        let done = try await StandaloneBackfill.run(exchange: exchange, symbol: symbol, from: from, to: now, rest: rest,
                                                    configuration: configuration, logger: logger) { event in
            switch event {
            case .candles(let chunk):
                collector.add(chunk.candles)
            case .backfill(let progress):
                if terminal {
                    BackfillCommand.drawBar(progress, symbol: symbol)
                } else if progress.state == .running {
                    logger.info("keel_backfill_progress", metadata: ["symbol": "\(symbol)", "chunk": "\(progress.chunk)", "chunks": "\(progress.chunks)",
                                                                     "candles": "\(progress.candles)", "seconds": "\(progress.seconds)"])
                }
            default:
                break
            }
        }
        if terminal { printError("") }
        let candles = BackfillCommand.group(collector.sorted(), minutes: BackfillCommand.minutes[interval]!)
        var csv = "t,o,h,l,c,v,turnover,buy_v,sell_v,n\n"
        for c in candles {
            let split = c.takerSplit ? "\(c.buyVolume),\(c.volume - c.buyVolume),\(c.trades)" : ",,"
            csv += "\(c.start / 1_000_000),\(c.open),\(c.high),\(c.low),\(c.close),\(c.volume),\(c.turnover),\(split)\n"
        }
        if let out {
            try csv.write(toFile: out, atomically: true, encoding: .utf8)
        } else {
            FileHandle.standardOutput.write(Data(csv.utf8))
        }
        printError("keel backfill: \(symbol) \(candles.count) candles of \(interval)" + (out.map { " → \($0)" } ?? "") + (done ? "" : " (incomplete)"))
        if !done { throw ExitCode(1) }
    }

    /// `[#########...........] 37/132 chunks  36999 candles  4.2 s`, redrawn in place.
    static func drawBar(_ progress: ConnectorEvent.BackfillProgress, symbol: String) {
        let width = 30
        let total = max(progress.chunks, 1)
        let filled = min(width, width * progress.chunk / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\r\(symbol) [\(bar)] \(progress.chunk)/\(progress.chunks) chunks  \(progress.candles) candles  \(String(format: "%.1f", progress.seconds)) s"
        if progress.state == .waiting { line += "  waiting: \(progress.reason ?? "")" }
        if progress.state == .failed { line += "  failed: \(progress.reason ?? "")" }
        line += "\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// 1m candles into candles of `minutes` (UTC-aligned), each the fold of its minutes.
    static func group(_ candles: [Candle], minutes: Int64) -> [Candle] {
        guard minutes > 1 else { return candles }
        let width = minutes * KlineWindow.minute
        var out: [Candle] = []
        for candle in candles {
            let start = candle.start - ((candle.start % width) + width) % width
            if out.last?.start == start {
                out[out.count - 1].merge(candle)
            } else {
                var fresh = Candle.bucket(start: start, end: start + width, like: candle)
                fresh.merge(candle)
                out.append(fresh)
            }
        }
        return out
    }
}

/// The chunks' candles as they come (events arrive on the backfill's task; read after it ends).
final class CandleCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var candles: [Candle] = []

    func add(_ more: [Candle]) {
        lock.lock()
        candles += more
        lock.unlock()
    }

    /// Oldest first, each start once.
    func sorted() -> [Candle] {
        lock.lock()
        defer { lock.unlock() }
        var seen = Set<Int64>()
        return candles.sorted { $0.start < $1.start }.filter { seen.insert($0.start).inserted }
    }
}

extension StandaloneBackfill.Exchange: ExpressibleByArgument {}
