import Binance
import Execution
import Market
import Storage
import Testing
import TestSupport

/// The paper exchange's queue model, by hand and on a recorded day of Binance BTCUSDT.
@Suite(.offThePool)
struct PaperExchangeTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func book(bid: String, _ bidQty: String, ask: String, _ askQty: String) -> OrderBook {
        var book = OrderBook()
        try! book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: d(bid), qty: d(bidQty))],
                                    asks: [PriceLevel(price: d(ask), qty: d(askQty))]))
        return book
    }

    private func trade(_ aggressor: Side, _ qty: String, at price: String, time: Int64) -> TradeTick {
        TradeTick(symbol: "X", price: d(price), qty: d(qty), aggressor: aggressor, tradeId: "\(time)", exchangeTime: time, receiveTime: time)
    }

    private func fills(_ events: [VenueEvent]) -> [Fill] {
        events.compactMap { if case .fill(let fill) = $0 { return fill } else { return nil } }
    }

    private func place(_ id: String, _ side: Side, _ qty: String, at price: String) -> PlaceRequest {
        PlaceRequest(symbol: "X", side: side, type: .limit, qty: d(qty), price: d(price), timeInForce: .postOnly, orderLinkId: id)
    }

    @Test func volumeAheadIsConsumedByTradesAndCancelsBeforeTheOrderFills() {
        var configuration = PaperExchange.Configuration()
        configuration.latency = 10
        var paper = PaperExchange(configuration: configuration)
        _ = paper.onBook(book(bid: "100.0", "5", ask: "100.1", "3"), symbol: "X", time: 0)
        paper.place(place("a", .buy, "2", at: "100.0"), time: 0)
        // Not there before the latency has passed.
        #expect(paper.onBook(book(bid: "100.0", "5", ask: "100.1", "3"), symbol: "X", time: 5).isEmpty)
        let arrival = paper.onBook(book(bid: "100.0", "5", ask: "100.1", "3"), symbol: "X", time: 20)
        #expect(arrival.first == .acknowledged(clientId: "a", command: .place))
        #expect(paper.queueAhead("a") == d("5"))
        // A sell of 3 at the price: 2 ahead left, nothing for us.
        #expect(fills(paper.onTrade(trade(.sell, "3", at: "100.0", time: 30))).isEmpty)
        #expect(paper.queueAhead("a") == d("2"))
        // The level shows 1 (the trade took 3, someone cancelled 1): 1 ahead.
        _ = paper.onBook(book(bid: "100.0", "1", ask: "100.1", "3"), symbol: "X", time: 40)
        #expect(paper.queueAhead("a") == d("1"))
        // A sell of 2: 1 eats the queue, 1 fills us.
        let partial = fills(paper.onTrade(trade(.sell, "2", at: "100.0", time: 50)))
        #expect(partial.map(\.qty) == [d("1")] && partial.first?.leavesQty == d("1") && partial.first?.isMaker == true)
        #expect(partial.first?.fee == d("0.02"))   // 100 × 1 × 0.0002
        // A trade through the price fills the rest.
        let rest = fills(paper.onTrade(trade(.sell, "0.5", at: "99.9", time: 60)))
        #expect(rest.map(\.qty) == [d("1")] && rest.first?.leavesQty.isZero == true)
        #expect(paper.openOrders.isEmpty)
    }

    @Test func aFillCanBeatTheCancelAndPostOnlyNeverTakes() {
        var configuration = PaperExchange.Configuration()
        configuration.latency = 10
        var paper = PaperExchange(configuration: configuration)
        _ = paper.onBook(book(bid: "100.0", "5", ask: "100.1", "3"), symbol: "X", time: 0)
        paper.place(place("s", .sell, "1", at: "100.2"), time: 0)
        paper.place(place("taker", .buy, "1", at: "100.1"), time: 0)
        let arrived = paper.advance(to: 10)
        #expect(arrived.contains(.refused(clientId: "taker", command: .place, reason: "post-only order would take liquidity")))
        paper.cancel(clientId: "s", time: 20)   // lands at 30
        let beat = fills(paper.onTrade(trade(.buy, "4", at: "100.3", time: 25)))
        #expect(beat.map(\.clientId) == ["s"])
        #expect(paper.advance(to: 30) == [.refused(clientId: "s", command: .cancel, reason: "order not found (filled or gone)")])
        // The opposite touch moving onto a resting bid fills it whole.
        paper.place(place("b", .buy, "1", at: "100.0"), time: 40)
        _ = paper.advance(to: 50)
        let crossed = fills(paper.onBook(book(bid: "99.8", "1", ask: "100.0", "2"), symbol: "X", time: 60))
        #expect(crossed.map(\.clientId) == ["b"])
    }

    /// A recorded day of BTCUSDT: quotes at the touch, re-placed whenever filled. Every fill must be
    /// explained by a trade at or through its price or by the touch crossing it; the volume ahead is
    /// the size shown when the order arrived and never grows; some orders fill and some wait.
    @Test func queuePositionOnRecordedData() throws {
        var feed = BinanceFeed()
        var decoder = BinanceDecoder()
        var configuration = PaperExchange.Configuration()
        configuration.latency = 20_000_000
        var paper = PaperExchange(configuration: configuration)
        var ahead: [String: Quantity] = [:]
        var arrivalChecked: Set<String> = []
        var placed = 0
        var filledOrders = 0
        var fillCount = 0
        var violations: [String] = []
        var atPrice = 0
        var symbol = ""
        var sequence = 0

        func check(_ events: [VenueEvent], trade: TradeTick?, book: OrderBook) {
            for event in events {
                switch event {
                case .order(let update) where update.state == .new && !arrivalChecked.contains(update.clientId):
                    arrivalChecked.insert(update.clientId)
                    let shown = book.size(update.side == .buy ? .bid : .ask, at: update.price)
                    if paper.queueAhead(update.clientId) != shown, paper.queueAhead(update.clientId) != nil {
                        violations.append("\(update.clientId): ahead \(String(describing: paper.queueAhead(update.clientId))) ≠ shown \(shown)")
                    }
                case .fill(let fill):
                    fillCount += 1
                    if fill.leavesQty.isZero { filledOrders += 1 }
                    let byTrade = trade.map { fill.side == .buy ? ($0.aggressor == .sell && $0.price <= fill.price) : ($0.aggressor == .buy && $0.price >= fill.price) } ?? false
                    let byCross = fill.side == .buy ? (book.bestAsk.map { $0.price <= fill.price } ?? false) : (book.bestBid.map { $0.price >= fill.price } ?? false)
                    if !byTrade && !byCross { violations.append("unexplained fill \(fill.clientId) at \(fill.price)") }
                    if let trade, trade.price == fill.price, !byCross {
                        atPrice += 1
                        // Filled at its own price by a trade: only once the queue ahead was gone.
                        if let before = ahead[fill.clientId], before > trade.qty { violations.append("\(fill.clientId) filled with \(before) ahead > trade \(trade.qty)") }
                    }
                default:
                    break
                }
            }
            for order in paper.openOrders {
                guard let now = paper.queueAhead(order.clientId) else { continue }
                if let before = ahead[order.clientId], now > before { violations.append("\(order.clientId): queue grew \(before) → \(now)") }
                ahead[order.clientId] = now
            }
        }

        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { raw in
            let line = RecordedLine(raw)
            let time = line.receiveTime
            // Orders due by now arrive against the book as it stood before this message.
            if let before = feed.bookState(symbol: symbol), before.isValid {
                check(paper.advance(to: time), trade: nil, book: before.book)
            }
            feed.ingest(line.message, receiveTime: time)
            guard let decoded = try? decoder.decode(line.message, receiveTime: time) else { return }
            if symbol.isEmpty, let first = feed.symbols.first { symbol = first }
            guard let state = feed.bookState(symbol: symbol), state.isValid else { return }
            let book = state.book
            switch decoded {
            case .depth:
                check(paper.onBook(book, symbol: symbol, time: time), trade: nil, book: book)
                // Keep one order resting at each touch.
                let open = Set(paper.openOrders.map(\.side))
                for (side, level) in [(Side.buy, book.bestBid), (Side.sell, book.bestAsk)] where !open.contains(side) && placed < 2_000 {
                    guard let level else { continue }
                    sequence += 1
                    placed += 1
                    paper.place(PlaceRequest(symbol: symbol, side: side, type: .limit, qty: d("0.005"), price: level.price,
                                             timeInForce: .postOnly, orderLinkId: "q\(sequence)"), time: time)
                }
            case .trade(var trade):
                trade.exchangeTime = time
                check(paper.onTrade(trade), trade: trade, book: book)
            default:
                break
            }
        }
        print("paper on recorded BTCUSDT: \(placed) orders placed, \(filledOrders) filled whole, \(fillCount) fills (\(atPrice) by trades at the order's own price after its queue), \(paper.openOrders.count) resting at the end")
        #expect(violations.isEmpty, "\(violations.prefix(5))")
        #expect(placed > 20)
        #expect(filledOrders > 10)
        #expect(arrivalChecked.count > 20)
        #expect(atPrice > 0)
    }

    /// A venue that lets each book go at `settle()` (copying the tops only for an order on its way, and
    /// only as deep as it reads) answers exactly as one that copies them on every book, on the capture:
    /// orders placed near and deep, repriced or grown at their price, arriving on books and on trades.
    @Test func lettingBooksGoAtSettleAnswersAsCopyingEveryBook() throws {
        var feed = BinanceFeed()
        var configuration = PaperExchange.Configuration()
        configuration.latency = 30_000_000
        var copying = PaperExchange(configuration: configuration)
        var settling = PaperExchange(configuration: configuration)
        var answers = 0
        var sequence = 0
        var mismatch: String?
        func both(_ body: (inout PaperExchange) -> [VenueEvent]) {
            let a = body(&copying), b = body(&settling)
            answers += a.count
            if a != b, mismatch == nil { mismatch = "\(a) vs \(b)" }
        }
        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) { raw in
            let line = RecordedLine(raw)
            let time = line.receiveTime
            feed.ingest(line.message, receiveTime: time) { event in
                switch event {
                case .depth(let depth):
                    both { $0.onBook(depth.book, symbol: depth.update.symbol, time: time) }
                    sequence += 1
                    // Now and then a place somewhere in the best 300 levels, or an amend of the last one.
                    if sequence % 7 == 0 {
                        let side: BookSide = sequence % 2 == 0 ? .bid : .ask
                        let levels = depth.book.levels(side, limit: 300)
                        guard !levels.isEmpty else { break }
                        let level = levels[(sequence * 37) % levels.count]
                        let request = PlaceRequest(symbol: depth.update.symbol, side: side == .bid ? .buy : .sell, type: .limit, qty: d("0.002"),
                                                   price: level.price, timeInForce: .postOnly, orderLinkId: "s\(sequence)")
                        copying.place(request, time: time)
                        settling.place(request, time: time)
                    } else if sequence % 7 == 3, let level = depth.book.levels(.bid, limit: 20).last {
                        copying.amend(clientId: "s\(sequence - 3)", price: level.price, qty: nil, time: time)
                        settling.amend(clientId: "s\(sequence - 3)", price: level.price, qty: nil, time: time)
                    } else if sequence % 7 == 5 {
                        // More size at its own price, anywhere in the best 300 levels: it reads its level again.
                        copying.amend(clientId: "s\(sequence - 5)", price: nil, qty: d("0.003"), time: time)
                        settling.amend(clientId: "s\(sequence - 5)", price: nil, qty: d("0.003"), time: time)
                    }
                case .trade(let trade):
                    both { $0.onTrade(trade) }
                case .bookInvalid:
                    break
                }
                settling.settle()
            }
        }
        #expect(mismatch == nil, "\(mismatch ?? "")")
        #expect(answers > 1_000)
        #expect(copying.openOrders == settling.openOrders && !copying.openOrders.isEmpty)
    }

    /// Two venues of 10 ns latency and whole fills: one to copy every book's tops, one to be settled.
    private func twoVenues() -> (copying: PaperExchange, settling: PaperExchange) {
        var configuration = PaperExchange.Configuration()
        configuration.latency = 10
        configuration.partialFills = false
        return (PaperExchange(configuration: configuration), PaperExchange(configuration: configuration))
    }

    /// A place outside the `onBook` … `settle()` window ends the sparing for good: from then on every
    /// book's tops are copied, so a later order meets the book of its time even past further `settle()`s.
    @Test func aPlaceOutsideTheWindowEndsTheSparingForGood() {
        var (copying, settling) = twoVenues()
        func both(_ body: (inout PaperExchange) -> [VenueEvent]) -> ([VenueEvent], [VenueEvent]) {
            (body(&copying), body(&settling))
        }
        settling.settle()
        _ = both { $0.onBook(book(bid: "100", "5", ask: "101", "5"), symbol: "X", time: 0) }
        settling.settle()
        // Outside the window: the book of time 0 was let go uncopied.
        copying.place(place("a", .buy, "1", at: "99"), time: 5)
        settling.place(place("a", .buy, "1", at: "99"), time: 5)
        _ = both { $0.onBook(book(bid: "100", "5", ask: "101", "5"), symbol: "X", time: 20) }
        settling.settle()
        _ = both { $0.onBook(book(bid: "100", "9", ask: "101", "5"), symbol: "X", time: 30) }
        settling.settle()
        // Outside again, after a settle: it must meet the book of time 30 (9 ahead), not that of time 20 (5).
        copying.place(place("b", .buy, "1", at: "100"), time: 35)
        settling.place(place("b", .buy, "1", at: "100"), time: 35)
        let (a, b) = both { $0.onTrade(trade(.sell, "6", at: "100", time: 50)) }
        #expect(a == b)
        #expect(fills(a).isEmpty, "6 traded against 9 ahead: no fill")
        #expect(copying.queueAhead("b") == settling.queueAhead("b") && settling.queueAhead("b") == d("3"))
    }

    /// The same when the book was copied, but only as deep as the orders then on their way read: a place
    /// outside the window deeper than that ends the sparing (it meets the tops kept), and every later
    /// order meets its whole book again.
    @Test func aPlaceOutsideTheWindowDeeperThanTheCopyEndsTheSparing() throws {
        var (copying, settling) = twoVenues()
        func both(_ body: (inout PaperExchange) -> [VenueEvent]) -> ([VenueEvent], [VenueEvent]) {
            (body(&copying), body(&settling))
        }
        func deep(_ near: String, _ far: String) throws -> OrderBook {
            var book = OrderBook()
            try book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: [PriceLevel(price: d("100"), qty: d(near)), PriceLevel(price: d("98"), qty: d(far))],
                                       asks: [PriceLevel(price: d("101"), qty: d("5"))]))
            return book
        }
        func buy(_ id: String, at price: String, time: Int64) {
            copying.place(place(id, .buy, "1", at: price), time: time)
            settling.place(place(id, .buy, "1", at: price), time: time)
        }
        settling.settle()
        _ = both { $0.onBook(try! deep("5", "7"), symbol: "X", time: 0) }
        // Inside the window, at the touch: the settle copies the bids down to 100 only.
        buy("a", at: "100", time: 0)
        settling.settle()
        // Outside it, at 98: the copy does not reach it; the sparing ends.
        buy("b", at: "98", time: 2)
        _ = both { $0.onTrade(trade(.buy, "1", at: "101", time: 15)) }
        #expect(copying.queueAhead("a") == d("5") && settling.queueAhead("a") == d("5"))
        _ = both { $0.onBook(try! deep("5", "8"), symbol: "X", time: 20) }
        buy("c", at: "100", time: 20)
        settling.settle()
        // Outside again at 98, after a settle that had an order on its way at 100: it meets the whole book (8 ahead).
        buy("d", at: "98", time: 25)
        let (a, b) = both { $0.onTrade(trade(.buy, "1", at: "101", time: 40)) }
        #expect(a == b)
        #expect(copying.queueAhead("d") == settling.queueAhead("d") && settling.queueAhead("d") == d("8"))
    }
}
