import Market

/// Everything Keel can receive on Bybit's private WebSocket.
public enum BybitPrivateMessage: Sendable, Equatable {
    case orders([OrderUpdate])
    case fills([Fill])
    case positions([PositionUpdate])
    case wallets([WalletUpdate])
    /// Auth and subscription answers, pongs (`op:"pong"`).
    case response(BybitResponse)
    /// A well-formed message of a topic Keel does not model (`greeks`, `dcp`, …).
    case other(topic: String)
}

/// Decodes Bybit V5 private stream messages (`order`, `execution`, `position`, `wallet`, and their
/// `.linear` forms) into Keel's account events. Empty strings Bybit sends for absent numbers read as
/// zero (or as no value, for an average price). Pure.
public struct BybitPrivateDecoder: Sendable {
    public init() {}

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> BybitPrivateMessage {
        var scanner = JSONScanner(bytes)
        var topic: String?
        var records: [FlatJSONObject] = []
        var creationTime: Int64 = 0
        var answer = FlatJSONObject()
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            if key.equals("topic") {
                topic = try scanner.readString().string
            } else if key.equals("data") {
                guard try scanner.peekKind() == .array else { try scanner.skipValue(); continue }
                var array = try scanner.beginArray()
                while try scanner.nextElement(in: &array) { records.append(try scanner.readFlatObject(nested: ["coin"])) }
            } else if key.equals("creationTime") {
                creationTime = UTCTime.fromMilliseconds(try scanner.readInt64())
            } else if key.equals("op") || key.equals("ret_msg") || key.equals("retMsg") || key.equals("conn_id") || key.equals("req_id") {
                answer.fields[key.string] = try scanner.readString().string
            } else if key.equals("success") {
                answer.fields["success"] = try scanner.readBool() ? "true" : "false"
            } else if key.equals("retCode") {
                answer.fields["retCode"] = String(try scanner.readInt64())
            } else {
                try scanner.skipValue()
            }
        }
        try scanner.finish()
        guard let topic else {
            guard let op = answer["op"] else { throw JSONError(.missingField("topic"), at: scanner.offset) }
            let success: Bool = if let flag = answer["success"] { flag == "true" } else { (answer["retCode"] ?? "0") == "0" }
            return .response(BybitResponse(
                op: op, success: success,
                message: answer["ret_msg"] ?? answer["retMsg"] ?? "", requestId: answer["req_id"],
                connectionId: answer["conn_id"], retCode: answer["retCode"].flatMap { Int64($0) }))
        }
        do {
            switch topic.split(separator: ".").first ?? "" {
            case "order": return .orders(try records.map(BybitPrivateDecoder.order))
            case "execution": return .fills(try records.map(BybitPrivateDecoder.fill))
            case "position": return .positions(try records.map { try BybitPrivateDecoder.position($0, time: creationTime) })
            case "wallet": return .wallets(try records.flatMap { try BybitPrivateDecoder.wallets($0, time: creationTime) })
            default: return .other(topic: topic)
            }
        } catch let error as JSONError {
            throw error
        } catch {
            throw JSONError(.invalidValue(field: "\(topic): \(error)"), at: 0)
        }
    }

    static func side(_ record: FlatJSONObject, _ key: String = "side") throws(JSONError) -> Side {
        switch record[key] {
        case "Buy": return .buy
        case "Sell": return .sell
        default: throw JSONError(.invalidValue(field: key), at: 0)
        }
    }

    static func required(_ record: FlatJSONObject, _ key: String) throws(JSONError) -> String {
        guard let value = record.string(key) else { throw JSONError(.missingField(key), at: 0) }
        return value
    }

    static func time(_ record: FlatJSONObject, _ key: String) -> Int64 {
        record.string(key).flatMap { Int64($0) }.map(UTCTime.fromMilliseconds) ?? 0
    }

    static func order(_ record: FlatJSONObject) throws -> OrderUpdate {
        guard let state = OrderState(bybit: try required(record, "orderStatus")) else {
            throw JSONError(.invalidValue(field: "orderStatus"), at: 0)
        }
        let average = try record.decimal("avgPrice")
        return OrderUpdate(
            symbol: try required(record, "symbol"), orderId: try required(record, "orderId"), clientId: record["orderLinkId"] ?? "",
            side: try side(record), orderType: record["orderType"] ?? "", timeInForce: record["timeInForce"] ?? "",
            price: try record.decimal("price") ?? .zero, qty: try record.decimal("qty") ?? .zero,
            filledQty: try record.decimal("cumExecQty") ?? .zero, averagePrice: average.flatMap { $0.isZero ? nil : $0 },
            state: state, reduceOnly: record["reduceOnly"] == "true", rejectReason: record["rejectReason"] ?? "",
            cancelType: record["cancelType"] ?? "", createdTime: time(record, "createdTime"), updatedTime: time(record, "updatedTime"))
    }

    static func fill(_ record: FlatJSONObject) throws -> Fill {
        Fill(symbol: try required(record, "symbol"), orderId: try required(record, "orderId"), clientId: record["orderLinkId"] ?? "",
             executionId: try required(record, "execId"), side: try side(record), price: try record.decimal("execPrice") ?? .zero,
             qty: try record.decimal("execQty") ?? .zero, fee: try record.decimal("execFee") ?? .zero,
             feeRate: try record.decimal("feeRate") ?? .zero, isMaker: record["isMaker"] == "true",
             leavesQty: try record.decimal("leavesQty") ?? .zero, closedSize: try record.decimal("closedSize") ?? .zero,
             time: time(record, "execTime"))
    }

    static func position(_ record: FlatJSONObject, time creation: Int64) throws -> PositionUpdate {
        let size = try record.decimal("size") ?? .zero
        let signed = record["side"] == "Sell" ? -size : size
        let updated = time(record, "updatedTime")
        return PositionUpdate(symbol: try required(record, "symbol"), size: signed,
                              entryPrice: try record.decimal("entryPrice") ?? record.decimal("avgPrice") ?? .zero,
                              markPrice: try record.decimal("markPrice") ?? .zero, unrealisedPnl: try record.decimal("unrealisedPnl") ?? .zero,
                              realisedPnl: try record.decimal("cumRealisedPnl") ?? .zero, updatedTime: updated != 0 ? updated : creation)
    }

    static func wallets(_ record: FlatJSONObject, time: Int64) throws -> [WalletUpdate] {
        try (record.arrays["coin"] ?? []).map { coin in
            WalletUpdate(coin: try required(coin, "coin"), walletBalance: try coin.decimal("walletBalance") ?? .zero,
                         equity: try coin.decimal("equity") ?? .zero,
                         availableBalance: try coin.decimal("availableToWithdraw") ?? record.decimal("totalAvailableBalance") ?? .zero,
                         unrealisedPnl: try coin.decimal("unrealisedPnl") ?? .zero, time: time)
        }
    }
}

extension OrderState {
    /// Bybit's `orderStatus` spelling of each state.
    static let bybitNames: [(OrderState, String)] = [
        (.new, "New"), (.partiallyFilled, "PartiallyFilled"), (.filled, "Filled"), (.cancelled, "Cancelled"),
        (.partiallyFilledCanceled, "PartiallyFilledCanceled"), (.rejected, "Rejected"), (.untriggered, "Untriggered"),
        (.triggered, "Triggered"), (.deactivated, "Deactivated"),
    ]

    /// The state of Bybit's `orderStatus`; nil for a spelling Bybit does not use.
    public init?(bybit name: String) {
        guard let match = Self.bybitNames.first(where: { $0.1 == name }) else { return nil }
        self = match.0
    }

    /// How Bybit spells this state.
    public var bybit: String { Self.bybitNames.first { $0.0 == self }!.1 }
}
