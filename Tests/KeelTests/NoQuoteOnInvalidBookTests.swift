import Connector
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
    }
}
