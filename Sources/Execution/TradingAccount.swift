import Market

/// The bot's books of one symbol on one venue: every order it sent (the tracker's state machine) and
/// the position and PnL its fills made (the ledger). Intents are entered before they go to the venue,
/// the venue's answers after; each step comes back as records for the shell to store, count and log.
/// Writes nothing. Pure: the caller passes the time.
public struct TradingAccount: Sendable {
    /// One step of the books, as the shell stores and reports it.
    public enum Record: Sendable, Equatable {
        /// The order as it stands after `step` (`submitted`, `amend_requested`, `cancel_requested`,
        /// `acknowledged`, `refused`, `update`, `fill`, `unknown`, `reconciled`, `adopted`).
        case order(TrackedOrder, step: String, detail: Detail)
        /// An execution counted once (duplicates are dropped).
        case fill(Fill)
        /// A round trip closed with this PnL (net of its fees).
        case roundTrip(pnl: FixedDecimal)
        /// The venue refused or rejected an order of ours.
        case rejected(TrackedOrder)
        /// The venue reports an open order this account never sent.
        case foreign(OrderUpdate)

        /// What a step adds to an order's record, spelled out when it is read (`description`): the shell
        /// stores it; a backtest reads none, and formatting the numbers of each of its thousands of fills
        /// and amends was a part of its time.
        public enum Detail: Sendable, Equatable, CustomStringConvertible {
            case text(String)
            case amend(price: Price)
            case fill(executionId: String, qty: Quantity, price: Price)
            case refused(command: String, reason: String)

            public var description: String {
                switch self {
                case .text(let text): return text
                case .amend(let price): return "price \(price)"
                case .fill(let executionId, let qty, let price): return "\(executionId): \(qty) @ \(price)"
                case .refused(let command, let reason): return "\(command): \(reason)"
                }
            }
        }
    }

    /// Which records a step returns: all of them (the shell stores each), or only its outcomes — fills,
    /// round trips, rejections, foreign orders — without the order records, which a backtest never reads
    /// (tens of thousands of copies of the order, each with its strings retained).
    public enum Keep: Sendable {
        case all
        case outcomes
    }

    public let symbol: String
    public private(set) var tracker = OrderTracker()
    public private(set) var ledger = PositionLedger()

    public init(symbol: String) {
        self.symbol = symbol
    }

    /// Live orders of the symbol, oldest first.
    public var live: [TrackedOrder] { tracker.live(symbol: symbol) }

    public subscript(clientId: String) -> TrackedOrder? { tracker[clientId] }

    // MARK: Intents, before they go out

    /// Enters an intent; false when there is nothing to send (the order is no longer there to amend or cancel).
    public mutating func enter(_ intent: OrderIntent, time: Int64, keep: Keep = .all) -> (send: Bool, records: [Record]) {
        // Every record an intent makes is an order record.
        let all = keep == .all
        switch intent {
        case .place(let request, _):
            let order = tracker.submitted(request, time: time)
            return (true, all ? [.order(order, step: "submitted", detail: .text(""))] : [])
        case .amend(let clientId, _, let price):
            guard tracker.amendRequested(clientId, price: price, qty: nil, time: time) else { return (false, []) }
            guard all, let order = tracker[clientId] else { return (true, []) }
            return (true, [.order(order, step: "amend_requested", detail: .amend(price: price))])
        case .cancel(let clientId, _):
            guard tracker.cancelRequested(clientId, time: time) else { return (false, []) }
            guard all, let order = tracker[clientId] else { return (true, []) }
            return (true, [.order(order, step: "cancel_requested", detail: .text(""))])
        case .cancelAll(let symbol, let reason):
            var records: [Record] = []
            for order in tracker.live(symbol: symbol) where tracker.cancelRequested(order.clientId, time: time) {
                if all { records.append(.order(tracker[order.clientId]!, step: "cancel_requested", detail: .text(reason))) }
            }
            return (true, records)
        }
    }

    // MARK: The venue's answers

