import Market

/// Every order the bot sent, its state machine, and the executions already counted:
///
///     pending_new → new → partially_filled → filled
///     new / partially_filled → pending_cancel → cancelled   (a fill during the cancel still counts;
///                                                             `Filled` wins over the cancel)
///     pending_new → rejected;   any live state → unknown → (the venue's truth)
///
/// Terminal states never go back; the filled quantity only grows; an execution id is counted once;
/// an update older than the last applied one is ignored. Pure.
public struct OrderTracker: Sendable {
    public enum Change: Sendable, Equatable {
        case updated(TrackedOrder)
        /// The venue reported an order this tracker never sent (left from an earlier run, or placed by hand).
        case foreign(OrderUpdate)
        case ignored(Ignored)
    }

    /// Why an update changed nothing, spelled out when it is read: a fill's last update meets an order the
    /// fill already closed, and a backtest met thousands of them.
    public enum Ignored: Sendable, Equatable, CustomStringConvertible {
        /// The order is already terminal (its filled quantity may still have grown).
        case terminal(clientId: String, status: OrderStatus)
        /// Older than the last update applied.
        case older(clientId: String)

        public var description: String {
            switch self {
            case .terminal(let clientId, let status): return "\(clientId) is already \(status.rawValue)"
            case .older(let clientId): return "an older update for \(clientId)"
            }
        }
    }

    public enum FillOutcome: Sendable, Equatable {
        case counted(TrackedOrder?)
        case duplicate
    }

    public private(set) var orders: [String: TrackedOrder] = [:]
    /// The live orders, in the order they went live: `live` reads these few instead of every order kept
    /// (terminal ones stay a minute for late reports), and without looking each up by its client id.
    private var liveOrders: [TrackedOrder] = []
    private var executions: Set<String> = []
    /// The counted execution ids in order, `executionOrder[forgotten...]` still in `executions`: the oldest
    /// are forgotten by moving the head, and cut off in bulk (not a shift of them all per fill).
    private var executionOrder: [String] = []
    private var forgotten = 0
    private let rememberedExecutions: Int

    public init(rememberedExecutions: Int = 100_000) {
        self.rememberedExecutions = rememberedExecutions
    }

    public subscript(clientId: String) -> TrackedOrder? { orders[clientId] }

    /// Live orders, optionally of one side (and symbol).
    public func live(side: Side? = nil, symbol: String? = nil) -> [TrackedOrder] {
        var live: [TrackedOrder] = []
        live.reserveCapacity(liveOrders.count)
        for order in liveOrders where (side == nil || order.side == side) && (symbol == nil || order.symbol == symbol) {
            live.append(order)
        }
        // Sent in time order already, unless a client id was sent again; a stable sort keeps the sending order on ties.
        if !live.isEmpty, zip(live, live.dropFirst()).contains(where: { $0.createdTime > $1.createdTime }) {
            live = live.enumerated().sorted { ($0.element.createdTime, $0.offset) < ($1.element.createdTime, $1.offset) }.map(\.element)
        }
        return live
    }

    /// Each live order (of `symbol`), in the order they went live, without collecting them into an array.
    public func forEachLive(symbol: String? = nil, _ body: (TrackedOrder) -> Void) {
        for order in liveOrders where symbol == nil || order.symbol == symbol { body(order) }
    }

    /// Every write of an order goes through here, which keeps `liveOrders` in step with `orders`. `index`:
    /// where `found` had it (written in place, its client id not hashed a second time).
    private mutating func store(_ order: TrackedOrder, at index: [String: TrackedOrder].Index? = nil) {
        if let index { orders.values[index] = order } else { orders[order.clientId] = order }
        if let index = liveOrders.firstIndex(where: { $0.clientId == order.clientId }) {
            if order.isLive { liveOrders[index] = order } else { liveOrders.remove(at: index) }
        } else if order.isLive {
            liveOrders.append(order)
        }
    }

    /// A stored order and where it is.
    private func found(_ clientId: String) -> (index: [String: TrackedOrder].Index, order: TrackedOrder)? {
        guard let index = orders.index(forKey: clientId) else { return nil }
        return (index, orders.values[index])
    }

    /// Before the request goes out (its client id is already stored).
    @discardableResult
    public mutating func submitted(_ request: PlaceRequest, time: Int64) -> TrackedOrder {
        let order = TrackedOrder(clientId: request.orderLinkId, symbol: request.symbol, side: request.side, price: request.price ?? .zero,
                                 qty: request.qty, status: .pendingNew, createdTime: time, updatedTime: time)
        store(order)
        return order
    }

    /// A cancel is going out: false when there is nothing live to cancel.
    public mutating func cancelRequested(_ clientId: String, time: Int64) -> Bool {
        guard case (let index, var order)? = found(clientId), order.isLive else { return false }
        if order.status != .unknown { order.status = .pendingCancel }
        order.updatedTime = time
        store(order, at: index)
        return true
    }

    public mutating func amendRequested(_ clientId: String, price: Price?, qty: Quantity?, time: Int64) -> Bool {
        guard case (let index, var order)? = found(clientId), order.status == .new || order.status == .partiallyFilled else { return false }
        order.pendingAmend = (price, qty)
        order.updatedTime = time
        store(order, at: index)
        return true
    }

