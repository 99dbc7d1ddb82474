import Execution
import Market
import Testing
import TestSupport

/// The simulated venue's queue and latency models on hand-built sequences.
struct VenueModelTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func book(bidQty: String) -> OrderBook {
        var book = OrderBook()
        try! book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: d("100.0"), qty: d(bidQty))],
                                    asks: [PriceLevel(price: d("100.1"), qty: d("3"))]))
        return book
    }

    private func sell(_ qty: String, at price: String = "100.0", time: Int64) -> TradeTick {
        TradeTick(symbol: "X", price: d(price), qty: d(qty), aggressor: .sell, tradeId: "\(time)", exchangeTime: time, receiveTime: time)
    }

    private func fills(_ events: [VenueEvent]) -> [Fill] {
        events.compactMap { if case .fill(let fill) = $0 { fill } else { nil } }
    }

    private func venue(_ queue: QueueModel, latency: Int64 = 0, partial: Bool = true) -> PaperExchange {
        var configuration = PaperExchange.Configuration()
        configuration.latency = latency
        configuration.queue = queue
        configuration.partialFills = partial
        return PaperExchange(configuration: configuration)
    }

    private func buy(_ qty: String) -> PlaceRequest {
        PlaceRequest(symbol: "X", side: .buy, type: .limit, qty: d(qty), price: d("100.0"), timeInForce: .postOnly, orderLinkId: "a")
    }

    @Test func anOrderBehindFiveLotsFillsOnTradesOfThreeThenTwoThenOne() {
        for queue in [QueueModel.riskAverse, .probabilistic(.power(2)), .probabilistic(.log)] {
            var paper = venue(queue)
            _ = paper.onBook(book(bidQty: "5"), symbol: "X", time: 0)
            paper.place(buy("1"), time: 0)
            _ = paper.advance(to: 1)
            #expect(paper.queueAhead("a") == d("5"))
            #expect(fills(paper.onTrade(sell("3", time: 2))).isEmpty)
            #expect(paper.queueAhead("a") == d("2"))
            // The level shows what is left after the trade: no cancel, the queue stays where the trades left it.
            _ = paper.onBook(book(bidQty: "3"), symbol: "X", time: 3)
            #expect(paper.queueAhead("a") == d("2"), "\(queue)")
            #expect(fills(paper.onTrade(sell("2", time: 4))).isEmpty)
            #expect(paper.queueAhead("a") == .zero)
            let filled = fills(paper.onTrade(sell("1", time: 5)))
            #expect(filled.count == 1 && filled.first?.qty == d("1") && filled.first?.isMaker == true, "\(queue)")
        }
    }

    /// 10 lots ahead, 30 behind (the recorded level does not hold our own order); 8 lots cancelled, no
    /// trade: how much of it was ahead of us.
    @Test func aLevelShrinkingByCancelsUnderEachModel() {
        let cases: [(QueueModel, String)] = [(.riskAverse, "10"), (.probabilistic(.power(1)), "8"),
                                             (.probabilistic(.power(2)), "9.2"), (.probabilistic(.log), "6.711")]
        for (queue, expected) in cases {
            var paper = venue(queue)
            _ = paper.onBook(book(bidQty: "10"), symbol: "X", time: 0)
            paper.place(buy("1"), time: 0)
            _ = paper.onBook(book(bidQty: "10"), symbol: "X", time: 1)
            _ = paper.onBook(book(bidQty: "40"), symbol: "X", time: 2)   // 30 joined behind us
            _ = paper.onBook(book(bidQty: "32"), symbol: "X", time: 3)
            let ahead = paper.queueAhead("a")!
            #expect(ahead >= d(expected) - d("0.001") && ahead <= d(expected) + d("0.001"), "\(queue): \(ahead)")
        }
    }

    @Test func withoutPartialFillsTheWholeOrderFillsOnceTheQueueIsThrough() {
        var paper = venue(.riskAverse, partial: false)
        _ = paper.onBook(book(bidQty: "1"), symbol: "X", time: 0)
        paper.place(buy("2"), time: 0)
        _ = paper.advance(to: 1)
        let filled = fills(paper.onTrade(sell("1.5", time: 2)))
        #expect(filled.map(\.qty) == [d("2")])
    }

    @Test func anOrderCannotFillOnAnEventBeforeItsArrival() {
        var paper = venue(.riskAverse, latency: 100)
        _ = paper.onBook(book(bidQty: "1"), symbol: "X", time: 0)
        paper.place(buy("1"), time: 10)
        // A trade through the price before the order is there: nothing.
        #expect(fills(paper.onTrade(sell("5", at: "99.9", time: 109))).isEmpty)
        #expect(paper.openOrders.isEmpty)
        let filled = fills(paper.onTrade(sell("5", at: "99.9", time: 110)))
        #expect(filled.count == 1 && filled[0].time == 110)
    }

    @Test func measuredLatencyIsInterpolatedAndHeldAtTheEnds() {
        let latency = OrderLatency(measured: [(time: 2_000, latency: 30), (time: 1_000, latency: 10)], fallback: 99)
        #expect(latency.at(0) == 10 && latency.at(1_500) == 20 && latency.at(9_000) == 30)
        #expect(OrderLatency(measured: [], fallback: 99).at(5) == 99)
    }

    @Test func aPlainLimitOrderThatCrossesTakesAndPaysTheTakerFee() {
        var paper = venue(.riskAverse)
        _ = paper.onBook(book(bidQty: "1"), symbol: "X", time: 0)
        var request = buy("1")
        request.price = d("100.1")
        request.timeInForce = .gtc
        paper.place(request, time: 0)
        let filled = fills(paper.advance(to: 1))
        #expect(filled.count == 1 && filled[0].isMaker == false && filled[0].feeRate == d("0.00055"))
    }
}
