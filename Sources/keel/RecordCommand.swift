import ArgumentParser
import Connector
import Foundation
import Logging
import Market
import Runtime
import Storage

/// `keel record`: the exchange's public frames, exactly as received, into hftbacktest-style daily gzip files.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record an exchange's raw public market data: one `<local_ns> <json>` line per frame, gzip, SYMBOL_YYYYMMDD.gz.",
        discussion: """
        Public data only, no credentials. The connector's own public session does the work: pings, \
        reconnects with backoff, resubscribes and resyncs; every frame it receives is written before it is parsed \
        (Binance USD-M: the combined-stream frames and each REST depth snapshot's body, as hftbacktest's collector writes them). \
        Files roll at UTC midnight; each gzip member is finished every --flush-interval seconds, so a kill -9 loses \
        at most that much and `keel book` reads everything before the cut. Stops at --duration, on SIGINT/SIGTERM, \
        or when --max-bytes or the disk's free-space guard is reached (logged). Logs go to stderr; the last line \
        on stdout is one JSON object: frames, dropped, unfiled, raw_bytes, bytes_on_disk, files, seconds, stopped.
        """
    )

    @Option(help: "Exchange to record: bybit or binance-usdm.")
    var exchange: ExchangeOption

    @Option(help: "Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")
    var symbols: String

    @Option(help: "Directory for the SYMBOL_YYYYMMDD.gz files (made when missing).")
    var out: String

    @Option(help: "Orderbook depth topic: 1, 50, 200 or 1000.")
    var depth = "50"

    @Option(help: "Public WebSocket URL, e.g. a keel sim's ws://127.0.0.1:9100/v5/public/linear, or for binance-usdm its base ws://127.0.0.1:9100 (default the exchange's mainnet).")
    var publicURL: String?

    @Option(help: "REST base URL (binance-usdm's depth snapshots; Bybit's book comes over the socket, so unused for bybit).")
    var restURL: String?

    @Option(help: "PEM certificates to trust for wss:// instead of the system's (keel sim --tls's cert).")
    var caFile: String?

    @Flag(help: "Use Bybit's testnet URLs.")
    var testnet = false

    @Option(help: "How long to record, e.g. 90s, 10m, 24h (default: until SIGINT/SIGTERM).")
    var duration: String?

    @Option(help: "Seconds between finished gzip members: the most a kill -9 can lose.")
    var flushInterval = 5.0

    @Option(help: "Stop recording once the files reach this many bytes on disk (0: no cap).")
    var maxBytes: Int64 = 10 << 30

    @Option(help: "Stop recording once the disk has fewer free bytes than this.")
    var minFreeBytes: Int64 = 1 << 30

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        if let duration { guard let seconds = DurationText.seconds(duration), seconds > 0 else {
            throw ValidationError("--duration: \(duration) is not a duration; write e.g. 90s, 10m or 24h")
        } }
        guard flushInterval > 0, flushInterval.isFinite else { throw ValidationError("--flush-interval must be a positive number of seconds, e.g. 5") }
        guard maxBytes >= 0, minFreeBytes >= 0 else { throw ValidationError("--max-bytes and --min-free-bytes must be 0 or more") }
    }

    func run() async throws {
        var flags: [(key: String, value: String)] = [
            ("exchange.symbols", symbols), ("exchange.depth", depth), ("monitoring.log_level", logLevel), ("recording.path", out),
            ("recording.flush_interval", "\(flushInterval)"), ("recording.max_bytes", "\(maxBytes)"), ("recording.min_free_bytes", "\(minFreeBytes)"),
        ]
        let binance = exchange == .binanceUSDM
        if let publicURL { flags.append((binance ? "exchange.binance.public_url" : "exchange.public_url", publicURL)) }
        if let restURL { flags.append((binance ? "exchange.binance.rest_url" : "exchange.rest_url", restURL)) }
        if let caFile { flags.append(("exchange.ca_file", caFile)) }
        if testnet { flags.append(("exchange.testnet", "true")) }
        let settings: ConnectorSettings
        do throws(ConnectorSettings.Invalid) {
            settings = try await ConnectorSettings.load(file: nil, flags: flags)
        } catch {
            throw refuse(error.description, command: "keel record")
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "keel.record")

        let recorder: FrameRecorder
        do throws(RecordingError) {
            recorder = try FrameRecorder(configuration: settings.recorderConfiguration, logger: logger)
        } catch {
            throw refuse("--out: \(error)", command: "keel record")
        }
        let session: any RecordingSession
        let url: String
        if binance {
            var options = settings.binanceOptions()
            options.session.frameTap = { frame, symbol, time in recorder.record(frame, symbol: symbol, receiveTime: time) }
            url = options.session.socket.url
            do {
                session = try BinancePublicSession(configuration: options.session, logger: logger) { _ in }
            } catch {
                throw refuse("--rest-url: \(error)", command: "keel record")
            }
        } else {
            var publicSession = settings.options(credentials: nil).publicSession
            publicSession.frameTap = recorder.bybitFrameTap
            url = publicSession.socket.url
            session = BybitPublicSession(configuration: publicSession, logger: logger) { _ in }
        }
        logger.info("keel_record_started", metadata: ["exchange": "\(exchange.rawValue)", "symbols": "\(settings.symbols.joined(separator: ","))",
                                                      "out": "\(out)", "url": "\(url)"])
        let started = ContinuousClock.now
        let limit = duration.flatMap(DurationText.seconds).map { Duration.milliseconds(Int64($0 * 1_000)) }
        let signals = SignalWaiter([(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.run() }
            group.addTask {
                // The flush timer, the duration, a signal or a stopped recorder end the run.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(200))
                    recorder.flushIfDue(now: WallClock.nanoseconds())
                    if signals.received { logger.info("keel_record_signal", metadata: ["signal": "\(signals.name)"]); break }
                    if let limit, ContinuousClock.now - started >= limit { break }
                    if let stopped = recorder.stats.stopped, stopped != "closed" { break }
                }
                await session.stop()
            }
            await group.waitForAll()
        }
        recorder.close()
        let stats = recorder.stats
        var line = JSONWriter()
        line.beginObject()
        line.field("frames", stats.frames)
        line.field("dropped", stats.dropped)
        line.field("unfiled", stats.unfiled)
        line.field("raw_bytes", Int(stats.rawBytes))
        line.field("bytes_on_disk", Int(stats.bytesOnDisk))
        line.field("files", stats.files)
        line.field("seconds", (ContinuousClock.now - started).inSeconds)
        line.field("stopped", stats.stopped ?? "closed")
        line.endObject()
        print(line.string)
        fflushStdout()
    }
}

/// A public session `keel record` can run and stop: Bybit's or Binance's.
protocol RecordingSession: Sendable {
    func run() async
    func stop() async
}

extension BybitPublicSession: RecordingSession {}
extension BinancePublicSession: RecordingSession {}
