import ExchangeSim
import Market
import Testing

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

private let btc = Instrument(symbol: "BTCUSDT", tickSize: d("0.10"), qtyStep: d("0.001"), minQty: d("0.001"))

private func engine(balance: String = "100000") -> MatchingEngine {
    var engine = MatchingEngine(instruments: [btc], seed: 7)
    engine.addAccount(SimAccount(apiKey: "alice", walletBalance: d(balance), makerFeeRate: d("0.0002"), takerFeeRate: d("0.00055")))
    engine.addAccount(SimAccount(apiKey: "bob", walletBalance: d(balance), makerFeeRate: d("0.0002"), takerFeeRate: d("0.00055")))
    return engine
}

private func limit(_ side: Side, _ qty: String, _ price: String, _ tif: TimeInForce = .gtc, link: String = "", reduceOnly: Bool = false) -> PlaceRequest {
    PlaceRequest(symbol: "BTCUSDT", side: side, type: .limit, qty: d(qty), price: d(price), timeInForce: tif, orderLinkId: link, reduceOnly: reduceOnly)
}

private func market(_ side: Side, _ qty: String, reduceOnly: Bool = false) -> PlaceRequest {
    PlaceRequest(symbol: "BTCUSDT", side: side, type: .market, qty: d(qty), reduceOnly: reduceOnly)
}