    public mutating func apply(_ events: [VenueEvent], time: Int64, keep: Keep = .all) -> [Record] {
        var records: [Record] = []
        let all = keep == .all
        for event in events {
            switch event {
            case .order(let update):
                switch tracker.apply(update, time: time) {
                case .updated(let order):
                    if all { records.append(.order(order, step: "update", detail: .text(update.state.rawValue))) }
                    if order.status == .rejected { records.append(.rejected(order)) }
                case .foreign(let update) where update.state.isOpen:
                    records.append(.foreign(update))
                case .foreign, .ignored:
                    break
                }
            case .fill(let fill):
                guard case .counted(let filled) = tracker.apply(fill) else { continue }
                if all, let filled { records.append(.order(filled, step: "fill", detail: .fill(executionId: fill.executionId, qty: fill.qty, price: fill.price))) }
                records.append(.fill(fill))
                if let trip = ledger.apply(fill) { records.append(.roundTrip(pnl: trip)) }
            case .acknowledged(let clientId, let command):
                if let order = tracker.acknowledged(clientId, command: command, time: time), all {
                    records.append(.order(order, step: "acknowledged", detail: .text(command.rawValue)))
                }
            case .refused(let clientId, let command, let reason):
                guard let order = tracker.refused(clientId, command: command, reason: reason, time: time) else { continue }
                if all { records.append(.order(order, step: "refused", detail: .refused(command: command.rawValue, reason: reason))) }
                if order.status == .rejected { records.append(.rejected(order)) }
            }
        }
        return records
    }

    // MARK: Reconciliation (live venues)

    /// Takes over an open order found on the venue (`strategy.adopt_orders`).
    public mutating func adopt(_ order: OrderUpdate, time: Int64) -> [Record] {
        let request = PlaceRequest(symbol: order.symbol, side: order.side, type: .limit, qty: order.qty, price: order.price,
                                   timeInForce: .postOnly, orderLinkId: order.clientId)
        tracker.submitted(request, time: time)
        _ = tracker.apply(order, time: time)
        return tracker[order.clientId].map { [.order($0, step: "adopted", detail: .text(order.orderId))] } ?? []
    }

    /// Sent, no answer: only the venue's truth resolves it.
    public mutating func markUnknown(_ clientId: String, reason: String, time: Int64) -> [Record] {
        tracker.markUnknown(clientId, reason: reason, time: time).map { [.order($0, step: "unknown", detail: .text(reason))] } ?? []
    }

    /// After the venue's account reconciliation: live orders it did not list (other than ones still being
    /// placed) are no longer open; a fill shows in the position that came with it.
    public mutating func reconcile(listed: Set<String>, time: Int64) -> [Record] {
        var records: [Record] = []
        for order in tracker.live(symbol: symbol) where !listed.contains(order.clientId) && order.status != .pendingNew {
            let update = OrderUpdate(symbol: symbol, orderId: order.exchangeOrderId ?? "", clientId: order.clientId, side: order.side,
                                     orderType: OrderType.limit.rawValue, timeInForce: TimeInForce.postOnly.rawValue, price: order.price,
                                     qty: order.qty, filledQty: order.filledQty, averagePrice: order.averagePrice, state: .cancelled,
                                     reduceOnly: false, rejectReason: "", cancelType: "not open at reconciliation",
                                     createdTime: order.createdTime, updatedTime: time)
            if case .updated(let closed) = tracker.apply(update, time: time) {
                records.append(.order(closed, step: "reconciled", detail: .text("not open at reconciliation")))
            }
        }
        return records
    }

    /// The venue's position replaces ours when they differ; true when it did.
    public mutating func takePosition(_ size: Quantity, entry: Price?) -> Bool {
        guard ledger.position != size else { return false }
        ledger = PositionLedger(position: size, averageEntry: entry)
        return true
    }

    /// Terminal orders updated before `before` leave memory (the store keeps them); live ones stay.
    public mutating func prune(before: Int64) {
        tracker.prune(before: before)
    }
}
