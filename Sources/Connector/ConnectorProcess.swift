import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// Where the connector's sessions live, and how chatty it is.
public struct ConnectorOptions: Sendable {
    public var publicSession: PublicSessionConfiguration
    /// The private stream (`order`, `execution`, `position`, `wallet`); used with credentials.
    public var privateSocket: SocketConfiguration
    /// The order-entry stream; used with credentials.
    public var tradeSocket: SocketConfiguration
    public var rest: RestConfiguration
    public var orderEntry = OrderEntryConfiguration()
    public var credentials: Credentials?
    public var statsInterval: Duration = .seconds(5)
    /// The frame recorder's counts (frames, bytes on disk) for the `stats` event, when recording.
    public var recordingStats: (@Sendable () -> (frames: Int, bytes: Int64))?

    public init(publicSession: PublicSessionConfiguration, privateSocket: SocketConfiguration, tradeSocket: SocketConfiguration,
                rest: RestConfiguration, credentials: Credentials?) {
        self.publicSession = publicSession
        self.privateSocket = privateSocket
        self.tradeSocket = tradeSocket
        self.rest = rest
        self.credentials = credentials
    }
}

/// The sessions that need credentials: private stream, trade stream, REST and the order entry over them.
struct AccountSessions: Sendable {
    let rest: BybitRestClient
    let trade: BybitTradeSession
    let entry: OrderEntry
    let stream: BybitPrivateSession

    init(options: ConnectorOptions, credentials: Credentials, logger: Logger, emit: @escaping @Sendable (ConnectorEvent) -> Void) throws {
        rest = try BybitRestClient(configuration: options.rest, credentials: credentials)
        trade = BybitTradeSession(configuration: options.tradeSocket, credentials: credentials, logger: logger, emit: emit)
        let entry = OrderEntry(configuration: options.orderEntry, rest: rest, trade: trade, logger: logger, emit: emit)
        self.entry = entry
        stream = BybitPrivateSession(configuration: options.privateSocket, credentials: credentials, logger: logger,
                                     disconnectCancel: options.orderEntry.dcpWindow != nil, emit: emit) {
            await entry.armDisconnectCancel()
            await entry.reconcileAccount()
        }
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await rest.keepWarm() }
            group.addTask { await trade.run() }
            group.addTask { await stream.run() }
            // The sessions return on `stop()`; then the warm-keeping ends too.
            await group.next()
            await group.next()
            group.cancelAll()
        }
    }

    func stop() async {
        await trade.stop()
        await stream.stop()
    }
}

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

/// `keel connector bybit`: the process loop. Events out on stdout, commands in on stdin, JSON logs on
/// stderr; `shutdown` or the end of stdin closes the sessions and returns (exit 0).
public struct ConnectorProcess: Sendable {
    public let options: ConnectorOptions
    let logger: Logger

