import Connector
import ConnectorWire
import Foundation
import Logging
import Market
@testable import Service
import Testing

/// The rule behind "no quote while the book is invalid", on the strategy itself: the stub market's
/// events go in with the book marked invalid (a gap, a restart, a dropped depth event) and not one
/// order comes out; marked valid again, quoting resumes.
struct NoQuoteOnInvalidBookTests {
    @Test func anInvalidBookStopsEveryNewOrderAndAValidOneResumesQuoting() async throws {
        var settings = TradingSettings()
        settings.paperTrading = true
        settings.quoteIntervalMilliseconds = 0
        let maker = MarketMaker(settings: settings, symbol: "BTCUSDT", staleAfterSeconds: 60, logger: Logger(label: "test"), metrics: BotMetrics()) { _ in true }
        let state = MarketState()
        var market = StubMarket(configuration: StubMarket.Configuration(symbols: ["BTCUSDT"]))
        var time: Int64 = 1_700_000_000_000_000_000
        for snapshot in market.snapshots(at: time) {
            let event = ConnectorEvent.depth(.init(update: snapshot, depth: nil))
            await state.apply(event, now: time)
        }
        func feed(valid: Bool, steps: Int) async {
            for _ in 0..<steps {
                time += 100_000_000
                let step = market.step(at: time)
                for update in step.depth {
                    let event = ConnectorEvent.depth(.init(update: update, depth: nil))
                    await state.apply(event, now: time)
                    let book = await state.book("BTCUSDT")
                    await maker.handle(event, book: book.map { ($0.book, valid) }, now: time)
                }
            }
        }
        // 200 book events, every one with the book invalid: nothing sent.
        await feed(valid: false, steps: 100)
        let whileInvalid = await maker.sentOrders
        #expect(whileInvalid == 0, "\(whileInvalid) orders sent on an invalid book")
        // Valid again: quotes go out.
        await feed(valid: true, steps: 20)
        let afterwards = await maker.sentOrders
        #expect(afterwards > 0)
        // Invalid once more: the count stands still.
        await feed(valid: false, steps: 50)
        let again = await maker.sentOrders
        #expect(again == afterwards)
        // Valid, quoting; then halted: every part of the status says the same thing.
        await feed(valid: true, steps: 20)
        func status() async throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: await maker.statusJSON()) as? [String: Any] ?? [:]
        }
        let quoting = try await status()
        #expect(quoting["quoting"] as? Bool == true && quoting["trading_allowed"] as? Bool == true)
        func quotes(_ status: [String: Any], _ side: String) -> Int { ((status["quotes"] as? [String: Any])?[side] as? [Any])?.count ?? -1 }
        #expect(quotes(quoting, "bids") > 0 && quotes(quoting, "asks") > 0)
        await maker.halt(reason: "test: halt", now: time)
        await feed(valid: true, steps: 5)
        let halted = try await status()
        #expect((halted["risk"] as? [String: Any])?["state"] as? String == "HALTED")
        #expect(halted["quoting"] as? Bool == false && halted["trading_allowed"] as? Bool == false)
        #expect(quotes(halted, "bids") == 0 && quotes(halted, "asks") == 0)
        #expect((halted["live_orders"] as? [Any])?.isEmpty == true)
    }
}

/// The exchange's instrument, on the strategy itself: nothing is quoted until the exchange has confirmed
/// the grid; unanswered, it is asked again; a symbol not `Trading` keeps quoting off; the exchange's
/// grid (here a 0.5 tick over the configured 0.1) is the one every order is on.
struct InstrumentBeforeQuotingTests {
    final class Sent: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var commands: [ConnectorCommand] { lock.withLock { lines.compactMap { try? ConnectorCommand.decode(Array($0.utf8)) } } }
    }

    @Test func quotingWaitsForTheExchangesGridAndUsesIt() async throws {
        var settings = TradingSettings()
        settings.paperTrading = true
        settings.quoteIntervalMilliseconds = 0
        // No REST backfill here: its gate has its own test (BackfillRunTests).
        settings.backfill = 0
        let sent = Sent()
        let maker = MarketMaker(settings: settings, symbol: "BTCUSDT", staleAfterSeconds: 60, logger: Logger(label: "test"), metrics: BotMetrics(),
                                askExchangeForInstrument: true) { line in sent.add(line); return true }
        let state = MarketState()
        var market = StubMarket(configuration: StubMarket.Configuration(symbols: ["BTCUSDT"]))
        var time: Int64 = 1_700_000_000_000_000_000
        func asks() -> Int { sent.commands.filter { if case .instrument(_, "BTCUSDT") = $0 { true } else { false } }.count }
        await maker.handle(.status(.init(status: .connectorStarted, session: "supervisor")), book: nil, now: time)
        #expect(asks() == 1)
        for snapshot in market.snapshots(at: time) { await state.apply(.depth(.init(update: snapshot, depth: nil)), now: time) }
        func feed(steps: Int) async {
            for _ in 0..<steps {
                time += 100_000_000
                for update in market.step(at: time).depth {
                    let event = ConnectorEvent.depth(.init(update: update, depth: nil))
                    await state.apply(event, now: time)
                    await maker.handle(event, book: await state.book("BTCUSDT"), now: time)
                }
                await maker.tick(now: time)
            }
        }
        // 20 s of a valid book, no answer: nothing sent, asked again after 15 s.
        await feed(steps: 200)
        #expect(await maker.sentOrders == 0)
        #expect(asks() == 2)
        #expect(await maker.tradingAllowed().reason.contains("waiting for the exchange's instrument"))
        // Not trading on the exchange: still nothing.
        let exchange = Instrument(symbol: "BTCUSDT", tickSize: try FixedDecimal(parsing: "0.5"), qtyStep: try FixedDecimal(parsing: "0.001"),
                                  minQty: try FixedDecimal(parsing: "0.001"))
        await maker.handle(.instrument(id: nil, instrument: exchange, status: .settling), book: nil, now: time)
        await feed(steps: 20)
        #expect(await maker.sentOrders == 0)
        #expect(await maker.tradingAllowed().reason.contains("Settling"))
        // Trading: quotes go out, every one on the exchange's 0.5 tick.
        await maker.handle(.instrument(id: nil, instrument: exchange, status: .trading), book: nil, now: time)
        await feed(steps: 20)
        #expect(await maker.sentOrders > 0)
        // Paper: the orders are in the bot's paper book, not sent; their prices are in the status.
        let status = try JSONSerialization.jsonObject(with: await maker.statusJSON()) as? [String: Any] ?? [:]
        let live = status["live_orders"] as? [[String: Any]] ?? []
        let prices = live.compactMap { FixedDecimal($0["price"] as? String ?? "") }
        #expect(!prices.isEmpty && prices.allSatisfy { exchange.isOnTick($0) }, "\(prices)")
        #expect(prices.contains { !Instrument(symbol: "BTCUSDT", tickSize: try! FixedDecimal(parsing: "1"), qtyStep: exchange.qtyStep,
                                              minQty: exchange.minQty).isOnTick($0) }, "some price should sit on a half, not only whole numbers: \(prices)")
        // A later answer saying the symbol stopped trading stops quoting and clears the book of our orders.
        await maker.handle(.instrument(id: nil, instrument: exchange, status: .settling), book: nil, now: time)
        await feed(steps: 20)
        #expect(await maker.tradingAllowed().allowed == false)
        #expect(await maker.liveOrders == 0)
    }
}
