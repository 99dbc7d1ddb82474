import Market

/// The fields of one order request (REST body, or one object of a trade-stream `args` / batch
/// `request` list), read as text and then typed with Bybit's parameter errors.
public struct OrderParameters: Sendable {
    public var fields: [String: String]
    /// A batch request's `request` list.
    public var batch: [OrderParameters]

    public init(fields: [String: String], batch: [OrderParameters] = []) {
        self.fields = fields
        self.batch = batch
    }

    /// Reads a flat JSON object: strings, numbers (as their text) and booleans; a `request` array of
    /// objects becomes `batch`; other nested values are skipped.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(SimError) -> OrderParameters {
        var scanner = JSONScanner(bytes)
        do throws(JSONError) {
            let parameters = try read(&scanner)
            try scanner.finish()
            return parameters
        } catch {
            throw .parameter("params error: request body is not a JSON object (\(error))")
        }
    }

    /// Reads a request body or an `args` object held as bytes.
    public static func decode(_ bytes: [UInt8]) throws(SimError) -> OrderParameters {
        let result: Result<OrderParameters, SimError> = bytes.withUnsafeBytes { buffer in
            do throws(SimError) {
                return .success(try decode(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func read(_ scanner: inout JSONScanner) throws(JSONError) -> OrderParameters {
        let object = try scanner.readFlatObject(nested: ["request"])
        return OrderParameters(fields: object.fields, batch: (object.arrays["request"] ?? []).map { OrderParameters(fields: $0.fields) })
    }

    public func string(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }

    public func required(_ name: String) throws(SimError) -> String {
        guard let value = string(name) else { throw .parameter("params error: \(name) is required") }
        return value
    }

    public func decimal(_ name: String) throws(SimError) -> FixedDecimal? {
        guard let text = string(name) else { return nil }
        guard let value = try? FixedDecimal(parsing: text) else { throw .parameter("params error: \(name) \(text) is not a decimal") }
        return value
    }

    public func bool(_ name: String) throws(SimError) -> Bool {
        switch fields[name] {
        case nil, "", "false", "0": return false
        case "true", "1": return true
        default: throw .parameter("params error: \(name) must be true or false")
        }
    }

    /// `category` must be `linear` (the only one simulated).
    public func checkCategory() throws(SimError) {
        let category = try required("category")
        guard category == "linear" else { throw .parameter("params error: category \(category) is not simulated (only linear)") }
    }

    /// The order a cancel or amend means: `orderId` or `orderLinkId`.
    public func reference() throws(SimError) -> OrderReference {
        if let id = string("orderId") { return .orderId(id) }
        if let link = string("orderLinkId") { return .orderLinkId(link) }
        throw .parameter("params error: orderId or orderLinkId is required")
    }

    public func placeRequest() throws(SimError) -> PlaceRequest {
        let symbol = try required("symbol")
        let side: Side
        switch try required("side") {
        case "Buy": side = .buy
        case "Sell": side = .sell
        case let other: throw .parameter("params error: side \(other) invalid (Buy or Sell)")
        }
        guard let type = OrderType(rawValue: try required("orderType")) else {
            throw .parameter("params error: orderType \(fields["orderType"] ?? "") invalid (Limit or Market)")
        }
        guard let qty = try decimal("qty") else { throw .parameter("params error: qty is required") }
        let timeInForce: TimeInForce
        if let text = string("timeInForce") {
            guard let parsed = TimeInForce(rawValue: text) else {
                throw .parameter("params error: timeInForce \(text) invalid (GTC, IOC, FOK, PostOnly)")
            }
            timeInForce = parsed
        } else {
            timeInForce = type == .market ? .ioc : .gtc
        }
        if let index = string("positionIdx"), index != "0" {
            throw .parameter("position idx not match position mode")
        }
        return PlaceRequest(symbol: symbol, side: side, type: type, qty: qty, price: try decimal("price"),
                            timeInForce: timeInForce, orderLinkId: string("orderLinkId") ?? "", reduceOnly: try bool("reduceOnly"))
    }
}