    public init(options: ConnectorOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async {
        let writer = EventWriter()
        let session = BybitPublicSession(configuration: options.publicSession, logger: logger, emit: writer.write)
        let account: AccountSessions?
        if let credentials = options.credentials {
            do {
                account = try AccountSessions(options: options, credentials: credentials, logger: logger, emit: writer.write)
            } catch {
                account = nil
                writer.write(.error(.init(message: "order entry unavailable: \(error)", code: "order_entry_unavailable")))
                logger.error("bybit_connector_account_failed", metadata: ["reason": "\(error)"])
            }
        } else {
            account = nil
            logger.info("bybit_connector_public_only", metadata: ["reason": "no BYBIT_API_KEY / BYBIT_API_SECRET: public data only"])
        }
        // Public REST (the instrument lookup): the account's client, or one without credentials.
        let market = account?.rest ?? (try? BybitRestClient(configuration: options.rest, credentials: nil))
        let lines = StandardInput.lines()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.run() }
            if let account { group.addTask { await account.run() } }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: options.statsInterval)
                    if Task.isCancelled { return }
                    writer.write(.stats(await stats(session, account)))
                }
            }
            group.addTask {
                var shutdown: ConnectorCommand?
                for await line in lines {
                    shutdown = await handle(line, session: session, account: account, market: market, writer: writer)
                    if shutdown != nil { break }
                }
                // `shutdown`, or stdin closed: the bot is gone or wants us gone. Stop first, then the
                // ack is the last line written.
                await session.stop()
                await account?.stop()
                writer.finish(with: shutdown?.id.map { ConnectorEvent.ack(id: $0, command: "shutdown") })
            }
            // The stdin task ends the process: the sessions return after `stop`, then the stats task is cancelled.
            for _ in 0..<(account == nil ? 2 : 3) { await group.next() }
            group.cancelAll()
        }
        await market?.shutdown()
        logger.info("bybit_connector_stopped")
    }

    func stats(_ session: BybitPublicSession, _ account: AccountSessions?) async -> ConnectorEvent.Stats {
        let now = WallClock.nanoseconds()
        var stats = await session.stats(now: now)
        if let account {
            for (topic, value) in await account.stream.stats(now: now) { stats.topics[topic] = value }
            stats.reconnects += await account.stream.reconnects + account.trade.reconnects
            stats.malformed += await account.stream.malformed
            stats.rateLimitRemaining = await account.entry.rateLimitRemaining
        }
        if let recording = options.recordingStats?() {
            stats.recordedFrames = recording.frames
            stats.recordedBytes = recording.bytes
        }
        return stats
    }

    /// Handles one command line; returns the `shutdown` command when it was one.
    func handle(_ line: [UInt8], session: BybitPublicSession, account: AccountSessions?, market: BybitRestClient?,
                writer: EventWriter) async -> ConnectorCommand? {
        let command: ConnectorCommand
        do throws(ConnectorCommand.DecodeError) {
            command = try ConnectorCommand.decode(line)
        } catch {
            writer.write(.error(.init(message: error.message, code: "bad_command", id: error.id)))
            logger.warning("bybit_connector_bad_command", metadata: ["reason": "\(error.message)"])
            return nil
        }
        switch command {
        case .subscribe(let channel, let symbol, let id), .unsubscribe(let channel, let symbol, let id):
            if case .subscribe = command { await session.change(channel, symbol: symbol, subscribe: true) } else {
                await session.change(channel, symbol: symbol, subscribe: false)
            }
            if let id { writer.write(.ack(id: id, command: command.name)) }
        case .ping(let id):
            writer.write(.pong(id: id))
        case .instrument(let id, let symbol):
            guard let market else {
                writer.write(.error(.init(message: "no REST client (see the connector's log)", code: "instrument_failed", id: id)))
                return nil
            }
            // Off the command loop: the lookup may retry for seconds.
            Task { await lookUpInstrument(symbol, id: id, market: market, writer: writer) }
        case .shutdown:
            return command
        case .place, .amend, .cancel, .cancelAll, .openOrders:
            if let account {
                await account.entry.submit(command)
            } else if options.credentials == nil {
                writer.write(.error(.init(message: "order entry needs credentials (set BYBIT_API_KEY and BYBIT_API_SECRET, or their _FILE forms)",
                                          code: "no_credentials", id: command.id)))
            } else {
                writer.write(.error(.init(message: "order entry is unavailable (see the connector's log)", code: "order_entry_unavailable", id: command.id)))
            }
        }
        return nil
    }
}

extension ConnectorProcess {
    /// `instrument`: the symbol's grid and status over public REST, as one `instrument` event. A failed
    /// request is retried like the reconciliation, else an `error` `instrument_failed`; an answer that
    /// refuses (`instrument_refused`, with the exchange's code) or does not list the symbol
    /// (`instrument_unknown`) is final.
    func lookUpInstrument(_ symbol: String, id: String?, market: BybitRestClient, writer: EventWriter) async {
        var outcome: ConnectorEvent?
        _ = await BybitRestClient.withRetries(attempts: options.orderEntry.reconcileAttempts, backoff: options.orderEntry.reconcileBackoff,
                                              event: "bybit_instrument", logger: logger) {
            let (answer, found) = try await market.instrument(symbol)
            if !answer.success {
                outcome = .error(.init(message: "Bybit refused instruments-info for \(symbol): \(answer.retMessage)", code: "instrument_refused",
                                       id: id, exchangeCode: answer.retCode))
            } else if let found {
                outcome = .instrument(id: id, instrument: found.instrument, status: found.status)
                logger.info("bybit_instrument", metadata: ["symbol": "\(symbol)", "status": "\(found.status)", "tick_size": "\(found.instrument.tickSize)",
                                                           "qty_step": "\(found.instrument.qtyStep)", "min_qty": "\(found.instrument.minQty)"])
            } else {
                outcome = .error(.init(message: "the exchange does not list \(symbol) (linear)", code: "instrument_unknown", id: id))
            }
            return nil
        }
        writer.write(outcome ?? .error(.init(message: "could not read the instrument \(symbol) over REST after \(options.orderEntry.reconcileAttempts) attempts",
                                             code: "instrument_failed", id: id)))
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
