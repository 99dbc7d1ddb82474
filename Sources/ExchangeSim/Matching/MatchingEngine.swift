import Market

/// The simulator's exchange core: one price-time-priority book per symbol, the accounts that trade
/// on it, and the market flow that trades against them — account orders rest in the same book the
/// public stream publishes. Pure and deterministic: time comes in with each call, ids come from a
/// seeded counter, so the same calls give the same results.
public struct MatchingEngine: Sendable {
    public private(set) var instruments: [String: Instrument] = [:]
    public private(set) var accounts: [String: SimAccount] = [:]
    /// Orders by id: every open order, and the most recent closed account orders.
    public private(set) var orders: [String: SimOrder] = [:]
    private var books: [String: SimBook] = [:]
    /// Every `orderLinkId` an account has used (a retried submit must not make a second order).
    private var linkIds: [String: [String: String]] = [:]
    private var closedAccountOrders: [String] = []
    private var idCounter: UInt64 = 0
    private let idSeed: UInt64

    /// Closed account orders kept for queries; older ones are forgotten.
    public let closedOrderHistory: Int
    /// Decimals of average prices beyond the tick's.
    static let averagePriceExtraDecimals: UInt8 = 4
    /// Fees are rounded to this many decimals.
    static let feeScale: UInt8 = 8

    public init(instruments: [Instrument], seed: UInt64 = 1, closedOrderHistory: Int = 10_000) {
        for instrument in instruments {
            self.instruments[instrument.symbol] = instrument
            books[instrument.symbol] = SimBook(instrument: instrument)
        }
        idSeed = seed
        self.closedOrderHistory = closedOrderHistory
    }

    public mutating func addAccount(_ account: SimAccount) {
        accounts[account.apiKey] = account
    }

    // MARK: Queries

    /// Aggregated levels of one side, best first.
    public func depth(_ symbol: String, side: Side, limit: Int) -> [PriceLevel] {
        books[symbol]?.depth(side, limit: limit) ?? []
    }

    public func openOrders(apiKey: String, symbol: String? = nil) -> [SimOrder] {
        orders.values
            .filter { $0.owner == .account(apiKey) && $0.status.isOpen && (symbol == nil || $0.symbol == symbol) }
            .sorted { $0.createdTime != $1.createdTime ? $0.createdTime > $1.createdTime : $0.orderId > $1.orderId }
    }

    public func order(_ reference: OrderReference, apiKey: String) -> SimOrder? {
        switch reference {
        case .orderId(let id):
            guard let order = orders[id], order.owner == .account(apiKey) else { return nil }
            return order
        case .orderLinkId(let link):
            return linkIds[apiKey]?[link].flatMap { orders[$0] }
        }
    }

    // MARK: Orders

