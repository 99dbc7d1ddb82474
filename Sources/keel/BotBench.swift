import ArgumentParser
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime
import Service
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// `keel bench bot`: the bot's tick-to-quote, from the pipe: a book event written to the bot's connector
/// pipe → the order command it causes read from the bot's command pipe.
struct BotBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot",
        abstract: "Measure the bot's tick-to-quote: book event into its connector pipe → order command out of it.",
        discussion: """
        Runs the bot of `keel run` in this process (live venue, the touch quoter: each side at its best price, \
        re-quoted on every move, a decision at most every millisecond) with a peer in the connector's place: `keel bench bot-peer`, \
        a child process like the real connector, that replays FILE's BTCUSDT book and trade events as the connector's \
        NDJSON (restamped to now) at --rate book events a second for --seconds, and answers the bot's commands \
        as an exchange that acknowledges everything and fills nothing. The peer times, on one monotonic clock, \
        each book event from the moment its line is written to the first order command line read after it; \
        events that cause no command are not counted. Prints p50, p99, p99.9 and max in microseconds and, \
        last, a JSON object: book_events, quotes, p50_us, p99_us, p999_us, max_us, and the same run's floor: the \
        peer and its pipes with `cat` in the bot's place (baseline_p50_us, baseline_p99_us, baseline_p999_us: two \
        wake-ups and no work). Use a release build.
        """
    )

    @Option(help: "Exchange of the recording: bybit or binance-usdm.")
    var exchange: ExchangeOption = .binanceUSDM

    @Option(help: "Book events a second.")
    var rate = 1_000

    @Option(help: "Seconds of replay (after a 2 s warm-up).")
    var seconds = 10.0

    @Argument(help: "The recording (.gz or plain).")
    var file: String

    func validate() throws {
        guard (1...20_000).contains(rate) else { throw ValidationError("--rate must be 1–20000") }
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }

    func run() async throws {
        SimChild.warnIfDebug()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-bot-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let config = work + "/bot.yaml"
        let result = work + "/result.json"
        try Data(Self.config.utf8).write(to: URL(fileURLWithPath: config))
        let settings = try await loadBotSettings(config)
        bootstrapLogging(settings.connector.logLevel)
        let logger = Logger(label: "keel.bench.bot")
        let peer = ["bench", "bot-peer", "--exchange", exchange.rawValue, "--rate", String(rate), "--seconds", String(seconds),
                    "--result", result, file]
        // The floor, in the same run: the same peer and pipes with `cat` in the bot's place (two wake-ups, no work).
        let floor = try runBaseline(arguments: peer.map { $0 == result ? work + "/baseline.json" : $0 } + ["--baseline"],
                                    result: work + "/baseline.json")
        let service = BotService(settings: settings, executable: currentExecutable(), connectorArguments: peer, logger: logger)
        let bot = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(seconds + 60)
        while !FileManager.default.fileExists(atPath: result), ContinuousClock.now < deadline, !bot.isCancelled {
            try await Task.sleep(for: .milliseconds(100))
        }
        bot.cancel()
        _ = try? await bot.value
        guard let data = FileManager.default.contents(atPath: result), let line = String(data: data, encoding: .utf8),
              let figures = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw refuse("bench bot: the peer wrote no result (see the log above)", command: "keel bench")
        }
        if let error = figures["error"] as? String { throw refuse("bench bot: \(error)", command: "keel bench") }
        let number = { (key: String) in (figures[key] as? NSNumber)?.doubleValue ?? 0 }
        let base = { (key: String) in (floor[key] as? NSNumber)?.doubleValue ?? 0 }
        print(String(format: "pipes' own round trip (the same peer, `cat` in the bot's place): p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs",
                     base("p50_us"), base("p99_us"), base("p999_us"), base("max_us")))
        print(String(format: "tick-to-quote (book event written to the bot's pipe → order command read from it): %d quotes of %d book events at %d/s: p50 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs",
                     Int(number("quotes")), Int(number("book_events")), rate, number("p50_us"), number("p99_us"), number("p999_us"), number("max_us")))
        var summary = line.trimmingCharacters(in: .whitespacesAndNewlines)
        summary.removeLast()
        summary += String(format: ",\"baseline_p50_us\":%.1f,\"baseline_p99_us\":%.1f,\"baseline_p999_us\":%.1f}", base("p50_us"), base("p99_us"), base("p999_us"))
        print(summary)
    }

    /// The peer with its stdout into `cat` and `cat`'s output back into its stdin; its figures.
    private func runBaseline(arguments: [String], result: String) throws -> [String: Any] {
        let forth = Pipe(), back = Pipe()
        let peer = Process(), echo = Process()
        peer.executableURL = URL(fileURLWithPath: currentExecutable())
        peer.arguments = arguments
        peer.standardOutput = forth
        peer.standardInput = back
        echo.executableURL = URL(fileURLWithPath: "/bin/cat")
        echo.standardInput = forth
        echo.standardOutput = back
        try echo.run()
        try peer.run()
        peer.waitUntilExit()
        echo.terminate()
        echo.waitUntilExit()
        guard let data = FileManager.default.contents(atPath: result),
              let figures = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw refuse("bench bot: the baseline wrote no result", command: "keel bench")
        }
        return figures
    }

    /// The bot: live venue, the touch quoter re-quoting on every move, nothing that would hold a quote back.
    static let config = """
    exchange:
      data_source: bybit_connector
      symbols: [BTCUSDT]
    monitoring:
      http_port: 0
      enable_prometheus: false
      log_level: critical
      stale_threshold: 600
      stale_grace: 600
    limits:
      max_active_per_side: 10
    strategy:
      enabled: true
      paper_trading: false
      model: touch
      touch_offset_ticks: 0
      min_spread_bps: 0
      min_edge_bps: 0
      order_size: 0.001
      tick_size: 0.1
      qty_step: 0.001
      min_qty: 0.001
      refresh_tolerance_ticks: 0
      quote_interval_ms: 1
      orders_per_second: 1000
    risk:
      max_position: 1000
      max_drawdown: none
      max_loss: none
      max_consecutive_losses: 0
    storage:
      backend: none
    context:
      backfill: 0
      require_backfill: false
    """
}

