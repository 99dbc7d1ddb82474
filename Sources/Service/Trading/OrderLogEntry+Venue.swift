import Execution
import Market
import Storage

/// The order log's lines for what the trading loop sends and hears.
extension OrderLogEntry {
    init(_ intent: OrderIntent, time: Int64) {
        switch intent {
        case .place(let request, _):
            self.init(time: time, event: "sent", clientId: request.orderLinkId)
            command = "place"
            symbol = request.symbol
            side = request.side.rawValue
            price = request.price.map { "\($0)" }
            qty = "\(request.qty)"
        case .amend(let clientId, let symbol, let price):
            self.init(time: time, event: "sent", clientId: clientId)
            command = "amend"
            self.symbol = symbol
            self.price = "\(price)"
        case .cancel(let clientId, let symbol):
            self.init(time: time, event: "sent", clientId: clientId)
            command = "cancel"
            self.symbol = symbol
        case .cancelAll(let symbol, let reason):
            self.init(time: time, event: "sent", clientId: "")
            command = "cancel_all"
            self.symbol = symbol
            self.reason = reason
        }
    }

    init(_ event: VenueEvent, time: Int64) {
        switch event {
        case .acknowledged(let clientId, let command):
            self.init(time: time, event: "ack", clientId: clientId)
            self.command = command.rawValue
        case .refused(let clientId, let command, let reason):
            self.init(time: time, event: "refused", clientId: clientId)
            self.command = command.rawValue
            self.reason = reason
        case .order(let update):
            self.init(time: time, event: "order", clientId: update.clientId)
            symbol = update.symbol
            side = update.side.rawValue
            price = "\(update.price)"
            qty = "\(update.qty)"
            status = update.state.rawValue
            filled = "\(update.filledQty)"
        case .fill(let fill):
            self.init(time: time, event: "fill", clientId: fill.clientId)
            symbol = fill.symbol
            side = fill.side.rawValue
            price = "\(fill.price)"
            qty = "\(fill.qty)"
            fee = "\(fill.fee)"
            maker = fill.isMaker
        }
    }
}
