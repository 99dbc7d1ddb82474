import ArgumentParser
import Backtest
import Connector
import Foundation
import Market
import Runtime
import Service
import Storage
import Execution
import Strategy

/// `keel backtest`: recordings through the bot's own decision code and a simulated venue.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay recordings through the bot's strategy and a simulated venue; print one JSON summary.",
        discussion: """
        FILE... are recordings (`keel record`'s SYMBOL_YYYYMMDD.gz, hftbacktest-collector files, Binance USD-M raw \
        captures with their REST snapshot lines), read in the order given, plain or gzip. --config is the bot's own \
        configuration file: its strategy and risk sections, and a backtest section for the venue's models. The last \
        line on stdout is one JSON object: symbol, events, seconds, events_per_sec, orders, amends, cancels, fills, \
        maker_fills, rejected, position, realised_pnl, unrealised_pnl, fees, net_pnl, max_drawdown, round_trips, \
        halts, quote_uptime. --cache DIR keeps a prepared binary form of the recordings (named by a hash of their \
        paths, sizes, modification times and inodes) and replays it while they are unchanged. --out DIR also writes equity.csv, fills.csv and report.html. On a terminal a progress \
        bar runs on stderr. --parity DIR replays a paper run's own recording (`keel run` with recording.enabled) \
        and prints a second JSON object comparing its fills with the replay's: paper_orders, backtest_orders, \
        paper_fills, backtest_fills, matched_fills, match_ratio, position_paper, position_backtest, first_differences.
        """
    )

    @Option(help: "Exchange of the recordings.")
    var exchange: ExchangeOption = .bybit

    @Option(help: "A paper run's recording directory (`keel run` with recording.enabled): replay its frames with the paper venue's own settings and compare fill by fill with its orders_*.jsonl.")
    var parity: String?

    @Option(help: "The bot's YAML configuration (strategy, risk and backtest sections).")
    var config: String

    @Option(help: "Directory for equity.csv, fills.csv and report.html (made when missing).")
    var out: String?

    @Option(help: "Symbol to trade (default strategy.symbol, else the first symbol with a book).")
    var symbol: String?

    @Option(help: "Directory for a prepared binary form of the recordings (made when missing): the first run writes it, later runs on the same unchanged recordings replay it without gunzip, parsing or the sync rules.")
    var cache: String?

    @Argument(help: "Recordings to replay, in order.")
    var files: [String] = []

    func validate() throws {
        guard !files.isEmpty || parity != nil else { throw ValidationError("give at least one recording FILE, or --parity DIR") }
        guard files.isEmpty || parity == nil else { throw ValidationError("--parity DIR replays the directory's own recordings; give no FILE with it") }
    }

    func run() async throws {
        let bot: BotSettings
        let section: BacktestSettings
        var configured: [String] = []
        do throws(ConnectorSettings.Invalid) {
            // The bot's file need not name exchange symbols for a backtest: the recordings have them.
            configured = try await ConnectorSettings.fileValues(config, keys: ["exchange.symbols"]).first?.value
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() } ?? []
            bot = try await BotSettings.load(file: config, environment: [:],
                                             overrides: configured.isEmpty ? [("exchange.symbols", symbol ?? "BTCUSDT")] : [])
            section = try await BacktestSettings.load(file: config)
        } catch {
            throw refuse(error.description, command: "keel backtest")
        }
        let trading = bot.trading
        var measured: OrderLatency?
        // A parity replay uses the paper venue's own latency: no measured one is read for it.
        if parity == nil, let file = section.latencyFile {
            do {
                measured = try OrderLog.latency(path: file)
            } catch {
                throw refuse("backtest.latency_file: \(error)", command: "keel backtest")
            }
        }
        var options = Backtester.Options(exchange: exchange == .bybit ? .bybit : .binanceUSDM,
                                         policy: trading.policy(staleAfterSeconds: bot.staleThreshold),
                                         tickSize: trading.tickSize, qtyStep: trading.qtyStep, minQty: trading.minQty,
                                         venue: section.venue(paper: trading.paper, measured: measured))
        options.symbol = symbol ?? trading.symbol ?? configured.first
        options.venueClock = section.venueClock
        options.equityInterval = Int64(section.equityInterval * 1e9)

        var recordings = self.files
        var check: ParityCheck?
        if let parity {
            // The paper run's own venue, exactly: its latency and fee, the paper queue, on the local clock.
            options.venue = trading.paper
            options.venueClock = .local
            let entries: [OrderLogEntry]
            do {
                entries = try OrderLog.read(path: parity)
            } catch {
                throw refuse("--parity \(parity): \(error)", command: "keel backtest")
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parity)) ?? []
            let traded = options.symbol ?? names.filter { $0.hasSuffix(".gz") }.sorted().first.map { String($0.prefix { $0 != "_" }) }
            guard let traded else { throw refuse("--parity \(parity): no SYMBOL_YYYYMMDD.gz recording in it", command: "keel backtest") }
            options.symbol = traded
            recordings = names.filter { $0.hasPrefix(traded + "_") && $0.hasSuffix(".gz") }.sorted().map { parity + "/" + $0 }
            guard !recordings.isEmpty else { throw refuse("--parity \(parity): no \(traded)_YYYYMMDD.gz recording in it", command: "keel backtest") }
            options.conditions = entries.compactMap { entry in
                guard entry.event == "conditions", let ready = entry.ready else { return nil }
                return (entry.time, .init(connectorUp: entry.connectorUp ?? true, ready: ready))
            }
            var parityCheck = ParityCheck(tolerance: max(trading.paper.latency, 1_000_000))
            parityCheck.read(entries, symbol: traded)
            // The paper run's fills, measured on the replay's mids beside the backtest's own.
            options.shadowFills = parityCheck.paper.enumerated().map { ("paper-\($0.offset)", $0.element.time, $0.element.side, $0.element.price) }
            check = parityCheck
        }

        let files = try out.map { try BacktestFiles(directory: $0) }
        var backtestFills: [ParityCheck.Trade] = []
        let keepFills = check != nil
        var backtester = Backtester(options: options) { output in
            files?.write(output)
            if keepFills, case .fill(let fill, _) = output {
                backtestFills.append(ParityCheck.Trade(time: fill.time, side: fill.side, price: fill.price, qty: fill.qty))
            }
        }
        let progress = ProgressBar(enabled: isatty(2) == 1, files: recordings.count)
        let started = ContinuousClock.now
        var prepared: PreparedRecordingWriter?
        var replayed = false
        if let cache {
            do {
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            } catch {
                throw refuse("--cache \(cache): cannot make the directory: \(error.localizedDescription)", command: "keel backtest")
            }
            // The feed's events depend on the recordings, the exchange and the symbol its snapshot goes to.
            do throws(RecordingError) {
                let identity = try PreparedRecording.identity(files: recordings, kind: "\(exchange.rawValue) \(options.symbol ?? "*")")
                let path = PreparedRecording.path(directory: cache, identity: identity)
                switch try PreparedRecordingReader.replay(path: path, identity: identity, { backtester.ingest(event: $0, stamp: $1) }) {
                case .replayed(let events):
                    replayed = true
                    printError("keel backtest: replayed the prepared recording \(path) (\(events) events)")
                case .unusable(let reason):
                    printError("keel backtest: writing a prepared recording to \(path) (\(reason))")
                    prepared = try PreparedRecordingWriter(path: path, identity: identity)
                }
            } catch {
                throw refuse("--cache \(cache): \(error) (delete the file to have it written again)", command: "keel backtest")
            }
        }
        for (index, file) in recordings.enumerated() where !replayed {
            let end: RecordingEnd
            do {
                end = try RecordingReader.forEachLine(path: file, progress: { progress.update(file: index, read: $0, size: $1) }) { line in
                    backtester.ingest(line: line, each: prepared.map { writer in { writer.append($0, stamp: $1) } })
                }
            } catch {
                progress.finish()
                throw refuse("\(error)", command: "keel backtest")
            }
            if case .truncated(let reason) = end { printError("keel backtest: warning: \(file): \(reason); read every line before the cut") }
        }
        if !replayed, backtester.linesRead > 0, backtester.feedEvents == 0 {
            // Not one line was a market message of this exchange: most likely the other exchange's recording
            // (nothing is cached for it: the prepared form's writer removes its temporary file).
            let other: ExchangeOption = exchange == .bybit ? .binanceUSDM : .bybit
            progress.finish()
            throw refuse("none of the \(backtester.linesRead) lines of \(recordings.joined(separator: ", ")) is a \(exchange.rawValue) market message "
                         + "(book or trade); if it was recorded from \(other.rawValue), run it with --exchange \(other.rawValue)", command: "keel backtest")
        }
        do throws(RecordingError) {
            try prepared?.finish()
        } catch {
            printError("keel backtest: warning: --cache: \(error); the next run reads the recordings again")
        }
        backtester.finish()
        progress.finish()
        let seconds = (ContinuousClock.now - started).inSeconds
        let summary = backtester.summary.json(seconds: seconds)
        if let files {
            files.close()
            let name = files.directory + "/report.html"
            let report = BacktestReport(title: "keel backtest — \(backtester.summary.symbol), \(options.venue.queue.name) queue",
                                        summary: backtester.summary, summaryJSON: summary, curve: backtester.curve.points,
                                        fills: backtester.fills.points)
            try Data(report.html.utf8).write(to: URL(fileURLWithPath: name))
        }
        if backtester.summary.symbol.isEmpty {
            printError("keel backtest: warning: no book of \(options.symbol ?? "any symbol") in the recordings; nothing was traded")
        }
        print(summary)
        if var check {
            check.backtest = backtestFills
            check.backtestOrders = backtester.summary.orders
            check.paperMarkouts = backtester.shadowMarkouts.sinceStart
            check.backtestMarkouts = backtester.summary.markouts
            print(check.json())
        }
        fflushStdout()
    }
}

