import Execution
import Market
import Testing

/// The account's books are the same whichever records the caller keeps; `.outcomes` is `.all` without
/// the order records.
struct TradingAccountTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func place(_ id: String, _ side: Side, at price: String) -> OrderIntent {
        .place(PlaceRequest(symbol: "X", side: side, type: .limit, qty: d("2"), price: d(price), timeInForce: .postOnly, orderLinkId: id),
               level: 0)
    }

    private func isOrderRecord(_ record: TradingAccount.Record) -> Bool {
        if case .order = record { true } else { false }
    }

    @Test func keepingOnlyTheOutcomesLeavesTheBooksAsKeepingEverything() {
        var configuration = PaperExchange.Configuration()
        configuration.latency = 10
        var paper = PaperExchange(configuration: configuration)
        var all = TradingAccount(symbol: "X")
        var outcomes = TradingAccount(symbol: "X")
        var book = OrderBook()
        try! book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: d("100.0"), qty: d("1"))],
                                    asks: [PriceLevel(price: d("100.2"), qty: d("1"))]))

        var outcomesSeen: [String] = []
        func apply(_ events: [VenueEvent], time: Int64) {
            let recordsAll = all.apply(events, time: time)
            for record in recordsAll {
                switch record {
                case .fill(let fill): outcomesSeen.append("fill \(fill.clientId)")
                case .rejected(let order): outcomesSeen.append("rejected \(order.clientId)")
                default: break
                }
            }
            #expect(outcomes.apply(events, time: time, keep: .outcomes) == recordsAll.filter { !isOrderRecord($0) })
        }

        func enter(_ intent: OrderIntent, time: Int64) {
            let (sendAll, recordsAll) = all.enter(intent, time: time)
            let (sendOutcomes, recordsOutcomes) = outcomes.enter(intent, time: time, keep: .outcomes)
            #expect(sendAll == sendOutcomes)
            #expect(recordsOutcomes.isEmpty && recordsAll.allSatisfy(isOrderRecord))
            if sendAll { apply(paper.submit(intent, time: time), time: time) }
        }
        apply(paper.onBook(book, symbol: "X", time: 0), time: 0)
        enter(place("b1", .buy, at: "100.0"), time: 0)
        enter(place("s1", .sell, at: "100.2"), time: 0)
        enter(place("s2", .sell, at: "100.0"), time: 0)   // would take: refused post-only, a rejection
        apply(paper.onBook(book, symbol: "X", time: 20), time: 20)
        enter(.amend(clientId: "s1", symbol: "X", price: d("100.1")), time: 21)
        apply(paper.advance(to: 40), time: 40)
        apply(paper.onTrade(TradeTick(symbol: "X", price: d("99.9"), qty: d("5"), aggressor: .sell, tradeId: "t1", exchangeTime: 50, receiveTime: 50)), time: 50)
        apply(paper.onTrade(TradeTick(symbol: "X", price: d("100.3"), qty: d("1"), aggressor: .buy, tradeId: "t2", exchangeTime: 60, receiveTime: 60)), time: 60)
        enter(.cancel(clientId: "s1", symbol: "X"), time: 61)
        enter(.cancelAll(symbol: "X", reason: "stop"), time: 62)
        apply(paper.advance(to: 100), time: 100)

        #expect(all.ledger == outcomes.ledger)
        #expect(all.live == outcomes.live)
        for id in ["b1", "s1", "s2"] { #expect(all[id] == outcomes[id], "\(id)") }
        #expect(outcomesSeen == ["rejected s2", "fill b1", "fill s1"])
        #expect(all.ledger.position == d("0"), "the buy and the sell both filled")
    }
}