/// `keel bench bot-peer` (started by `keel bench bot` in the connector's place): replays a recording as the
/// connector's events on stdout and answers its commands from stdin; writes the figures to --result.
struct BotBenchPeer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bot-peer", abstract: "keel bench bot's connector stand-in.",
                                                    shouldDisplay: false)

    @Option var exchange: ExchangeOption = .binanceUSDM
    @Option var rate = 1_000
    @Option var seconds = 10.0
    @Option var result: String
    /// Against `cat` instead of the bot: every line read back is the answer (the pipes' own round trip).
    @Flag var baseline = false
    @Argument var file: String

    func run() throws {
        let out = PeerOutput()
        let timing = PeerTiming()
        let warmUp = Int64(2_000_000_000)
        var events: [ConnectorEvent] = []
        do {
            // The feed's events, in order, enough for the whole run (the file is replayed again when it runs out).
            let books = Int((seconds + 2) * Double(rate))
            var count = 0
            _ = try exchange.withFeed { feed in
                try RecordingReader.forEachLine(path: file) { line in
                    guard count < books else { return }
                    let recorded = RecordedLine(line)
                    feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { event in
                        switch event {
                        case .depth(let depth) where depth.update.symbol == "BTCUSDT":
                            let update = depth.cause == .delta ? depth.update : depth.asSnapshot
                            events.append(.depth(.init(update: update, depth: depth.depthLimit)))
                            count += 1
                        case .trade(let trade) where trade.symbol == "BTCUSDT":
                            events.append(.trade(trade))
                        default:
                            break
                        }
                    }
                }
            }
            guard count > 0 else { throw ValidationError("no BTCUSDT book in \(file)") }
        } catch {
            try? Data("{\"error\":\"\(error)\"}\n".utf8).write(to: URL(fileURLWithPath: result))
            return
        }
        // Commands in, on their own thread: answered at once, the first after each book event timed.
        let reader = Thread { [baseline] in
            if baseline { Self.echoes(timing: timing) } else { Self.answer(out: out, timing: timing) }
        }
        reader.start()
        out.write(.status(.init(status: .connected, session: "public")))
        out.write(.status(.init(status: .subscribed, session: "public")))
        out.write(.status(.init(status: .reconciled, session: "private", reason: "0 open orders, 0 positions")))

        let start = monotonicNanoseconds()
        let interval = 1_000_000_000 / Int64(rate)
        let end = start + warmUp + Int64(seconds * 1e9)
        var sent: Int64 = 0
        var index = 0
        while monotonicNanoseconds() < end {
            let event = events[index]
            index = (index + 1) % events.count
            let now = WallClock.nanoseconds()
            switch event {
            case .depth(var depth):
                // Each pass over the events starts with their first book, a snapshot: the book starts again too.
                let due = start + sent * interval
                // Asleep until just before it is due (a peer spinning all along would take a core from the bot), then on
                // time; the short spin keeps the peer's reader and the bot off a cold, idle machine's wake-up path.
                let early = due - monotonicNanoseconds() - 150_000
                if early > 0 { usleep(UInt32(early / 1_000)) }
                while monotonicNanoseconds() < due {}
                depth.update.exchangeTime = now - 1_000_000
                depth.update.receiveTime = WallClock.nanoseconds()
                out.write(.depth(depth))
                timing.bookWritten(at: monotonicNanoseconds(), counted: monotonicNanoseconds() - start >= warmUp)
                sent += 1
            case .trade(var trade):
                trade.exchangeTime = now - 1_000_000
                trade.receiveTime = now
                out.write(.trade(trade))
            default:
                break
            }
        }
        try Data(timing.json().utf8).write(to: URL(fileURLWithPath: result))
        if baseline { Glibc.exit(0) }
        // The bot stops it (stdin closes, or `shutdown`); until then it goes on answering.
        while true { sleep(60) }
    }

    /// The baseline: each line `cat` gives back is the answer to the last book event.
    private static func echoes(timing: PeerTiming) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { Glibc.exit(0) }
            if buffer[0..<count].contains(0x0A) { timing.command(at: monotonicNanoseconds()) }
        }
    }

    /// Reads command lines from stdin and answers each as an exchange that takes every order and fills none.
    private static func answer(out: PeerOutput, timing: PeerTiming) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [UInt8] = []
        var open: [String: OrderUpdate] = [:]
        var orders = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { Glibc.exit(0) }
            let readAt = monotonicNanoseconds()
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let command = try? ConnectorCommand.decode(line) else { continue }
                let now = WallClock.nanoseconds()
                switch command {
                case .place(let id, let order):
                    timing.command(at: readAt)
                    orders += 1
                    let update = OrderUpdate(symbol: order.symbol, orderId: "bench-\(orders)", clientId: order.orderLinkId, side: order.side,
                                             orderType: order.type.rawValue, timeInForce: order.timeInForce.rawValue, price: order.price ?? .zero,
                                             qty: order.qty, filledQty: .zero, averagePrice: nil, state: .new, reduceOnly: order.reduceOnly,
                                             rejectReason: "", cancelType: "", createdTime: now, updatedTime: now)
                    open[order.orderLinkId] = update
                    if let id { out.write(.ack(id: id, command: "place")) }
                    out.write(.order(update))
                case .amend(let id, _, let clientId, let qty, let price):
                    timing.command(at: readAt)
                    guard var update = open[clientId] else { continue }
                    if let qty { update.qty = qty }
                    if let price { update.price = price }
                    update.updatedTime = now
                    open[clientId] = update
                    if let id { out.write(.ack(id: id, command: "amend")) }
                    out.write(.order(update))
                case .cancel(let id, _, let clientId):
                    timing.command(at: readAt)
                    if let id { out.write(.ack(id: id, command: "cancel")) }
                    if var update = open.removeValue(forKey: clientId) {
                        update.state = .cancelled
                        update.updatedTime = now
                        out.write(.order(update))
                    }
                case .cancelAll(let id, _):
                    if let id { out.write(.ack(id: id, command: "cancel_all")) }
                    for (_, var update) in open {
                        update.state = .cancelled
                        update.updatedTime = now
                        out.write(.order(update))
                    }
                    open = [:]
                case .openOrders(let id, let symbol):
                    out.write(.openOrders(id: id, symbol: symbol, count: open.count))
                case .instrument(let id, let symbol):
                    let instrument = Instrument(symbol: symbol, tickSize: Price(mantissa: 1, scale: 1), qtyStep: Quantity(mantissa: 1, scale: 3),
                                                minQty: Quantity(mantissa: 1, scale: 3))
                    out.write(.instrument(id: id, instrument: instrument, status: .trading))
                case .ping(let id):
                    out.write(.pong(id: id))
                case .shutdown(let id):
                    if let id { out.write(.ack(id: id, command: "shutdown")) }
                    Glibc.exit(0)
                case .subscribe, .unsubscribe, .backfill:
                    if let id = command.id { out.write(.ack(id: id, command: command.name)) }
                }
            }
        }
    }
}

