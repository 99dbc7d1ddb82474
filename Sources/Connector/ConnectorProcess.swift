import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// Writes event lines to stdout in order, one `write(2)` per line (nothing buffered behind a crash).
public final class EventWriter: @unchecked Sendable {
    private let lock = NSLock()
    private let descriptor: Int32

    public init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
    }

    private var finished = false

    public func write(_ event: ConnectorEvent) {
        var line = event.line
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        line.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result <= 0 { return }
                written += result
            }
        }
    }

    /// Writes `event` (if any) as the last line: nothing written after it reaches stdout, so a
    /// `shutdown` ack is always the bot's final event.
    func finish(with event: ConnectorEvent?) {
        if let event { write(event) }
        lock.lock()
        finished = true
        lock.unlock()
    }
}

/// What the process loop needs of one exchange's sessions (`Bybit/`, `Binance/`).
protocol ExchangeSessions: Sendable {
    /// The prefix of its log events: `bybit`, `binance`.
    var logPrefix: String { get }
    /// Runs the sessions until `stop()`.
    func run() async
    func stop() async
    /// Closes what outlives the sessions (the REST client).
    func close() async
    func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe: Bool) async
    func stats(now: Int64) async -> ConnectorEvent.Stats
    /// The `instrument` command's answer: an `instrument` event or an `error`.
    func instrument(_ symbol: String, id: String?) async -> ConnectorEvent
    /// `backfill`: the closed 1m candles of `symbol` from `since` (ns) to the minute now open, as
    /// `candles` and `backfill` events.
    func backfill(_ symbol: String, since: Int64, id: String?) async
    /// An order command (`place`, `amend`, `cancel`, `cancel_all`, `open_orders`); an `error` to write when it cannot be taken.
    func submit(_ command: ConnectorCommand) async -> ConnectorEvent?
}

/// `keel connector <exchange>`: the process loop. Events out on stdout, commands in on stdin, JSON
/// logs on stderr; `shutdown` or the end of stdin closes the sessions and returns (exit 0).
public struct ConnectorProcess: Sendable {
    let sessions: any ExchangeSessions
    let statsInterval: Duration
    let recordingStats: (@Sendable () -> (frames: Int, bytes: Int64))?
    let writer: EventWriter
    let logger: Logger

    /// Bybit V5: public data, and with credentials the account streams and order entry.
    public init(options: ConnectorOptions, logger: Logger) {
        let writer = EventWriter()
        self.writer = writer
        sessions = BybitSessions(options: options, logger: logger, writer: writer)
        statsInterval = options.statsInterval
        recordingStats = options.recordingStats
        self.logger = logger
    }

    /// Binance USD-M: public market data (order entry is not offered).
    public init(binance options: BinanceConnectorOptions, logger: Logger) throws {
        let writer = EventWriter()
        self.writer = writer
        sessions = try BinanceSessions(options: options, logger: logger, writer: writer)
        statsInterval = options.statsInterval
        recordingStats = options.recordingStats
        self.logger = logger
    }

    public func run() async {
        let sessions = sessions
        let writer = writer
        let lines = StandardInput.lines()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await sessions.run() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: statsInterval)
                    if Task.isCancelled { return }
                    var stats = await sessions.stats(now: WallClock.nanoseconds())
                    if let recording = recordingStats?() {
                        stats.recordedFrames = recording.frames
                        stats.recordedBytes = recording.bytes
                    }
                    writer.write(.stats(stats))
                }
            }
            group.addTask {
                var shutdown: ConnectorCommand?
                for await line in lines {
                    shutdown = await handle(line)
                    if shutdown != nil { break }
                }
                // `shutdown`, or stdin closed: the bot is gone or wants us gone. Stop first, then the
                // ack is the last line written.
                await sessions.stop()
                writer.finish(with: shutdown?.id.map { ConnectorEvent.ack(id: $0, command: "shutdown") })
            }
            // The stdin task ends the process: the sessions return after `stop`, then the stats task is cancelled.
            await group.next()
            await group.next()
            group.cancelAll()
        }
        await sessions.close()
        logger.info("\(sessions.logPrefix)_connector_stopped")
    }

    /// Handles one command line; returns the `shutdown` command when it was one.
    func handle(_ line: [UInt8]) async -> ConnectorCommand? {
        let command: ConnectorCommand
        do throws(ConnectorCommand.DecodeError) {
            command = try ConnectorCommand.decode(line)
        } catch {
            writer.write(.error(.init(message: error.message, code: "bad_command", id: error.id)))
            logger.warning("\(sessions.logPrefix)_connector_bad_command", metadata: ["reason": "\(error.message)"])
            return nil
        }
        switch command {
        case .subscribe(let channel, let symbol, let id), .unsubscribe(let channel, let symbol, let id):
            if case .subscribe = command { await sessions.change(channel, symbol: symbol, subscribe: true) } else {
                await sessions.change(channel, symbol: symbol, subscribe: false)
            }
            if let id { writer.write(.ack(id: id, command: command.name)) }
        case .ping(let id):
            writer.write(.pong(id: id))
        case .instrument(let id, let symbol):
            // Off the command loop: the lookup may retry for seconds.
            let sessions = sessions
            let writer = writer
            Task { writer.write(await sessions.instrument(symbol, id: id)) }
        case .backfill(let id, let symbol, let since):
            // Off the command loop: a backfill takes seconds to minutes.
            let sessions = sessions
            Task { await sessions.backfill(symbol, since: since * 1_000_000, id: id) }
        case .shutdown:
            return command
        case .place, .amend, .cancel, .cancelAll, .openOrders:
            if let refusal = await sessions.submit(command) { writer.write(refusal) }
        }
        return nil
    }
}

/// Lines of stdin, read on their own thread (a blocking read must not hold a concurrency thread).
enum StandardInput {
    static func lines() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let thread = Thread {
            var lines = LineBuffer()
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            let yield = { (line: UnsafeRawBufferPointer) in _ = continuation.yield(Array(line)) }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                buffer.withUnsafeBytes { lines.append(UnsafeRawBufferPointer(rebasing: $0[..<count]), yield) }
            }
            lines.finish(yield)
            continuation.finish()
        }
        thread.start()
        return stream
    }
}