    /// Places an order for `owner`. Validation failures throw with Bybit's retCode; an accepted
    /// order may still end `Cancelled` at once (PostOnly that would take, FOK that cannot fill).
    public mutating func place(_ request: PlaceRequest, owner: OrderOwner, now: Int64) throws(SimError) -> (SimOrder, EngineEvents) {
        guard let instrument = instruments[request.symbol], let book = books[request.symbol] else {
            throw .parameter("params error: symbol \(request.symbol) invalid")
        }
        var qty = request.qty
        if request.orderLinkId.utf8.count > 36 { throw .parameter("orderLinkId is longer than 36 characters") }
        guard qty.signum > 0 else { throw .parameter("qty must be positive") }
        guard instrument.qtyStep.isZero || qty.rounded(toMultipleOf: instrument.qtyStep, .down) == qty else {
            throw .parameter("Qty invalid: \(qty) is not a multiple of qtyStep \(instrument.qtyStep)")
        }
        var limitTicks: Int64?
        switch request.type {
        case .limit:
            guard let price = request.price else { throw .parameter("price is required for a Limit order") }
            guard let ticks = book.ticks(price) else {
                throw .parameter("Price invalid: \(price) is not a positive multiple of tickSize \(instrument.tickSize)")
            }
            limitTicks = ticks
        case .market:
            guard request.timeInForce != .postOnly else { throw .parameter("Market order cannot be PostOnly") }
        }
        if case .account(let apiKey) = owner {
            guard accounts[apiKey] != nil else { throw SimError(10003, "API key is invalid.") }
            if !request.orderLinkId.isEmpty, linkIds[apiKey]?[request.orderLinkId] != nil { throw .duplicateLinkId }
            if request.reduceOnly {
                let position = accounts[apiKey]!.position(request.symbol).size
                let reduces = request.side == .buy ? position.isNegative : position.signum > 0
                guard reduces else { throw .qtyTruncatedToZero }
                qty = Swift.min(qty, abs(position))
            }
            guard qty >= instrument.minQty else { throw .qtyTruncatedToZero }
            if !request.reduceOnly {
                let reference = request.price ?? bestPrice(book, opposite: request.side) ?? .zero
                try checkMargin(apiKey: apiKey, notional: reference * qty)
            }
        }

        var order = SimOrder(
            orderId: nextId(), orderLinkId: request.orderLinkId, owner: owner, symbol: request.symbol,
            side: request.side, type: request.type, timeInForce: request.type == .market ? .ioc : request.timeInForce,
            price: request.price ?? .zero, qty: qty, reduceOnly: request.reduceOnly, createdTime: now, updatedTime: now
        )
        if case .account(let apiKey) = owner, !order.orderLinkId.isEmpty {
            linkIds[apiKey, default: [:]][order.orderLinkId] = order.orderId
        }
        var events = EngineEvents()
        let opposite = order.side.opposite
        let crosses = book.best(opposite).map { best in
            guard let limitTicks else { return true }
            return order.side == .buy ? best.ticks <= limitTicks : best.ticks >= limitTicks
        } ?? false

        if order.timeInForce == .postOnly && crosses {
            order.status = .cancelled
            order.rejectReason = "EC_PostOnlyWillTakeLiquidity"
            order.cancelType = "UNKNOWN"
        } else if order.timeInForce == .fok && book.available(opposite, upTo: limitTicks) < order.qty {
            order.status = .cancelled
            order.rejectReason = "EC_CancelForNoFullFill"
        } else {
            match(&order, limitTicks: limitTicks, now: now, events: &events)
            if !order.leavesQty.isZero && order.status.isOpen {
                if let limitTicks, order.timeInForce == .gtc || order.timeInForce == .postOnly {
                    books[request.symbol]!.rest(orderId: order.orderId, side: order.side, ticks: limitTicks, qty: order.leavesQty)
                } else {
                    order.status = order.filledQty.isZero ? .cancelled : .partiallyFilledCanceled
                    if order.filledQty.isZero { order.rejectReason = "EC_NoImmediateQtyToFill" }
                }
            }
        }
        order.updatedTime = now
        record(order)
        events.orders.append(order)
        if case .account(let apiKey) = owner { events.touchedAccounts.insert(apiKey) }
        return (order, events)
    }

    /// Changes an open order's quantity and/or price. A new price, or a larger quantity, sends it to
    /// the back of the queue; a smaller quantity keeps its place.
    public mutating func amend(_ reference: OrderReference, apiKey: String, qty newQty: Quantity?, price newPrice: Price?,
                               now: Int64) throws(SimError) -> (SimOrder, EngineEvents) {
        guard var order = order(reference, apiKey: apiKey), order.status.isOpen else { throw .orderNotFound }
        guard var book = books[order.symbol], let instrument = instruments[order.symbol] else { throw .orderNotFound }
        guard newQty != nil || newPrice != nil else { throw .parameter("amend needs qty or price") }
        let oldTicks = book.ticks(order.price)!
        var ticks = oldTicks
        if let newPrice {
            guard let newTicks = book.ticks(newPrice) else {
                throw .parameter("Price invalid: \(newPrice) is not a positive multiple of tickSize \(instrument.tickSize)")
            }
            ticks = newTicks
        }
        let qty = newQty ?? order.qty
        guard instrument.qtyStep.isZero || qty.rounded(toMultipleOf: instrument.qtyStep, .down) == qty, qty > order.filledQty else {
            throw .parameter("Qty invalid: \(qty) must be a multiple of qtyStep above the filled \(order.filledQty)")
        }
        if let best = book.best(order.side.opposite), ticks != oldTicks,
           order.side == .buy ? best.ticks <= ticks : best.ticks >= ticks {
            // Bybit rejects an amend that would make a resting order take liquidity.
            throw SimError(110079, "amended price would take liquidity")
        }
        let keepsPlace = ticks == oldTicks && qty <= order.qty
        if keepsPlace {
            book.reduce(orderId: order.orderId, side: order.side, ticks: ticks, by: order.qty - qty, removeOrder: false)
        } else {
            book.reduce(orderId: order.orderId, side: order.side, ticks: oldTicks, by: order.leavesQty, removeOrder: true)
        }
        order.qty = qty
        order.price = book.price(ofTicks: ticks)
        order.updatedTime = now
        if !keepsPlace { book.rest(orderId: order.orderId, side: order.side, ticks: ticks, qty: order.leavesQty) }
        books[order.symbol] = book
        record(order)
        var events = EngineEvents()
        events.orders.append(order)
        events.touchedAccounts.insert(apiKey)
        return (order, events)
    }

