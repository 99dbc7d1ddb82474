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
    public var backfill = BackfillConfiguration()
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

/// Bybit's sessions for the process loop: the public stream, and with credentials the account
/// (private stream, trade stream, REST order entry and reconciliation).
struct BybitSessions: ExchangeSessions {
    let options: ConnectorOptions
    let logger: Logger
    let writer: EventWriter
    let session: BybitPublicSession
    let account: AccountSessions?
    /// Public REST (the instrument lookup): the account's client, or one without credentials.
    let market: BybitRestClient?
    var logPrefix: String { "bybit" }

    init(options: ConnectorOptions, logger: Logger, writer: EventWriter) {
        self.options = options
        self.logger = logger
        self.writer = writer
        session = BybitPublicSession(configuration: options.publicSession, logger: logger, emit: writer.write)
        var account: AccountSessions?
        if let credentials = options.credentials {
            do {
                account = try AccountSessions(options: options, credentials: credentials, logger: logger, emit: writer.write)
            } catch {
                writer.write(.error(.init(message: "order entry unavailable: \(error)", code: "order_entry_unavailable")))
                logger.error("bybit_connector_account_failed", metadata: ["reason": "\(error)"])
            }
        } else {
            logger.info("bybit_connector_public_only", metadata: ["reason": "no BYBIT_API_KEY / BYBIT_API_SECRET: public data only"])
        }
        self.account = account
        market = account?.rest ?? (try? BybitRestClient(configuration: options.rest, credentials: nil))
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.run() }
            if let account { group.addTask { await account.run() } }
            await group.waitForAll()
        }
    }

    func stop() async {
        await session.stop()
        await account?.stop()
    }

    func close() async {
        await market?.shutdown()
    }

    func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe: Bool) async {
        await session.change(channel, symbol: symbol, subscribe: subscribe)
    }

    func stats(now: Int64) async -> ConnectorEvent.Stats {
        var stats = await session.stats(now: now)
        if let account {
            for (topic, value) in await account.stream.stats(now: now) { stats.topics[topic] = value }
            stats.reconnects += await account.stream.reconnects + account.trade.reconnects
            stats.malformed += await account.stream.malformed
            stats.rateLimitRemaining = await account.entry.rateLimitRemaining
        }
        return stats
    }

    func submit(_ command: ConnectorCommand) async -> ConnectorEvent? {
        if let account {
            await account.entry.submit(command)
            return nil
        }
        if options.credentials == nil {
            return .error(.init(message: "order entry needs credentials (set BYBIT_API_KEY and BYBIT_API_SECRET, or their _FILE forms)",
                                code: "no_credentials", id: command.id))
        }
        return .error(.init(message: "order entry is unavailable (see the connector's log)", code: "order_entry_unavailable", id: command.id))
    }

    func backfill(_ symbol: String, since: Int64, id: String?) async {
        guard let market else {
            writer.write(.backfill(.init(id: id, symbol: symbol, state: .failed, chunk: 0, chunks: 0, candles: 0, seconds: 0,
                                         reason: "no REST client (see the connector's log)")))
            return
        }
        await KlineBackfill.run(.bybit, transport: market.transport, configuration: options.backfill, logger: logger, symbol: symbol,
                                from: since, to: WallClock.nanoseconds(), id: id, emit: writer.write)
    }

    func instrument(_ symbol: String, id: String?) async -> ConnectorEvent {
        guard let market else {
            return .error(.init(message: "no REST client (see the connector's log)", code: "instrument_failed", id: id))
        }
        return await lookUpInstrument(symbol, id: id, market: market)
    }
}

extension BybitSessions {
    /// `instrument`: the symbol's grid and status over public REST, as one `instrument` event. A failed
    /// request is retried like the reconciliation, else an `error` `instrument_failed`; an answer that
    /// refuses (`instrument_refused`, with the exchange's code) or does not list the symbol
    /// (`instrument_unknown`) is final.
    func lookUpInstrument(_ symbol: String, id: String?, market: BybitRestClient) async -> ConnectorEvent {
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
        return outcome ?? .error(.init(message: "could not read the instrument \(symbol) over REST after \(options.orderEntry.reconcileAttempts) attempts",
                                       code: "instrument_failed", id: id))
    }
}

