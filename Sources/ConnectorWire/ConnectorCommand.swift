import Market

/// One line the connector reads on stdin. A command with an `id` always gets an `ack` or an
/// `error` carrying that id; a line that is not a command gets an `error` event (never a crash).
public enum ConnectorCommand: Sendable, Equatable {
    public enum Channel: String, Sendable {
        case trades, depth
    }

    case subscribe(channel: Channel, symbol: String, id: String?)
    case unsubscribe(channel: Channel, symbol: String, id: String?)
    /// A new order; its `orderLinkId` is the wire's `client_id`.
    case place(id: String?, order: PlaceRequest)
    case amend(id: String?, symbol: String, clientId: String, qty: Quantity?, price: Price?)
    case cancel(id: String?, symbol: String, clientId: String)
    case cancelAll(id: String?, symbol: String?)
    /// The account's open orders of a symbol, read over REST now: each as an `order` event, then one
    /// `open_orders` event with the count (how shutdown verifies that nothing is left).
    case openOrders(id: String?, symbol: String)
    /// The symbol's grid and status from the exchange (`instruments-info`), answered by one `instrument`
    /// event; needs no credentials.
    case instrument(id: String?, symbol: String)
    /// The symbol's closed 1m candles from `since` (Unix ms) to the minute still open, over REST in
    /// chunks: a `candles` event a chunk, `backfill` events with the progress, then `done` or `failed`.
    case backfill(id: String?, symbol: String, since: Int64)
    case ping(id: String?)
    case shutdown(id: String?)

    /// The command's `id`, if it carries one.
    public var id: String? {
        switch self {
        case .subscribe(_, _, let id), .unsubscribe(_, _, let id), .amend(let id, _, _, _, _), .cancel(let id, _, _),
             .cancelAll(let id, _), .ping(let id), .shutdown(let id), .place(let id, _), .openOrders(let id, _),
             .instrument(let id, _), .backfill(let id, _, _):
            return id
        }
    }

    /// The command's name as the wire spells it.
    public var name: String {
        switch self {
        case .subscribe: return "subscribe"
        case .unsubscribe: return "unsubscribe"
        case .place: return "place"
        case .amend: return "amend"
        case .cancel: return "cancel"
        case .cancelAll: return "cancel_all"
        case .openOrders: return "open_orders"
        case .instrument: return "instrument"
        case .backfill: return "backfill"
        case .ping: return "ping"
        case .shutdown: return "shutdown"
        }
    }

    /// Why a line is not a command: what is wrong, and the `id` when the line had one.
    public struct DecodeError: Error, Sendable, Equatable {
        public var message: String
        public var id: String?
    }