    public mutating func cancel(_ reference: OrderReference, apiKey: String, now: Int64) throws(SimError) -> (SimOrder, EngineEvents) {
        guard let order = order(reference, apiKey: apiKey), order.status.isOpen else { throw .orderNotFound }
        let cancelled = cancelResting(order.orderId, cancelType: "CancelByUser", now: now)
        var events = EngineEvents()
        events.orders.append(cancelled)
        events.touchedAccounts.insert(apiKey)
        return (cancelled, events)
    }

    /// Cancels every open order of the account (on one symbol, or all).
    public mutating func cancelAll(apiKey: String, symbol: String?, now: Int64, cancelType: String = "CancelByUser") -> EngineEvents {
        var events = EngineEvents()
        for order in openOrders(apiKey: apiKey, symbol: symbol).reversed() {
            events.orders.append(cancelResting(order.orderId, cancelType: cancelType, now: now))
        }
        if !events.orders.isEmpty { events.touchedAccounts.insert(apiKey) }
        return events
    }

    /// Cancels a resting flow order (the market flow withdrawing liquidity); unknown ids are ignored.
    public mutating func cancelFlowOrder(_ orderId: String, now: Int64) {
        guard let order = orders[orderId], order.owner == .flow, order.status.isOpen else { return }
        _ = cancelResting(orderId, cancelType: "CancelByUser", now: now)
    }

    /// Ids of the flow's resting orders on `symbol`.
    public func flowOrderIds(symbol: String) -> [String] {
        orders.values.filter { $0.owner == .flow && $0.symbol == symbol && $0.status.isOpen }.map(\.orderId).sorted()
    }

    // MARK: Internals

    private mutating func cancelResting(_ orderId: String, cancelType: String, now: Int64) -> SimOrder {
        var order = orders[orderId]!
        var book = books[order.symbol]!
        book.reduce(orderId: orderId, side: order.side, ticks: book.ticks(order.price)!, by: order.leavesQty, removeOrder: true)
        books[order.symbol] = book
        order.status = order.filledQty.isZero ? .cancelled : .partiallyFilledCanceled
        order.cancelType = cancelType
        order.updatedTime = now
        record(order)
        return order
    }

    private func bestPrice(_ book: SimBook, opposite side: Side) -> Price? {
        book.best(side.opposite).map { book.price(ofTicks: $0.ticks) }
    }

    /// Initial margin of positions and open orders at the account's leverage must fit the wallet.
    private func checkMargin(apiKey: String, notional: FixedDecimal) throws(SimError) {
        let account = accounts[apiKey]!
        var used = FixedDecimal.zero
        for position in account.positions.values { used += position.averageEntryPrice * abs(position.size) }
        for order in openOrders(apiKey: apiKey) { used += order.price * order.leavesQty }
        let required = (used + notional).divided(by: account.leverage, scale: 8, rounding: .up) ?? .zero
        if required > account.walletBalance { throw .insufficientBalance }
    }

