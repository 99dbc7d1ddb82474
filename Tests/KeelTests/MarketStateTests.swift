import Connector
import ConnectorWire
import Market
@testable import Service
import Testing

/// The bot's books: trusted only from a snapshot on, until a restart or a dropped depth event.
struct MarketStateTests {
    private func depth(_ kind: DepthUpdate.Kind, _ u: Int64, bid: String) throws -> ConnectorEvent {
        .depth(.init(update: DepthUpdate(symbol: "BTCUSDT", kind: kind, bids: [PriceLevel(price: try FixedDecimal(parsing: bid), qty: FixedDecimal(1))],
                                         asks: [PriceLevel(price: FixedDecimal(60_000), qty: FixedDecimal(1))], lastUpdateId: u), depth: 50))
    }

    @Test func aDroppedDepthOrARestartInvalidatesUntilTheNextSnapshot() async throws {
        let state = MarketState()
        await state.apply(try depth(.snapshot, 1, bid: "59999"), now: 0)
        await state.apply(try depth(.delta, 2, bid: "59998"), now: 0)
        #expect(await state.summary()["BTCUSDT"] == .init(valid: true, bids: 2, asks: 1, lastUpdateId: 2,
                                                                bestBid: FixedDecimal(59_999), bestAsk: FixedDecimal(60_000)))

        await state.apply(.status(.init(status: .depthDropped, session: "supervisor", topic: "BTCUSDT")), now: 0)
        await state.apply(try depth(.delta, 4, bid: "59997"), now: 0)   // after a gap: not applied
        #expect(await state.summary()["BTCUSDT"]?.valid == false)
        #expect(await state.summary()["BTCUSDT"]?.bids == 2)

        await state.apply(try depth(.snapshot, 5, bid: "59990"), now: 0)
        #expect(await state.summary()["BTCUSDT"] == .init(valid: true, bids: 1, asks: 1, lastUpdateId: 5,
                                                                bestBid: FixedDecimal(59_990), bestAsk: FixedDecimal(60_000)))

        await state.apply(.status(.init(status: .connectorStarted, session: "supervisor", reason: "restart 1")), now: 0)
        #expect(await state.summary()["BTCUSDT"]?.valid == false)
    }

    /// The dashboard's tape (the last 30 trades) and incidents: reconnects, resyncs, and the resyncs that mended a gap.
    @Test func theTapeAndTheIncidents() async throws {
        let state = MarketState()
        for id in 0..<40 {
            await state.apply(.trade(TradeTick(symbol: "BTCUSDT", price: FixedDecimal(60_000), qty: FixedDecimal(1), aggressor: .buy,
                                               tradeId: "\(id)", exchangeTime: Int64(id), receiveTime: Int64(id))), now: 0)
        }
        let tape = await state.trades("BTCUSDT")
        #expect(tape.count == MarketState.tapeLength && tape.first?.tradeId == "10" && tape.last?.tradeId == "39")
        await state.apply(.status(.init(status: .reconnecting, session: "public")), now: 0)
        await state.apply(.status(.init(status: .resynced, session: "public", reason: "gap: 7 after 5", topic: "orderbook.50.BTCUSDT")), now: 0)
        await state.apply(.status(.init(status: .resynced, session: "public", reason: "exchange restart (u == 1)", topic: "orderbook.50.BTCUSDT")), now: 0)
        let incidents = await state.incidents()
        #expect(incidents.reconnects == 1 && incidents.resyncs == 2 && incidents.gaps == 1)
    }
}
