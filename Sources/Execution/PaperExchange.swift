import Market

/// The simulated venue of paper trading on the live feed and of the backtest on a recording: orders
/// rest in a simulated queue and fill from the real book and trades. An order joins behind the size
/// already shown at its price (nothing when it improves the touch); that volume ahead is consumed
/// first — by trades at the price, and by the level shrinking as `queue` says (risk-averse by
/// default: only when the level falls below it) — before the order fills, partly by what is left of
/// the trade (or whole, with `partialFills` off). A trade through the price, or the opposite touch
/// moving onto it, fills it whole at its price. Placing, amending and cancelling take effect after
/// the order latency (event time), so a fill can beat a cancel. Post-only: an order that would take
/// liquidity when it arrives is refused; another limit order takes at once at its price and pays
/// `takerFeeRate`. Resting fills pay `makerFeeRate`. Pure: time comes with the market events.
public struct PaperExchange: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Order latency, ns, when no measured one is given.
        public var latency: Int64 = 50_000_000
        /// Measured order latency over time (a backtest reading a bot's `orders_*.jsonl`).
        public var measuredLatency: OrderLatency?
        public var makerFeeRate = FixedDecimal(mantissa: 2, scale: 4)
        public var takerFeeRate = FixedDecimal(mantissa: 55, scale: 5)
        public var queue = QueueModel.riskAverse
        public var partialFills = true

        public init() {}

        /// The latency of a command asked at `time`.
        public func latency(at time: Int64) -> Int64 { measuredLatency?.at(time) ?? latency }
    }

    struct RestingOrder: Sendable {
        var update: OrderUpdate
        var queueAhead: Quantity
        var sequence: Int
        /// The level's size at the last book, and what traded at the price since.
        var shown: Quantity = .zero
        var traded: Quantity = .zero
    }

    enum Action: Sendable {
        case place(PlaceRequest)
        case amend(clientId: String, price: Price?, qty: Quantity?)
        case cancel(clientId: String)
        case cancelAll(symbol: String?)
    }

    public let configuration: Configuration
    private var resting: [String: RestingOrder] = [:]
    /// The last `ordered(symbol:)`, as most events meet the same few orders in the same order: dropped
    /// wherever an order arrives, leaves, or changes its price or place in the queue.
    private var orderedCache: (symbol: String, orders: [Quoted])?
    /// A resting order's id, the two fields that say whether a trade can reach it, and its place in time
    /// (the few fields the order needs, not the orders: each copy of one retains its strings).
    private struct Quoted {
        var clientId: String
        var side: Side
        var price: Price
        var sequence: Int
    }
    private var due: [(time: Int64, action: Action)] = []
    /// Each symbol's last book as orders arriving between book events meet it (a few symbols: found by
    /// a look down the list, not a hash).
    private var markets: [MarketSlot] = []
    private var sparing = Sparing.off

    /// A symbol's book as the venue keeps it: the best `keptLevels` levels a side of its last book (the
    /// book itself is not kept: holding it would make its owner copy it on every update). With an owner
    /// that calls `settle()` after each market event (the backtester), the book is held from `onBook`
    /// to `settle()` instead, its tops copied only when an order reads them (`stale` until then) and only
    /// as deep as the orders on their way reach.
    private struct MarketSlot {
        let symbol: String
        var tops = BookTops()
        var held: OrderBook?
        var stale = false

        /// Whether the kept tops answer for an order reading `price` on `side` (nil: the touch only): not
        /// older than the book, and copied at least that deep.
        func answers(_ side: BookSide, _ price: Price?) -> Bool {
            !stale && (price.map { tops.covers(side, $0) } ?? true)
        }
    }

    /// Whether books are held rather than their tops copied: off until the first `settle()`; ended for good
    /// by a place or amend outside an `onBook` … `settle()` window that the tops kept cannot answer.
    private enum Sparing { case off, on, ended }
    /// Levels a side kept for arrivals: an order deeper than this joins with no volume ahead.
    public static let keptLevels = 256
    private var orderCount = 0
    private var executionCount = 0
    private var sequence = 0
    private var now: Int64 = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Open paper orders (after their arrival).
    public var openOrders: [OrderUpdate] { resting.values.sorted { $0.sequence < $1.sequence }.map(\.update) }

    /// The volume ahead of an open order in its queue.
    public func queueAhead(_ clientId: String) -> Quantity? { resting[clientId]?.queueAhead }

    // MARK: Commands (effective after the latency)

    public mutating func place(_ request: PlaceRequest, time: Int64) { schedule(.place(request), time) }
    public mutating func amend(clientId: String, price: Price?, qty: Quantity?, time: Int64) { schedule(.amend(clientId: clientId, price: price, qty: qty), time) }
    public mutating func cancel(clientId: String, time: Int64) { schedule(.cancel(clientId: clientId), time) }
    public mutating func cancelAll(symbol: String?, time: Int64) { schedule(.cancelAll(symbol: symbol), time) }

    /// Commands whose time has come, without market data (e.g. on a timer).
    public mutating func advance(to time: Int64) -> [VenueEvent] {
        var events: [VenueEvent] = []
        advance(to: time, into: &events)
        return events
    }

    // MARK: Market data

    /// After the book of `symbol` changed (the book as it is now).
    public mutating func onBook(_ book: OrderBook, symbol: String, time: Int64) -> [VenueEvent] {
        let market = slot(symbol)
        if sparing == .on {
            markets[market].held = book
            markets[market].stale = true
        } else {
            book.copyTops(limit: Self.keptLevels, into: &markets[market].tops)
            markets[market].stale = false
        }
        var events: [VenueEvent] = []
        advance(to: time, into: &events)
        for quoted in ordered(symbol: symbol) {
            let clientId = quoted.clientId
            guard let index = resting.index(forKey: clientId) else { continue }
            var order = resting.values[index]
            let side = order.update.side.bookSide
            // The level changed: the queue model says how much of a decrease was ahead of the order.
            let shown = book.size(side, at: order.update.price)
            order.queueAhead = configuration.queue.ahead(order.queueAhead, before: order.shown, after: shown, traded: order.traded)
            order.shown = shown
            order.traded = .zero
            resting.values[index] = order
            // The opposite touch reached the price: taken whole.
            let crossed = order.update.side == .buy ? book.bestAsk.map { $0.price <= order.update.price } : book.bestBid.map { $0.price >= order.update.price }
            if crossed == true { execute(clientId, qty: order.update.qty - order.update.filledQty, time: time, into: &events) }
        }
        return events
    }

    /// After a public trade print, at `time` (nil: the trade's exchange time).
    public mutating func onTrade(_ trade: TradeTick, time: Int64? = nil) -> [VenueEvent] {
        let time = time ?? trade.exchangeTime
        var events: [VenueEvent] = []
        advance(to: time, into: &events)
        // A sell aggressor hits bids; a buy aggressor lifts asks.
        let side: Side = trade.aggressor == .sell ? .buy : .sell
        var left = trade.qty
        let orders = ordered(symbol: trade.symbol)
        // The print's price written with the orders' digits where it can be ("60001.80" as "60001.8"), so
        // that comparing it with theirs is one integer comparison, not a rescaling each time.
        let tradePrice = orders.first.flatMap { first in
            trade.price.units(atScale: first.price.scale).map { Price(mantissa: $0, scale: first.price.scale) }
        } ?? trade.price
        for quoted in orders {
            // An order of the other side, or one the print did not reach, is left as it is (not looked up).
            guard quoted.side == side else { continue }
            let through = side == .buy ? tradePrice < quoted.price : tradePrice > quoted.price
            guard through || tradePrice == quoted.price && left > .zero else { continue }
            let clientId = quoted.clientId
            guard let index = resting.index(forKey: clientId) else { continue }
            var order = resting.values[index]
            let price = order.update.price
            if through {
                execute(clientId, qty: order.update.qty - order.update.filledQty, time: time, into: &events)
                continue
            }
            guard tradePrice == price, left > .zero else { continue }
            order.traded += left
            let eaten = min(order.queueAhead, left)
            order.queueAhead -= eaten
            left -= eaten
            resting.values[index] = order
            if order.queueAhead.isZero, left > .zero {
                let remaining = order.update.qty - order.update.filledQty
                let qty = min(left, remaining)
                left -= qty
                execute(clientId, qty: configuration.partialFills ? qty : remaining, time: time, into: &events)
            }
        }
        return events
    }

    /// The owner is done with the market event. The books held since `onBook` are let go, so that the
    /// feed changes them in place rather than copying them; a symbol with an order on its way keeps its
    /// best levels first, as deep as those orders reach. Called after every market event, it spares
    /// copying the tops of the books no order arrives on (most of them) — on the promise that places and
    /// amends come only between an `onBook` and this call, as the strategy decides after depth events. A
    /// place or amend outside it that the tops kept cannot answer ends the sparing (every book's tops are
    /// copied whole again, as without this call).
    public mutating func settle() {
        if sparing == .off { sparing = .on }
        for market in markets.indices where markets[market].held != nil {
            let book = markets[market].held!
            markets[market].held = nil
            // How deep the orders on their way reach on each side (nil: the best level is all they read).
            var bids: Price?, asks: Price?, arriving = false
            for entry in due {
                guard let reach = arrivalReach(entry.action), reach.symbol == markets[market].symbol else { continue }
                arriving = true
                guard let price = reach.price else { continue }
                if reach.side == .bid { bids = min(bids ?? price, price) } else { asks = max(asks ?? price, price) }
            }
            guard arriving else { continue }
            if !markets[market].answers(.bid, bids) || !markets[market].answers(.ask, asks) {
                book.copyTops(limit: Self.keptLevels, bidsThrough: bids, asksThrough: asks, into: &markets[market].tops)
                markets[market].stale = false
            }
        }
    }

    /// The book an action reads when it lands: a place's, or an amended order's (resting, or still on
    /// its way), with the side and price it reads there (nil: the touch only).
    private func arrivalReach(_ action: Action) -> (symbol: String, side: BookSide, price: Price?)? {
        switch action {
        case .place(let request):
            return (request.symbol, request.side.bookSide, request.price)
        case .amend(let clientId, let price, _):
            if let order = resting[clientId] { return (order.update.symbol, order.update.side.bookSide, price ?? order.update.price) }
            for entry in due {
                if case .place(let request) = entry.action, request.orderLinkId == clientId {
                    return (request.symbol, request.side.bookSide, price ?? request.price)
                }
            }
            return nil
        case .cancel, .cancelAll: return nil
        }
    }

    /// The index of `symbol`'s slot, made on first sight.
    private mutating func slot(_ symbol: String) -> Int {
        if let index = markets.firstIndex(where: { $0.symbol == symbol }) { return index }
        markets.append(MarketSlot(symbol: symbol))
        return markets.count - 1
    }

    /// The kept tops of `symbol`'s last book, answering for `price` on `side`: copied from the held book
    /// if they are older than it or do not reach that deep. Nil before the symbol's first book.
    private mutating func currentTops(_ symbol: String, _ side: BookSide, reaching price: Price?) -> BookTops? {
        guard let market = markets.firstIndex(where: { $0.symbol == symbol }) else { return nil }
        if let book = markets[market].held, !markets[market].answers(side, price) {
            book.copyTops(limit: Self.keptLevels, bidsThrough: side == .bid ? price : nil, asksThrough: side == .ask ? price : nil,
                          into: &markets[market].tops)
            markets[market].stale = false
        }
        return markets[market].tops
    }

    // MARK: Inside

    private mutating func schedule(_ action: Action, _ time: Int64) {
        if sparing == .on, let reach = arrivalReach(action), let market = markets.firstIndex(where: { $0.symbol == reach.symbol }),
           markets[market].held == nil, !markets[market].answers(reach.side, reach.price) {
            // The book this order will meet was let go uncopied, or copied less deep than the order
            // reads (it meets the tops kept): copy every book's tops whole from here on.
            sparing = .ended
        }
        let at = time + configuration.latency(at: time)
        let index = due.firstIndex { $0.time > at } ?? due.endIndex
        due.insert((at, action), at: index)
    }

    /// Open orders of a symbol: best price first, then time priority.
    private mutating func ordered(symbol: String) -> [Quoted] {
        guard !resting.isEmpty else { return [] }
        if let cached = orderedCache, cached.symbol == symbol { return cached.orders }
        let orders = sorted(symbol: symbol)
        orderedCache = (symbol, orders)
        return orders
    }

    private func sorted(symbol: String) -> [Quoted] {
        var open: [Quoted] = []
        open.reserveCapacity(resting.count)
        for order in resting.values where order.update.symbol == symbol {
            open.append(Quoted(clientId: order.update.clientId, side: order.update.side, price: order.update.price, sequence: order.sequence))
        }
        // Buys, then sells; each side best price first, then time. (Comparing a buy's price with a sell's
        // is no order at all: the result then followed the dictionary's own order, which differs from
        // one dictionary to the next.)
        open.sort {
            if $0.side != $1.side { return $0.side == .buy }
            if $0.price != $1.price { return $0.side == .buy ? $0.price > $1.price : $0.price < $1.price }
            return $0.sequence < $1.sequence
        }
        return open
    }

    /// Commands whose time has come, their answers appended to `events`.
    private mutating func advance(to time: Int64, into events: inout [VenueEvent]) {
        now = max(now, time)
        while !due.isEmpty, due[0].time <= now {
            let next = due.removeFirst()
            // Stamped when the venue gets to it: after a silent feed that is later than it was due, and an
            // answer stamped earlier than the request it answers would be taken for a stale one.
            perform(next.action, at: now, into: &events)
        }
    }

    private mutating func perform(_ action: Action, at time: Int64, into events: inout [VenueEvent]) {
        switch action {
        case .place(let request):
            arrive(request, at: time, into: &events)
        case .cancel(let clientId):
            cancel(clientId, at: time, acknowledged: true, into: &events)
        case .cancelAll(let symbol):
            for clientId in resting.values.filter({ symbol == nil || $0.update.symbol == symbol }).sorted(by: { $0.sequence < $1.sequence }).map(\.update.clientId) {
                cancel(clientId, at: time, acknowledged: false, into: &events)
            }
            events.append(.acknowledged(clientId: "", command: .cancelAll))
        case .amend(let clientId, let price, let qty):
            guard let index = resting.index(forKey: clientId) else {
                events.append(.refused(clientId: clientId, command: .amend, reason: "order not found (filled or gone)"))
                return
            }
            var order = resting.values[index]
            if let qty, qty <= order.update.filledQty {
                events.append(.refused(clientId: clientId, command: .amend, reason: "qty \(qty) not above the filled \(order.update.filledQty)"))
                return
            }
            let repriced = price.map { $0 != order.update.price } ?? false
            let grown = qty.map { $0 > order.update.qty } ?? false
            if let price { order.update.price = price }
            if let qty { order.update.qty = qty }
            order.update.updatedTime = time
            // A new price, or more size, goes to the back of the queue; less size keeps its place.
            if repriced || grown {
                sequence += 1
                order.sequence = sequence
                order.queueAhead = shownSize(order.update)
                order.shown = order.queueAhead
                order.traded = .zero
            }
            resting.values[index] = order
            orderedCache = nil
            events.append(.acknowledged(clientId: clientId, command: .amend))
            events.append(.order(order.update))
        }
    }

    /// A cancel landing: the order's last state (and, for a cancel of its own rather than a cancel-all's,
    /// its acknowledgement before it, or its refusal).
    private mutating func cancel(_ clientId: String, at time: Int64, acknowledged: Bool, into events: inout [VenueEvent]) {
        guard var order = resting.removeValue(forKey: clientId) else {
            if acknowledged { events.append(.refused(clientId: clientId, command: .cancel, reason: "order not found (filled or gone)")) }
            return
        }
        orderedCache = nil
        order.update.state = order.update.filledQty.isZero ? .cancelled : .partiallyFilledCanceled
        order.update.cancelType = "CancelByUser"
        order.update.updatedTime = time
        if acknowledged { events.append(.acknowledged(clientId: clientId, command: .cancel)) }
        events.append(.order(order.update))
    }

    private mutating func arrive(_ request: PlaceRequest, at time: Int64, into events: inout [VenueEvent]) {
        guard resting[request.orderLinkId] == nil else {
            events.append(.refused(clientId: request.orderLinkId, command: .place, reason: "duplicate client id"))
            return
        }
        guard let price = request.price, request.type == .limit else {
            events.append(.refused(clientId: request.orderLinkId, command: .place, reason: "paper trading takes limit orders only"))
            return
        }
        let side = request.side.bookSide
        let top = currentTops(request.symbol, side, reaching: price)
        let takes = request.side == .buy ? top?.bestAsk.map { price >= $0 } : top?.bestBid.map { price <= $0 }
        if takes == true, request.timeInForce == .postOnly {
            events.append(.refused(clientId: request.orderLinkId, command: .place, reason: "post-only order would take liquidity"))
            return
        }
        orderCount += 1
        sequence += 1
        let update = OrderUpdate(symbol: request.symbol, orderId: "paper-\(orderCount)", clientId: request.orderLinkId, side: request.side,
                                 orderType: request.type.rawValue, timeInForce: request.timeInForce.rawValue, price: price, qty: request.qty,
                                 filledQty: .zero, averagePrice: nil, state: .new, reduceOnly: request.reduceOnly, rejectReason: "",
                                 cancelType: "", createdTime: time, updatedTime: time)
        if takes == true {
            // A plain limit order that crosses takes at once, at its price.
            resting[request.orderLinkId] = RestingOrder(update: update, queueAhead: .zero, sequence: sequence)
            orderedCache = nil
            events.append(.acknowledged(clientId: request.orderLinkId, command: .place))
            execute(request.orderLinkId, qty: request.qty, time: time, maker: false, into: &events)
            return
        }
        let shown = top?.size(side, at: price) ?? .zero
        resting[request.orderLinkId] = RestingOrder(update: update, queueAhead: shown, sequence: sequence, shown: shown)
        orderedCache = nil
        events.append(.acknowledged(clientId: request.orderLinkId, command: .place))
        events.append(.order(update))
    }

    /// The size shown at the order's price on its side (0 when it improves the touch).
    private mutating func shownSize(_ update: OrderUpdate) -> Quantity {
        let side = update.side.bookSide
        guard let top = currentTops(update.symbol, side, reaching: update.price) else { return .zero }
        return top.size(side, at: update.price)
    }

    private mutating func execute(_ clientId: String, qty: Quantity, time: Int64, maker: Bool = true, into events: inout [VenueEvent]) {
        guard qty > .zero, let index = resting.index(forKey: clientId) else { return }
        var order = resting.values[index]
        executionCount += 1
        let before = order.update.filledQty
        order.update.filledQty = before + qty
        let price = order.update.price
        order.update.averagePrice = price
        order.update.updatedTime = time
        let leaves = order.update.qty - order.update.filledQty
        order.update.state = leaves.isZero ? .filled : .partiallyFilled
        let rate = maker ? configuration.makerFeeRate : configuration.takerFeeRate
        let fee = (price * qty * rate).rounded(toMultipleOf: FixedDecimal(mantissa: 1, scale: 8), .halfEven) ?? .zero
        let fill = Fill(symbol: order.update.symbol, orderId: order.update.orderId, clientId: clientId, executionId: "paper-exec-\(executionCount)",
                        side: order.update.side, price: price, qty: qty, fee: fee, feeRate: rate, isMaker: maker,
                        leavesQty: leaves, closedSize: .zero, time: time)
        if leaves.isZero {
            resting.remove(at: index)
            orderedCache = nil
        } else {
            resting.values[index] = order
        }
        events.append(.fill(fill))
        events.append(.order(order.update))
    }
}