    /// Fills `taker` against the opposite side while it crosses, on the stored book in place.
    private mutating func match(_ taker: inout SimOrder, limitTicks: Int64?, now: Int64, events: inout EngineEvents) {
        let opposite = taker.side.opposite
        let symbol = taker.symbol
        while !taker.leavesQty.isZero, let best = books[symbol]!.best(opposite) {
            if let limitTicks, taker.side == .buy ? best.ticks > limitTicks : best.ticks < limitTicks { break }
            let price = books[symbol]!.price(ofTicks: best.ticks)
            var progressed = false
            for makerId in best.orderIds where !taker.leavesQty.isZero {
                var maker = orders[makerId]!
                if maker.reduceOnly && reducibleQty(maker).isZero {
                    // Its position is gone: Bybit cancels a reduce-only order that can no longer reduce.
                    events.orders.append(cancelResting(makerId, cancelType: "CancelByReduceOnly", now: now))
                    progressed = true
                    continue
                }
                var qty = Swift.min(taker.leavesQty, maker.leavesQty)
                if maker.reduceOnly { qty = Swift.min(qty, reducibleQty(maker)) }
                if taker.reduceOnly { qty = Swift.min(qty, reducibleQty(taker)) }
                if qty.isZero { break }
                fill(&maker, qty: qty, price: price, isMaker: true, now: now, events: &events)
                fill(&taker, qty: qty, price: price, isMaker: false, now: now, events: &events)
                books[symbol]!.reduce(orderId: makerId, side: opposite, ticks: best.ticks, by: qty, removeOrder: maker.leavesQty.isZero)
                record(maker)
                events.orders.append(maker)
                events.trades.append(SimTrade(tradeId: nextId(), symbol: symbol, side: taker.side,
                                              price: price, qty: qty, time: now))
                progressed = true
            }
            if !progressed || (taker.reduceOnly && reducibleQty(taker).isZero) { break }
        }
        if taker.type == .market, let last = events.trades.last { taker.price = last.price }
    }

    private func reducibleQty(_ order: SimOrder) -> Quantity {
        guard case .account(let apiKey) = order.owner, let account = accounts[apiKey] else { return order.leavesQty }
        let size = account.position(order.symbol).size
        let reduces = order.side == .buy ? size.isNegative : size.signum > 0
        return reduces ? abs(size) : .zero
    }

    private mutating func fill(_ order: inout SimOrder, qty: Quantity, price: Price, isMaker: Bool, now: Int64, events: inout EngineEvents) {
        order.filledQty += qty
        order.filledValue += price * qty
        order.status = order.leavesQty.isZero ? .filled : .partiallyFilled
        order.updatedTime = now
        guard case .account(let apiKey) = order.owner, var account = accounts[apiKey], let instrument = instruments[order.symbol] else { return }
        let rate = isMaker ? account.makerFeeRate : account.takerFeeRate
        let fee = (price * qty).multipliedReportingOverflow(by: rate)?
            .divided(by: FixedDecimal(1), scale: MatchingEngine.feeScale, rounding: .halfEven) ?? .zero
        order.fees += fee
        let before = account.position(order.symbol)
        let closed = account.applyFill(symbol: order.symbol, side: order.side, price: price, qty: qty, fee: fee,
                                       priceScale: instrument.tickSize.scale + MatchingEngine.averagePriceExtraDecimals, time: now)
        accounts[apiKey] = account
        events.touchedAccounts.insert(apiKey)
        let fill = Fill(symbol: order.symbol, orderId: order.orderId, clientId: order.orderLinkId, executionId: nextId(), side: order.side,
                        price: price, qty: qty, fee: fee, feeRate: rate, isMaker: isMaker, leavesQty: order.leavesQty,
                        closedSize: closed, time: now)
        events.executions.append(SimExecution(fill: fill, owner: order.owner, orderType: order.type, orderQty: order.qty,
                                              closedPnl: account.position(order.symbol).realisedPnl - before.realisedPnl,
                                              entryPrice: before.averageEntryPrice))
    }

    /// Stores an order; forgets closed flow orders at once and old closed account orders by age.
    private mutating func record(_ order: SimOrder) {
        if order.status.isOpen {
            orders[order.orderId] = order
            return
        }
        if order.owner == .flow {
            orders[order.orderId] = nil
            return
        }
        if orders[order.orderId]?.status.isOpen != false { closedAccountOrders.append(order.orderId) }
        orders[order.orderId] = order
        if closedAccountOrders.count > closedOrderHistory {
            let evicted = closedAccountOrders.removeFirst()
            orders[evicted] = nil
        }
    }

    /// A UUID-shaped id from a seeded counter: unique (the low half is the counter), reproducible.
    private mutating func nextId() -> String {
        idCounter &+= 1
        var random = SeededRandom(seed: idSeed &+ idCounter &* 0x9E37_79B9_7F4A_7C15)
        let high = random.next()
        let low = idCounter
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        return "\(hex(high >> 32, 8))-\(hex((high >> 16) & 0xFFFF, 4))-\(hex(high & 0xFFFF, 4))-\(hex(low >> 48, 4))-\(hex(low & 0xFFFF_FFFF_FFFF, 12))"
    }
}
