import Binance
import ConnectorWire
import Foundation
import Logging
import Market
import Runtime

/// Where `keel connector binance-usdm` connects, and how chatty it is.
public struct BinanceConnectorOptions: Sendable {
    public var session: BinanceSessionConfiguration
    public var statsInterval: Duration = .seconds(5)
    /// Attempts and first wait of the `instrument` lookup's retries.
    public var lookupAttempts = 6
    public var lookupBackoff: Duration = .milliseconds(500)
    public var backfill = BackfillConfiguration()
    /// The frame recorder's counts (frames, bytes on disk) for the `stats` event, when recording.
    public var recordingStats: (@Sendable () -> (frames: Int, bytes: Int64))?

    public init(session: BinanceSessionConfiguration) {
        self.session = session
    }
}

/// Binance USD-M's sessions for the process loop: public market data only. Order entry on Binance is
/// not offered: the bot trades paper with Binance data, and an order command gets an `error`.
struct BinanceSessions: ExchangeSessions {
    let options: BinanceConnectorOptions
    let logger: Logger
    let session: BinancePublicSession
    let writer: EventWriter
    var logPrefix: String { "binance" }

    init(options: BinanceConnectorOptions, logger: Logger, writer: EventWriter) throws {
        self.options = options
        self.logger = logger
        self.writer = writer
        session = try BinancePublicSession(configuration: options.session, logger: logger, emit: writer.write)
        logger.info("binance_connector_public_only", metadata: ["reason": "order entry on Binance USD-M is not offered: the bot trades paper with Binance data"])
    }

    func run() async { await session.run() }
    func stop() async { await session.stop() }
    func close() async {}

    func change(_ channel: ConnectorCommand.Channel, symbol: String, subscribe: Bool) async {
        await session.change(channel, symbol: symbol, subscribe: subscribe)
    }

    func stats(now: Int64) async -> ConnectorEvent.Stats {
        await session.stats(now: now)
    }

    func submit(_ command: ConnectorCommand) async -> ConnectorEvent? {
        .error(.init(message: "order entry on binance-usdm is not offered (market data only): trade paper with Binance data",
                     code: "order_entry_unsupported", id: command.id))
    }

    func backfill(_ symbol: String, since: Int64, id: String?) async {
        await KlineBackfill.run(.binanceUSDM, transport: session.rest, configuration: options.backfill, logger: logger, symbol: symbol,
                                from: since, to: WallClock.nanoseconds(), id: id, emit: writer.write)
    }

    /// `instrument` from `/fapi/v1/exchangeInfo`: tick from `PRICE_FILTER`, step and limits from
    /// `LOT_SIZE`, minimum notional from `MIN_NOTIONAL`, and the status. A failed request is retried;
    /// a symbol the exchange does not list is `instrument_unknown`.
    func instrument(_ symbol: String, id: String?) async -> ConnectorEvent {
        var outcome: ConnectorEvent?
        _ = await RestTransport.withRetries(attempts: options.lookupAttempts, backoff: options.lookupBackoff, event: "binance_instrument",
                                            logger: logger, {
            let info = try await session.exchangeInfo()
            do throws(BinanceExchangeInfo.Failure) {
                if let found = try info.instrument(symbol) {
                    outcome = .instrument(id: id, instrument: found.instrument, status: found.status)
                    logger.info("binance_instrument", metadata: ["symbol": "\(symbol)", "status": "\(found.status)", "tick_size": "\(found.instrument.tickSize)",
                                                                 "qty_step": "\(found.instrument.qtyStep)", "min_qty": "\(found.instrument.minQty)"])
                } else {
                    outcome = .error(.init(message: "the exchange does not list \(symbol) (USD-M futures)", code: "instrument_unknown", id: id))
                }
            } catch {
                outcome = .error(.init(message: error.description, code: "instrument_refused", id: id))
            }
            return nil as String?
        }, describe: { ["reason": "\($0)"] })
        return outcome ?? .error(.init(message: "could not read the instrument \(symbol) over REST after \(options.lookupAttempts) attempts",
                                       code: "instrument_failed", id: id))
    }
}