/// equity.csv and fills.csv, written as the backtest streams.
final class BacktestFiles: @unchecked Sendable {
    let directory: String
    private let equity: FileHandle
    private let fills: FileHandle
    private var equityBuffer = Data()
    private var fillBuffer = Data()

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func open(_ name: String, header: String) throws -> FileHandle {
            let path = directory + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: Data((header + "\n").utf8))
            guard let handle = FileHandle(forWritingAtPath: path) else { throw CocoaError(.fileWriteNoPermission) }
            handle.seekToEndOfFile()
            return handle
        }
        equity = try open("equity.csv", header: EquityPoint.csvHeader)
        fills = try open("fills.csv", header: "time,client_id,side,price,qty,fee,maker,mid")
    }

    func write(_ output: Backtester.Output) {
        switch output {
        case .equity(let point):
            equityBuffer.append(contentsOf: (point.csv + "\n").utf8)
            if equityBuffer.count > 1 << 16 { flush() }
        case .fill(let fill, let mid):
            let line = "\(UTCTime.formatISO8601(fill.time)),\(fill.clientId),\(fill.side.rawValue),\(fill.price),\(fill.qty),\(fill.fee),"
                + "\(fill.isMaker),\(mid.map { "\($0)" } ?? "")\n"
            fillBuffer.append(contentsOf: line.utf8)
            if fillBuffer.count > 1 << 16 { flush() }
        case .intent:
            break
        }
    }

    private func flush() {
        equity.write(equityBuffer)
        fills.write(fillBuffer)
        equityBuffer.removeAll(keepingCapacity: true)
        fillBuffer.removeAll(keepingCapacity: true)
    }

    func close() {
        flush()
        try? equity.close()
        try? fills.close()
    }
}

/// `[#####.....]  45 %  file 1/3` on stderr, redrawn at most five times a second.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let files: Int
    private var last = ContinuousClock.now
    private var drawn = false

    init(enabled: Bool, files: Int) {
        self.enabled = enabled
        self.files = files
    }

    func update(file: Int, read: Int64, size: Int64) {
        guard enabled, ContinuousClock.now - last > .milliseconds(200) else { return }
        last = ContinuousClock.now
        let share = (Double(file) + (size > 0 ? Double(read) / Double(size) : 0)) / Double(max(files, 1))
        let filled = Int((share * 30).rounded())
        let bar = String(repeating: "#", count: min(filled, 30)) + String(repeating: ".", count: max(30 - filled, 0))
        FileHandle.standardError.write(Data("\r[\(bar)] \(Int(share * 100)) %  file \(file + 1)/\(files)".utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