/// The peer's stdout: one `write(2)` a line, under a lock (book events and answers come from two threads).
private final class PeerOutput: @unchecked Sendable {
    private let lock = NSLock()

    func write(_ event: ConnectorEvent) {
        var line = event.line
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        line.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(1, bytes.baseAddress! + written, bytes.count - written)
                if result <= 0 { if errno == EINTR { continue }; exit(0) }
                written += result
            }
        }
    }
}

/// Each book event's write time, and the first order command read after it.
private final class PeerTiming: @unchecked Sendable {
    private let lock = NSLock()
    private var lastBook: Int64 = 0
    private var counted = false
    private var answered = true
    private var books = 0
    private var samples: [Int64] = []

    func bookWritten(at time: Int64, counted: Bool) {
        lock.lock()
        defer { lock.unlock() }
        lastBook = time
        self.counted = counted
        answered = false
        if counted { books += 1 }
    }

    func command(at time: Int64) {
        lock.lock()
        defer { lock.unlock() }
        guard !answered else { return }
        answered = true
        if counted { samples.append(time - lastBook) }
    }

    func json() -> String {
        lock.lock()
        defer { lock.unlock() }
        let latencies = LatencyHistogram(samples)
        return String(format: "{\"book_events\":%d,\"quotes\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
                      books, latencies.count, latencies.microseconds(at: 50), latencies.microseconds(at: 99),
                      latencies.microseconds(at: 99.9), latencies.maxMicroseconds)
    }
}

private func monotonicNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}
