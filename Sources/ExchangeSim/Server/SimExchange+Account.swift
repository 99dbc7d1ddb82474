import Bybit
import Market

/// The account endpoints general-purpose Bybit clients read at start or on demand — executions, order
/// history, closed PnL, API key and account info, coin info — in Bybit's shapes, from the sim's state.
extension SimExchange {
    /// How many executions an account keeps for `/v5/execution/list` and `/v5/position/closed-pnl`.
    static let executionHistory = 10_000

    func keepExecutions(_ events: EngineEvents) {
        for execution in events.executions {
            guard case .account(let apiKey) = execution.owner else { continue }
            executionLog[apiKey, default: []].append(execution)
            if executionLog[apiKey]!.count > SimExchange.executionHistory * 2 { executionLog[apiKey]!.removeFirst(SimExchange.executionHistory) }
        }
    }

    /// A page of newest-first items: `cursor` is the offset Bybit's `nextPageCursor` hands back.
    static func page<Item>(_ items: [Item], limit: Int, cursor: String?) -> (items: ArraySlice<Item>, next: String) {
        let start = min(Int(cursor ?? "") ?? 0, items.count)
        let end = min(start + limit, items.count)
        return (items[start..<end], end < items.count ? String(end) : "")
    }

    /// `GET /v5/execution/list`: the account's fills, newest first.
    func executionsJSON(apiKey: String, query: Query) throws(SimError) -> [UInt8] {
        guard engine.accounts[apiKey] != nil else { throw SimError(10003, "API key is invalid.") }
        let limit = try query.int("limit") ?? 50
        guard (1...100).contains(limit) else { throw .parameter("params error: limit must be 1–100") }
        let from = try query.int64("startTime").map { $0 * 1_000_000 } ?? .min
        let to = try query.int64("endTime").map { $0 * 1_000_000 } ?? .max
        let list = (executionLog[apiKey] ?? []).reversed().filter { execution in
            (query.string("symbol").map { $0 == execution.symbol } ?? true) && (query.string("orderId").map { $0 == execution.orderId } ?? true)
                && (query.string("orderLinkId").map { $0 == execution.clientId } ?? true) && execution.time >= from && execution.time <= to
        }
        let (items, next) = SimExchange.page(list, limit: limit, cursor: query.string("cursor"))
        var out = JSONWriter(capacity: 128 + items.count * 700)
        out.beginObject()
        out.field("nextPageCursor", next)
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for execution in items { PrivateEncode.execution(execution, sequence: sequence, &out) }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// `GET /v5/position/closed-pnl`: one record per fill that closed a position, newest first.
    func closedPnlJSON(apiKey: String, query: Query) throws(SimError) -> [UInt8] {
        guard let account = engine.accounts[apiKey] else { throw SimError(10003, "API key is invalid.") }
        let limit = try query.int("limit") ?? 50
        guard (1...100).contains(limit) else { throw .parameter("params error: limit must be 1–100") }
        let list = (executionLog[apiKey] ?? []).reversed().filter { !$0.closedSize.isZero && (query.string("symbol").map($0.symbol.elementsEqual) ?? true) }
        let (items, next) = SimExchange.page(list, limit: limit, cursor: query.string("cursor"))
        var out = JSONWriter(capacity: 128 + items.count * 500)
        out.beginObject()
        out.field("nextPageCursor", next)
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for execution in items {
            let entryValue = execution.entryPrice * execution.closedSize
            let exitValue = execution.price * execution.closedSize
            out.beginObject()
            out.field("symbol", execution.symbol)
            out.field("orderType", execution.orderType.rawValue)
            out.key("leverage"); out.decimal(account.leverage)
            out.field("updatedTime", String(execution.time / 1_000_000))
            out.field("side", execution.side == .buy ? "Buy" : "Sell")
            out.field("orderId", execution.orderId)
            out.key("closedPnl"); out.decimal(execution.closedPnl - execution.fee)
            out.key("avgEntryPrice"); out.decimal(execution.entryPrice)
            out.key("qty"); out.decimal(execution.orderQty)
            out.key("cumEntryValue"); out.decimal(entryValue)
            out.field("createdTime", String(execution.time / 1_000_000))
            out.key("orderPrice"); out.decimal(execution.price)
            out.key("closedSize"); out.decimal(execution.closedSize)
            out.key("avgExitPrice"); out.decimal(execution.price)
            out.field("execType", "Trade")
            out.field("fillCount", "1")
            out.key("cumExitValue"); out.decimal(exitValue)
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// `GET /v5/user/query-api`: the key's own description (never its secret).
    public func apiKeyInfoJSON(apiKey: String, now: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("id", String(abs(apiKey.hashValue % 1_000_000)))
        out.field("note", "keel sim")
        out.field("apiKey", apiKey)
        out.field("readOnly", 0)
        out.field("secret", "")
        out.key("permissions")
        out.beginObject()
        for (name, values) in [("ContractTrade", ["Order", "Position"]), ("Spot", []), ("Wallet", ["AccountTransfer"]), ("Options", []),
                               ("Derivatives", []), ("CopyTrading", []), ("BlockTrade", []), ("Exchange", []), ("NFT", []), ("Affiliate", [])] {
            out.key(name)
            out.beginArray()
            for value in values { out.string(value) }
            out.endArray()
        }
        out.endObject()
        out.key("ips"); out.beginArray(); out.string("*"); out.endArray()
        out.field("type", 1)
        out.field("deadlineDay", -1)
        out.field("expiredAt", "")
        out.field("createdAt", UTCTime.formatISO8601(now))
        out.field("unified", 0)
        out.field("uta", 1)
        out.field("userID", 1_000_001)
        out.field("inviterID", 0)
        out.field("vipLevel", "No VIP")
        out.field("mktMakerLevel", "0")
        out.field("affiliateID", 0)
        out.field("rsaPublicKey", "")
        out.field("isMaster", true)
        out.field("parentUid", "0")
        out.field("kycLevel", "LEVEL_DEFAULT")
        out.field("kycRegion", "")
        out.endObject()
        return out.bytes
    }

    /// `GET /v5/account/info`: a unified account; disconnect-cancel as the key set it.
    public func accountInfoJSON(apiKey: String, now: Int64) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("marginMode", "REGULAR_MARGIN")
        out.field("updatedTime", String(now / 1_000_000))
        out.field("unifiedMarginStatus", 4)
        out.field("dcpStatus", dcpWindows[apiKey] == nil ? "OFF" : "ON")
        out.field("timeWindow", Int((dcpWindows[apiKey] ?? 10_000_000_000) / 1_000_000_000))
        out.field("smpGroup", 0)
        out.field("isMasterTrader", false)
        out.field("spotHedgingStatus", "OFF")
        out.endObject()
        return out.bytes
    }

    /// `GET /v5/asset/coin/query-info`: USDT, the one coin the sim settles in (`coin` may ask for it).
    public func coinInfoJSON(apiKey: String, coin: String?) throws(SimError) -> [UInt8] {
        guard let account = engine.accounts[apiKey] else { throw SimError(10003, "API key is invalid.") }
        var out = JSONWriter()
        out.beginObject()
        out.key("rows")
        out.beginArray()
        if coin == nil || coin == "USDT" {
            out.beginObject()
            out.field("name", "USDT")
            out.field("coin", "USDT")
            out.key("remainAmount"); out.decimal(account.walletBalance)
            out.key("chains")
            out.beginArray()
            out.beginObject()
            out.field("chainType", "ERC20")
            out.field("confirmation", "12")
            out.field("withdrawFee", "1")
            out.field("depositMin", "0")
            out.field("withdrawMin", "10")
            out.field("chain", "ETH")
            out.field("chainDeposit", "1")
            out.field("chainWithdraw", "1")
            out.field("minAccuracy", "2")
            out.field("withdrawPercentageFee", "0")
            out.field("contractAddress", "")
            out.endObject()
            out.endArray()
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }

    /// `GET /v5/market/tickers`: each simulated symbol's (or one's) linear ticker now.
    public func tickersJSON(symbol: String?, now: Int64) throws(SimError) -> [UInt8] {
        if let symbol, instrument(symbol) == nil { throw .parameter("params error: symbol \(symbol) invalid") }
        var out = JSONWriter()
        out.beginObject()
        out.field("category", "linear")
        out.key("list")
        out.beginArray()
        for name in symbol.map({ [$0] }) ?? configuration.instruments.map(\.symbol) {
            out.beginObject()
            out.field("symbol", name)
            for (key, value) in tickerFields(name, now: now) where key != "tickDirection" { out.field(key, value) }
            out.field("predictedDeliveryPrice", "")
            out.field("basisRate", "")
            out.field("deliveryFeeRate", "")
            out.field("deliveryTime", "0")
            out.field("basis", "")
            out.endObject()
        }
        out.endArray()
        out.endObject()
        return out.bytes
    }
}