struct MatchingEngineTests {
    @Test func earlierOrderAtTheSamePriceFillsFirst() throws {
        var e = engine()
        let (first, _) = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 1)
        let (second, _) = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 2)
        let (taker, events) = try e.place(limit(.buy, "1.5", "100.0"), owner: .account("alice"), now: 3)
        #expect(taker.status == .filled)
        #expect(events.trades.map(\.qty) == [d("1"), d("0.5")])
        #expect(e.orders[first.orderId] == nil)   // filled flow orders are forgotten
        #expect(e.orders[second.orderId]?.leavesQty == d("0.5"))
        #expect(e.depth("BTCUSDT", side: .sell, limit: 5) == [PriceLevel(price: d("100.0"), qty: d("0.5"))])
    }

    @Test func crossingLimitFillsWhatItCanAndRestsTheRest() throws {
        var e = engine()
        _ = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 1)
        _ = try e.place(limit(.sell, "1", "100.5"), owner: .flow, now: 1)
        let (order, events) = try e.place(limit(.buy, "3", "100.2"), owner: .account("alice"), now: 2)
        #expect(order.status == .partiallyFilled)
        #expect(order.filledQty == d("1") && order.leavesQty == d("2"))
        #expect(events.executions.filter { $0.owner == .account("alice") }.map(\.isMaker) == [false])
        #expect(e.depth("BTCUSDT", side: .buy, limit: 1) == [PriceLevel(price: d("100.2"), qty: d("2"))])
        #expect(e.depth("BTCUSDT", side: .sell, limit: 1) == [PriceLevel(price: d("100.5"), qty: d("1"))])
    }

    @Test func marketOrderWalksTheBookAndCancelsWhatIsLeft() throws {
        var e = engine()
        _ = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 1)
        _ = try e.place(limit(.sell, "1", "101.0"), owner: .flow, now: 1)
        let (order, events) = try e.place(market(.buy, "3"), owner: .account("alice"), now: 2)
        #expect(order.status == .partiallyFilledCanceled)
        #expect(order.filledQty == d("2"))
        #expect(events.trades.map(\.price) == [d("100.0"), d("101.0")])
        #expect(order.averagePrice(scale: 2) == d("100.50"))
        #expect(e.depth("BTCUSDT", side: .sell, limit: 5).isEmpty)
    }

    @Test func iocAndFokFollowTheirRules() throws {
        var e = engine()
        _ = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 1)
        let (fok, _) = try e.place(limit(.buy, "2", "100.0", .fok), owner: .account("alice"), now: 2)
        #expect(fok.status == .cancelled && fok.rejectReason == "EC_CancelForNoFullFill" && fok.filledQty.isZero)
        let (ioc, _) = try e.place(limit(.buy, "2", "100.0", .ioc), owner: .account("alice"), now: 3)
        #expect(ioc.status == .partiallyFilledCanceled && ioc.filledQty == d("1"))
        let (empty, _) = try e.place(limit(.buy, "1", "100.0", .ioc), owner: .account("alice"), now: 4)
        #expect(empty.status == .cancelled && empty.rejectReason == "EC_NoImmediateQtyToFill")
        _ = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 5)
        let (fullFok, _) = try e.place(limit(.buy, "1", "100.0", .fok), owner: .account("alice"), now: 6)
        #expect(fullFok.status == .filled)
    }

    @Test func postOnlyThatWouldTakeIsCancelled() throws {
        var e = engine()
        _ = try e.place(limit(.sell, "1", "100.0"), owner: .flow, now: 1)
        let (taking, events) = try e.place(limit(.buy, "1", "100.0", .postOnly), owner: .account("alice"), now: 2)
        #expect(taking.status == .cancelled && taking.rejectReason == "EC_PostOnlyWillTakeLiquidity")
        #expect(events.trades.isEmpty)
        let (resting, _) = try e.place(limit(.buy, "1", "99.9", .postOnly), owner: .account("alice"), now: 3)
        #expect(resting.status == .new)
        #expect(throws: SimError.parameter("Market order cannot be PostOnly")) {
            try e.place(PlaceRequest(symbol: "BTCUSDT", side: .buy, type: .market, qty: d("1"), timeInForce: .postOnly), owner: .account("alice"), now: 4)
        }
    }

    @Test func reusedOrderLinkIdIsRefusedEvenAfterTheOrderClosed() throws {
        var e = engine()
        let (order, _) = try e.place(limit(.buy, "1", "90.0", link: "quote-1"), owner: .account("alice"), now: 1)
        _ = try e.cancel(.orderLinkId("quote-1"), apiKey: "alice", now: 2)
        #expect(throws: SimError.duplicateLinkId) { try e.place(limit(.buy, "1", "90.0", link: "quote-1"), owner: .account("alice"), now: 3) }
        #expect(e.order(.orderLinkId("quote-1"), apiKey: "alice")?.orderId == order.orderId)
        // Another account may use the same link id.
        _ = try e.place(limit(.buy, "1", "90.0", link: "quote-1"), owner: .account("bob"), now: 4)
    }

    @Test func gridAndMinimumsAreValidatedWithBybitCodes() {
        var e = engine()
        #expect(throws: SimError.self) { try e.place(limit(.buy, "1", "100.05"), owner: .account("alice"), now: 1) }
        #expect((try? e.place(limit(.buy, "1", "100.05"), owner: .account("alice"), now: 1)) == nil)
        for (request, code) in [(limit(.buy, "1", "100.05"), 10001), (limit(.buy, "0.0015", "100.0"), 10001),
                                (limit(.buy, "0", "100.0"), 10001),
                                (PlaceRequest(symbol: "DOGEUSDT", side: .buy, type: .limit, qty: d("1"), price: d("1")), 10001),
                                (PlaceRequest(symbol: "BTCUSDT", side: .buy, type: .limit, qty: d("1")), 10001)] {
            do {
                _ = try e.place(request, owner: .account("alice"), now: 1)
                Issue.record("accepted \(request)")
            } catch {
                #expect(error.code == code, "\(request): \(error)")
            }
        }
        var small = MatchingEngine(instruments: [Instrument(symbol: "BTCUSDT", tickSize: d("0.10"), qtyStep: d("0.001"), minQty: d("0.01"))])
        small.addAccount(SimAccount(apiKey: "alice", walletBalance: d("1000"), makerFeeRate: .zero, takerFeeRate: .zero))
        #expect(throws: SimError.qtyTruncatedToZero) { try small.place(limit(.buy, "0.005", "100.0"), owner: .account("alice"), now: 1) }
        #expect(throws: SimError.insufficientBalance) { try small.place(limit(.buy, "200", "100.0"), owner: .account("alice"), now: 1) }
        #expect(throws: SimError(10003, "API key is invalid.")) { try small.place(limit(.buy, "1", "100.0"), owner: .account("mallory"), now: 1) }
    }

    @Test func reduceOnlyNeedsAPositionAndIsCappedToIt() throws {
        var e = engine()
        #expect(throws: SimError.qtyTruncatedToZero) { try e.place(limit(.sell, "1", "100.0", reduceOnly: true), owner: .account("alice"), now: 1) }
        _ = try e.place(limit(.sell, "0.5", "100.0"), owner: .flow, now: 2)
        _ = try e.place(market(.buy, "0.5"), owner: .account("alice"), now: 3)
        let (reduce, _) = try e.place(limit(.sell, "2", "105.0", reduceOnly: true), owner: .account("alice"), now: 4)
        #expect(reduce.qty == d("0.5"))
        #expect(throws: SimError.qtyTruncatedToZero) { try e.place(limit(.buy, "1", "90.0", reduceOnly: true), owner: .account("alice"), now: 5) }
    }

    @Test func amendKeepsPriorityOnlyWhenShrinkingInPlace() throws {
        var e = engine()
        let (a, _) = try e.place(limit(.buy, "1", "100.0"), owner: .account("alice"), now: 1)
        let (b, _) = try e.place(limit(.buy, "1", "100.0"), owner: .account("bob"), now: 2)
        _ = try e.amend(.orderId(a.orderId), apiKey: "alice", qty: d("0.5"), price: nil, now: 3)   // keeps its place
        _ = try e.place(limit(.sell, "0.5", "100.0"), owner: .flow, now: 4)
        #expect(e.orders[a.orderId]?.status == .filled)
        _ = try e.amend(.orderId(b.orderId), apiKey: "bob", qty: nil, price: d("99.0"), now: 5)
        let (c, _) = try e.place(limit(.buy, "1", "99.0"), owner: .account("alice"), now: 6)
        _ = try e.amend(.orderId(b.orderId), apiKey: "bob", qty: d("2"), price: nil, now: 7)     // grows: back of the queue
        _ = try e.place(limit(.sell, "1", "99.0"), owner: .flow, now: 8)
        #expect(e.orders[c.orderId]?.status == .filled)
        #expect(e.orders[b.orderId]?.filledQty == .zero)
        #expect(e.depth("BTCUSDT", side: .buy, limit: 1) == [PriceLevel(price: d("99.0"), qty: d("2"))])
        #expect(throws: SimError.orderNotFound) { try e.amend(.orderId(a.orderId), apiKey: "alice", qty: d("1"), price: nil, now: 9) }
        #expect(throws: SimError.orderNotFound) { try e.amend(.orderId(b.orderId), apiKey: "alice", qty: d("1"), price: nil, now: 9) }
    }

    @Test func cancelAndCancelAll() throws {
        var e = engine()
        let (a, _) = try e.place(limit(.buy, "1", "100.0"), owner: .account("alice"), now: 1)
        _ = try e.place(limit(.buy, "1", "99.0"), owner: .account("alice"), now: 2)
        _ = try e.place(limit(.sell, "1", "101.0"), owner: .account("alice"), now: 3)
        _ = try e.place(limit(.sell, "1", "102.0"), owner: .account("bob"), now: 4)
        let (cancelled, _) = try e.cancel(.orderId(a.orderId), apiKey: "alice", now: 5)
        #expect(cancelled.status == .cancelled && cancelled.cancelType == "CancelByUser")
        #expect(throws: SimError.orderNotFound) { try e.cancel(.orderId(a.orderId), apiKey: "alice", now: 6) }
        let events = e.cancelAll(apiKey: "alice", symbol: "BTCUSDT", now: 7)
        #expect(events.orders.count == 2 && events.orders.allSatisfy { $0.status == .cancelled })
        #expect(e.openOrders(apiKey: "alice").isEmpty)
        #expect(e.openOrders(apiKey: "bob").count == 1)
        #expect(e.depth("BTCUSDT", side: .buy, limit: 5).isEmpty)
    }

    @Test func positionsRealisePnlAndPayFees() throws {
        var e = engine(balance: "1000")
        _ = try e.place(limit(.sell, "2", "100.0"), owner: .flow, now: 1)
        _ = try e.place(market(.buy, "2"), owner: .account("alice"), now: 2)                   // taker: 200 × 0.00055 = 0.11
        var position = e.accounts["alice"]!.position("BTCUSDT")
        #expect(position.size == d("2") && position.averageEntryPrice == d("100") && position.side == "Buy")
        _ = try e.place(limit(.sell, "1.5", "110.0"), owner: .account("alice"), now: 3)       // rests
        _ = try e.place(market(.buy, "1.5"), owner: .flow, now: 4)                            // maker: 165 × 0.0002 = 0.033
        position = e.accounts["alice"]!.position("BTCUSDT")
        #expect(position.size == d("0.5"))
        #expect(position.realisedPnl == d("15"))
        #expect(e.accounts["alice"]!.walletBalance == d("1000") + d("15") - d("0.11") - d("0.033"))
        // Flip: sell 1 at 90 closes 0.5 (−5) and opens 0.5 short at 90.
        _ = try e.place(limit(.buy, "1", "90.0"), owner: .flow, now: 5)
        _ = try e.place(market(.sell, "1"), owner: .account("alice"), now: 6)
        position = e.accounts["alice"]!.position("BTCUSDT")
        #expect(position.size == d("-0.5") && position.averageEntryPrice == d("90") && position.side == "Sell")
        #expect(position.realisedPnl == d("10"))
    }

    @Test func sameCallsGiveTheSameResults() throws {
        func run() throws -> [SimOrder] {
            var e = engine()
            var out: [SimOrder] = []
            for i in 0..<50 {
                let price = FixedDecimal(mantissa: Int64(1000 + (i * 7) % 11), scale: 1)
                out.append(try e.place(limit(i % 2 == 0 ? .buy : .sell, "0.1", price.description), owner: i % 3 == 0 ? .flow : .account("alice"), now: Int64(i)).0)
            }
            return out
        }
        let first = try run()
        #expect(first == (try run()))
        #expect(Set(first.map(\.orderId)).count == 50)
        #expect(first[0].orderId.count == 36)
    }
}
