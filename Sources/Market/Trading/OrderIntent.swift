/// What the strategy wants done with its orders; a venue (paper, backtest, the exchange through the
/// connector) carries it out and answers with its own events. The strategy's whole output.
public enum OrderIntent: Sendable, Equatable {
    /// A new order; `level` is the ladder rung it stands for (0 at the touch).
    case place(PlaceRequest, level: Int)
    /// Move a working order to a new price (it keeps its client id).
    case amend(clientId: String, symbol: String, price: Price)
    case cancel(clientId: String, symbol: String)
    /// Every order of the symbol at once (a halt, a stop).
    case cancelAll(symbol: String, reason: String)

    /// The client id the intent is about (empty for a cancel-all).
    public var clientId: String {
        switch self {
        case .place(let request, _): return request.orderLinkId
        case .amend(let clientId, _, _), .cancel(let clientId, _): return clientId
        case .cancelAll: return ""
        }
    }
}

/// Which kind of order command a venue answers: venue-neutral, the wire's spelling as raw value.
public enum OrderCommandKind: String, Sendable, Hashable {
    case place
    case amend
    case cancel
    case cancelAll = "cancel_all"
}

extension OrderIntent {
    public var kind: OrderCommandKind {
        switch self {
        case .place: return .place
        case .amend: return .amend
        case .cancel: return .cancel
        case .cancelAll: return .cancelAll
        }
    }
}
