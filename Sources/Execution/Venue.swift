import Market

/// What a venue tells the bot about its orders: the same facts whether they come from an exchange
/// through the connector, the paper exchange or the backtest.
public enum VenueEvent: Sendable, Equatable {
    case order(OrderUpdate)
    case fill(Fill)
    case acknowledged(clientId: String, command: OrderCommandKind)
    case refused(clientId: String, command: OrderCommandKind, reason: String)
}

/// Where intents are carried out: the paper exchange on the live feed, the backtest venue on a
/// recording, or (in the shell) the exchange through the connector. The strategy cannot tell them
/// apart: each answers with `VenueEvent`s. Simulated venues match against the market events they are
/// shown; a live venue answers later, from the exchange.
public protocol Venue {
    /// Takes an intent asked at `time`; answers that are already known (a refusal) come back at once.
    mutating func submit(_ intent: OrderIntent, time: Int64) -> [VenueEvent]
    /// A market event at its time: a simulated venue fills and moves queues on it.
    mutating func onMarket(_ event: MarketEvent, time: Int64) -> [VenueEvent]
    /// Time passes without market data (commands whose latency is over land).
    mutating func advance(to time: Int64) -> [VenueEvent]
}

extension PaperExchange: Venue {
    public mutating func submit(_ intent: OrderIntent, time: Int64) -> [VenueEvent] {
        switch intent {
        case .place(let request, _): place(request, time: time)
        case .amend(let clientId, _, let price): amend(clientId: clientId, price: price, qty: nil, time: time)
        case .cancel(let clientId, _): cancel(clientId: clientId, time: time)
        case .cancelAll(let symbol, _): cancelAll(symbol: symbol, time: time)
        }
        return []
    }

    public mutating func onMarket(_ event: MarketEvent, time: Int64) -> [VenueEvent] {
        switch event {
        case .depth(let depth): return onBook(depth.book, symbol: depth.update.symbol, time: time)
        case .trade(let trade):
            return onTrade(trade, time: time)
        case .bookInvalid: return advance(to: time)
        }
    }
}
