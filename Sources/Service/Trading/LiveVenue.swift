import ConnectorWire
import Execution
import Market

/// The exchange account behind the connector as a `Venue`: intents become connector command lines (sent
/// by the trading loop), and the connector's order, fill, ack and error events become venue events. The
/// wire's strings live here and in the connector's codec, nowhere in the decision.
struct LiveVenue: Venue {
    let runId: String
    private var outbox: [String] = []
    /// The last command sent for each of our client ids: an error event names the id, not the command.
    private var lastCommand: [String: OrderCommandKind] = [:]
    private var commands = 0

    init(runId: String) {
        self.runId = runId
    }

    mutating func submit(_ intent: OrderIntent, time: Int64) -> [VenueEvent] {
        switch intent {
        case .place(let request, _):
            lastCommand[request.orderLinkId] = .place
            outbox.append(ConnectorCommand.place(id: request.orderLinkId, order: request).line)
        case .amend(let clientId, let symbol, let price):
            lastCommand[clientId] = .amend
            outbox.append(ConnectorCommand.amend(id: clientId, symbol: symbol, clientId: clientId, qty: nil, price: price).line)
        case .cancel(let clientId, let symbol):
            lastCommand[clientId] = .cancel
            outbox.append(ConnectorCommand.cancel(id: clientId, symbol: symbol, clientId: clientId).line)
        case .cancelAll(let symbol, _):
            commands += 1
            outbox.append(ConnectorCommand.cancelAll(id: "cancel-all-\(runId)-\(commands)", symbol: symbol).line)
        }
        return []
    }

    /// A cancel of an order this bot did not send (a foreign one), by its client id.
    mutating func cancelForeign(clientId: String, symbol: String) {
        outbox.append(ConnectorCommand.cancel(id: "foreign-\(clientId)", symbol: symbol, clientId: clientId).line)
    }

    func onMarket(_ event: MarketEvent, time: Int64) -> [VenueEvent] { [] }

    func advance(to time: Int64) -> [VenueEvent] { [] }

    /// The command lines to send now, in order.
    mutating func drain() -> [String] {
        defer { outbox.removeAll() }
        return outbox
    }

    /// The connector's answer as venue events (none for events that are not about our orders).
    func translate(_ event: ConnectorEvent) -> [VenueEvent] {
        switch event {
        case .order(let update): return [.order(update)]
        case .fill(let fill): return [.fill(fill)]
        case .ack(let id, let command):
            // Acks of other commands (subscribe, instrument, …) are not about orders.
            guard let kind = OrderCommandKind(rawValue: command) else { return [] }
            return [.acknowledged(clientId: id, command: kind)]
        case .error(let failure):
            guard let clientId = failure.clientId ?? failure.id, let command = lastCommand[clientId] else { return [] }
            return [.refused(clientId: clientId, command: command, reason: "\(failure.code): \(failure.message)")]
        default: return []
        }
    }

    /// Commands of orders the account has forgotten leave memory too.
    mutating func forget(keeping: (String) -> Bool) {
        lastCommand = lastCommand.filter { keeping($0.key) }
    }
}