    /// The venue accepted the command (`ack`): a placed order is working unless already further on.
    public mutating func acknowledged(_ clientId: String, command: OrderCommandKind, time: Int64) -> TrackedOrder? {
        guard case (let index, var order)? = found(clientId) else { return nil }
        switch command {
        case .place where order.status == .pendingNew:
            order.status = .new
        case .amend:
            if let amend = order.pendingAmend {
                if let price = amend.price { order.price = price }
                if let qty = amend.qty { order.qty = qty }
                order.pendingAmend = nil
            }
        default:
            return order
        }
        order.updatedTime = time
        store(order, at: index)
        return order
    }

    /// The venue refused a command for this order.
    public mutating func refused(_ clientId: String, command: OrderCommandKind, reason: String, time: Int64) -> TrackedOrder? {
        guard case (let index, var order)? = found(clientId) else { return nil }
        switch command {
        case .place where order.status == .pendingNew || order.status == .unknown:
            order.status = .rejected
        case .place where order.status == .pendingCancel && order.exchangeOrderId == nil && order.venueTime == 0:
            // A cancel went out before the placement was answered, and the placement was refused: the order
            // never existed, so nothing will ever answer the cancel (it stayed pending_cancel for good).
            order.status = .rejected
        case .cancel where order.status == .pendingCancel:
            // The order is no longer there to cancel (filled or gone): the venue's update will say which.
            break
        case .amend:
            order.pendingAmend = nil
        default:
            break
        }
        order.reason = reason
        order.updatedTime = time
        store(order, at: index)
        return order
    }

    /// Sent, no answer: only the venue's truth resolves it.
    public mutating func markUnknown(_ clientId: String, reason: String, time: Int64) -> TrackedOrder? {
        guard case (let index, var order)? = found(clientId), order.isLive else { return nil }
        order.status = .unknown
        order.reason = reason
        order.updatedTime = time
        store(order, at: index)
        return order
    }

    /// The venue's view of an order (stream update or reconciliation).
    public mutating func apply(_ update: OrderUpdate, time: Int64) -> Change {
        guard case (let index, var order)? = found(update.clientId) else { return .foreign(update) }
        if order.status.isTerminal {
            // Terminal stays terminal; a later report may still carry a larger filled quantity (stored only then:
            // a fill's own closing update, the common case, changes nothing).
            if update.filledQty > order.filledQty {
                order.filledQty = update.filledQty
                order.averagePrice = update.averagePrice ?? order.averagePrice
                store(order, at: index)
            }
            return .ignored(.terminal(clientId: order.clientId, status: order.status))
        }
        if update.updatedTime > 0, update.updatedTime < order.venueTime {
            return .ignored(.older(clientId: order.clientId))
        }
        order.venueTime = max(order.venueTime, update.updatedTime)
        order.exchangeOrderId = update.orderId.isEmpty ? order.exchangeOrderId : update.orderId
        if update.filledQty > order.filledQty { order.filledQty = update.filledQty }
        order.averagePrice = update.averagePrice ?? order.averagePrice
        if update.price > .zero { order.price = update.price }
        if update.qty > .zero { order.qty = update.qty }
        switch update.state {
        case .filled:
            order.status = .filled
        case .cancelled, .partiallyFilledCanceled, .deactivated:
            order.status = .cancelled
            order.reason = update.cancelType
        case .rejected:
            order.status = .rejected
            order.reason = update.rejectReason
        case .new, .untriggered, .triggered, .partiallyFilled:
            // A cancel in flight stays pending; otherwise the fill state says which.
            if order.status != .pendingCancel { order.status = order.filledQty > .zero ? .partiallyFilled : .new }
            if let amend = order.pendingAmend, (amend.price == nil || amend.price == update.price), (amend.qty == nil || amend.qty == update.qty) {
                order.pendingAmend = nil
            }
        }
        order.updatedTime = max(order.updatedTime, update.updatedTime)
        store(order, at: index)
        return .updated(order)
    }

    /// An execution: counted once per id. The order's filled quantity follows the larger of the
    /// executions and the venue's own report.
    public mutating func apply(_ fill: Fill) -> FillOutcome {
        guard executions.insert(fill.executionId).inserted else { return .duplicate }
        executionOrder.append(fill.executionId)
        if executionOrder.count - forgotten > rememberedExecutions {
            executions.remove(executionOrder[forgotten])
            forgotten += 1
            if forgotten > rememberedExecutions / 2 {
                executionOrder.removeFirst(forgotten)
                forgotten = 0
            }
        }
        guard case (let index, var order)? = found(fill.clientId) else { return .counted(nil) }
        let filled = order.qty - fill.leavesQty
        if fill.leavesQty.isZero || filled > order.filledQty {
            order.filledQty = max(order.filledQty, fill.leavesQty.isZero ? order.qty : filled)
        }
        if !order.status.isTerminal {
            if order.filledQty >= order.qty { order.status = .filled }
            else if order.status == .new || order.status == .pendingNew { order.status = .partiallyFilled }
        }
        order.updatedTime = max(order.updatedTime, fill.time)
        store(order, at: index)
        return .counted(order)
    }

    /// Forgets terminal orders older than `before` (the store keeps them).
    public mutating func prune(before: Int64) {
        // Removed in place: a filtered copy would be sized to what is left, and grow again by rehashing.
        let old = orders.compactMap { $0.value.status.isTerminal && $0.value.updatedTime < before ? $0.key : nil }
        for clientId in old { orders.removeValue(forKey: clientId) }
    }
}