    /// Decodes a line held as bytes.
    public static func decode(_ line: [UInt8]) throws(DecodeError) -> ConnectorCommand {
        let result: Result<ConnectorCommand, DecodeError> = line.withUnsafeBytes { buffer in
            do throws(DecodeError) {
                return .success(try decode(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> ConnectorCommand {
        let fields: [String: String]
        var scanner = JSONScanner(bytes)
        do throws(JSONError) {
            fields = try scanner.readFlatObject().fields
            try scanner.finish()
        } catch {
            throw DecodeError(message: "not a JSON command object: \(error)", id: nil)
        }
        let id = fields["id"]
        func required(_ name: String) throws(DecodeError) -> String {
            guard let value = fields[name], !value.isEmpty else { throw DecodeError(message: "\(name) is required", id: id) }
            return value
        }
        func decimal(_ name: String) throws(DecodeError) -> FixedDecimal? {
            guard let text = fields[name] else { return nil }
            guard let value = try? FixedDecimal(parsing: text) else { throw DecodeError(message: "\(name) \(text) is not a decimal", id: id) }
            return value
        }
        /// Bybit's `orderLinkId`: at most 36 of letters, digits, `-` and `_`.
        func checkClientId(_ value: String) throws(DecodeError) {
            guard value.utf8.count <= 36 else { throw DecodeError(message: "client_id is longer than 36 characters (Bybit's orderLinkId limit)", id: id) }
            guard value.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw DecodeError(message: "client_id may hold only letters, digits, - and _ (Bybit's orderLinkId rule)", id: id)
            }
        }
        func channel() throws(DecodeError) -> Channel {
            let text = try required("channel")
            guard let channel = Channel(rawValue: text) else { throw DecodeError(message: "channel must be trades or depth, not \(text)", id: id) }
            return channel
        }
        let command = try required("command")
        switch command {
        case "subscribe": return .subscribe(channel: try channel(), symbol: try required("symbol"), id: id)
        case "unsubscribe": return .unsubscribe(channel: try channel(), symbol: try required("symbol"), id: id)
        case "ping": return .ping(id: id)
        case "shutdown": return .shutdown(id: id)
        case "cancel":
            let clientId = try required("client_id")
            try checkClientId(clientId)
            return .cancel(id: id, symbol: try required("symbol"), clientId: clientId)
        case "cancel_all": return .cancelAll(id: id, symbol: fields["symbol"])
        case "open_orders": return .openOrders(id: id, symbol: try required("symbol"))
        case "instrument": return .instrument(id: id, symbol: try required("symbol"))
        case "backfill":
            let text = try required("since")
            guard let since = Int64(text), since >= 0 else { throw DecodeError(message: "since must be Unix milliseconds, not \(text)", id: id) }
            return .backfill(id: id, symbol: try required("symbol"), since: since)
        case "amend":
            let qty = try decimal("qty")
            let price = try decimal("price")
            guard qty != nil || price != nil else { throw DecodeError(message: "amend needs qty or price", id: id) }
            let clientId = try required("client_id")
            try checkClientId(clientId)
            return .amend(id: id, symbol: try required("symbol"), clientId: clientId, qty: qty, price: price)
        case "place":
            let sideText = try required("side")
            guard let side = Side(rawValue: sideText) else { throw DecodeError(message: "side must be buy or sell, not \(sideText)", id: id) }
            let typeText = fields["order_type"] ?? "limit"
            guard typeText == "limit" || typeText == "market" else { throw DecodeError(message: "order_type must be limit or market, not \(typeText)", id: id) }
            let type: OrderType = typeText == "market" ? .market : .limit
            guard let qty = try decimal("qty"), qty.signum > 0 else { throw DecodeError(message: "qty must be a positive decimal", id: id) }
            let price = try decimal("price")
            if type == .limit && price == nil { throw DecodeError(message: "a limit order needs price", id: id) }
            let tifText = fields["time_in_force"] ?? (type == .market ? "IOC" : "GTC")
            guard let tif = TimeInForce(rawValue: tifText) else { throw DecodeError(message: "time_in_force must be GTC, IOC, FOK or PostOnly", id: id) }
            let clientId = try required("client_id")
            try checkClientId(clientId)
            return .place(id: id, order: PlaceRequest(symbol: try required("symbol"), side: side, type: type, qty: qty,
                                                      price: type == .limit ? price : nil, timeInForce: tif, orderLinkId: clientId,
                                                      reduceOnly: fields["reduce_only"] == "true"))
        default:
            throw DecodeError(message: "unknown command \(command) (subscribe, unsubscribe, place, amend, cancel, cancel_all, open_orders, instrument, backfill, ping, shutdown)", id: id)
        }
    }
}

extension ConnectorCommand {
    /// The command as one stdin line (no newline): what the bot writes, and what `decode` reads back.
    public var line: String {
        var out = JSONWriter()
        out.beginObject()
        out.field("command", name)
        if let id { out.field("id", id) }
        switch self {
        case .subscribe(let channel, let symbol, _), .unsubscribe(let channel, let symbol, _):
            out.field("channel", channel.rawValue)
            out.field("symbol", symbol)
        case .place(_, let order):
            out.field("symbol", order.symbol)
            out.field("side", order.side.rawValue)
            out.field("order_type", order.type == .market ? "market" : "limit")
            out.field("qty", number: order.qty)
            if let price = order.price { out.field("price", number: price) }
            out.field("time_in_force", order.timeInForce.rawValue)
            out.field("client_id", order.orderLinkId)
            if order.reduceOnly { out.field("reduce_only", true) }
        case .amend(_, let symbol, let clientId, let qty, let price):
            out.field("symbol", symbol)
            out.field("client_id", clientId)
            if let qty { out.field("qty", number: qty) }
            if let price { out.field("price", number: price) }
        case .cancel(_, let symbol, let clientId):
            out.field("symbol", symbol)
            out.field("client_id", clientId)
        case .cancelAll(_, let symbol):
            if let symbol { out.field("symbol", symbol) }
        case .openOrders(_, let symbol), .instrument(_, let symbol):
            out.field("symbol", symbol)
        case .backfill(_, let symbol, let since):
            out.field("symbol", symbol)
            out.field("since", since)
        case .ping, .shutdown:
            break
        }
        out.endObject()
        return out.string
    }
}
