import Market

/// One line the connector writes on stdout. Prices and quantities are exact decimals written as JSON
/// numbers (`50000.10`, never a rounded float); times are milliseconds (`timestamp`, the exchange's)
/// and nanoseconds (`recv_ns`, local receive time). The README documents every field.
public enum ConnectorEvent: Sendable, Equatable {
    /// A session's or the supervisor's state changed (`StatusKind`).
    case status(Status)
    case trade(TradeTick)
    /// A trusted book change: a snapshot (after subscribing or a resync) or a contiguous delta.
    case depth(Depth)
    /// An order after a change (private stream).
    case order(OrderUpdate)
    /// An order request with no answer in time: the order may or may not exist. Always followed by an
    /// `order` event with the exchange's truth once reconciled, or an `error` with code `unresolved`.
    case orderUnknown(symbol: String, clientId: String, reason: String)
    /// One execution; unique by `exec_id`.
    case fill(Fill)
    case position(PositionUpdate)
    case wallet(WalletUpdate)
    case pong(id: String?)
    case ack(id: String, command: String)
    /// The answer to `open_orders`: how many orders of the symbol the exchange lists as open now
    /// (each was sent as an `order` event just before).
    case openOrders(id: String?, symbol: String, count: Int)
    /// The answer to `instrument`: the symbol's grid on the exchange and its `status` (`Trading`, …).
    case instrument(id: String?, instrument: Instrument, status: InstrumentStatus)
    /// One chunk of a `backfill`: closed 1m candles, oldest first.
    case candles(CandleChunk)
    /// A `backfill`'s progress: `running` after each chunk, `waiting` at a rate limit, then `done` or `failed`.
    case backfill(BackfillProgress)
    case error(Failure)
    case stats(Stats)

    /// What a `status` event says; the wire's spelling is the raw value.
    public enum StatusKind: String, Sendable, Equatable, CaseIterable {
        case connected
        case disconnected
        case reconnecting
        case subscribed
        case authenticated
        /// A topic went silent past its threshold; the session reconnects.
        case stale
        /// A book was rebuilt from a fresh snapshot after a fault or an exchange restart.
        case resynced
        /// The account's open orders and positions were read and sent (live venues wait for it).
        case reconciled
        /// Bybit's disconnect-cancel window is armed.
        case dcpArmed = "dcp_armed"
        /// The bot's supervisor started a connector (its first, or after a restart).
        case connectorStarted = "connector_started"
        /// The bot's queue dropped a symbol's depth: its book is untrusted until a snapshot.
        case depthDropped = "depth_dropped"
        /// The bot's market data now comes from `connector` (`exchange.fallback`): `session` is
        /// `fallback` or `primary`, `reason` says why. Made by the bot, never by a connector.
        case dataSource = "data_source"
    }

    public struct Status: Sendable, Equatable {
        public var status: StatusKind
        public var connector: String
        /// Which session: `public`, `private` or `trade`.
        public var session: String?
        public var reason: String?
        public var topic: String?
        public var attempt: Int?
        public var retryDelayMilliseconds: Int64?

        public init(status: StatusKind, connector: String = "bybit", session: String? = nil, reason: String? = nil, topic: String? = nil,
                    attempt: Int? = nil, retryDelayMilliseconds: Int64? = nil) {
            self.status = status
            self.connector = connector
            self.session = session
            self.reason = reason
            self.topic = topic
            self.attempt = attempt
            self.retryDelayMilliseconds = retryDelayMilliseconds
        }
    }

    public struct Depth: Sendable, Equatable {
        public var update: DepthUpdate
        /// The topic's depth (levels a side), e.g. 50.
        public var depth: Int?

        public init(update: DepthUpdate, depth: Int?) {
            self.update = update
            self.depth = depth
        }
    }

    public struct CandleChunk: Sendable, Equatable {
        public var id: String?
        public var symbol: String
        /// 1-based.
        public var chunk: Int
        public var chunks: Int
        public var candles: [Candle]

        public init(id: String?, symbol: String, chunk: Int, chunks: Int, candles: [Candle]) {
            self.id = id
            self.symbol = symbol
            self.chunk = chunk
            self.chunks = chunks
            self.candles = candles
        }
    }

    public struct BackfillProgress: Sendable, Equatable {
        public enum State: String, Sendable {
            case running, waiting, done, failed
        }

        public var id: String?
        public var symbol: String
        public var state: State
        public var chunk: Int
        public var chunks: Int
        /// Candles sent so far.
        public var candles: Int
        public var seconds: Double
        public var reason: String?

        public init(id: String?, symbol: String, state: State, chunk: Int, chunks: Int, candles: Int, seconds: Double, reason: String? = nil) {
            self.id = id
            self.symbol = symbol
            self.state = state
            self.chunk = chunk
            self.chunks = chunks
            self.candles = candles
            self.seconds = seconds
            self.reason = reason
        }
    }

    public struct Failure: Sendable, Equatable {
        public var message: String
        public var code: String
        /// The command's `id`, when the error answers one.
        public var id: String?
        /// The order's client id, when the error is about one order.
        public var clientId: String?
        /// The exchange's own code (`retCode`), when the exchange refused.
        public var exchangeCode: Int?

        public init(message: String, code: String, id: String? = nil, clientId: String? = nil, exchangeCode: Int? = nil) {
            self.message = message
            self.code = code
            self.id = id
            self.clientId = clientId
            self.exchangeCode = exchangeCode
        }
    }

    public struct Stats: Sendable, Equatable {
        public struct Topic: Sendable, Equatable {
            public var messages: Int
            public var bytes: Int
            public var errors: Int
            public var lastMessageAgeMilliseconds: Int64?

            public init(messages: Int, bytes: Int, errors: Int, lastMessageAgeMilliseconds: Int64?) {
                self.messages = messages
                self.bytes = bytes
                self.errors = errors
                self.lastMessageAgeMilliseconds = lastMessageAgeMilliseconds
            }
        }

        public var topics: [String: Topic]
        public var reconnects: Int
        public var resyncs: Int
        public var malformed: Int
        public var pingRTTMilliseconds: Double?
        public var rateLimitRemaining: Int?
        /// With `recording.enabled`: frames written and bytes the recording files grew on disk.
        public var recordedFrames: Int?
        public var recordedBytes: Int64?

        public init(topics: [String: Topic], reconnects: Int, resyncs: Int, malformed: Int, pingRTTMilliseconds: Double?, rateLimitRemaining: Int?) {
            self.topics = topics
            self.reconnects = reconnects
            self.resyncs = resyncs
            self.malformed = malformed
            self.pingRTTMilliseconds = pingRTTMilliseconds
            self.rateLimitRemaining = rateLimitRemaining
        }
    }

    /// Keel's order statuses on the wire (the bot's order state machine speaks these).
    static func wireStatus(_ state: OrderState) -> String {
        switch state {
        case .new, .untriggered, .triggered: return "new"
        case .partiallyFilled: return "partially_filled"
        case .filled: return "filled"
        case .cancelled, .deactivated: return "cancelled"
        case .partiallyFilledCanceled: return "partially_filled_cancelled"
        case .rejected: return "rejected"
        }
    }

    /// The NDJSON line (without its newline).
    public var line: [UInt8] {
        // Room for the whole line at once: a depth event's levels are most of it (one allocation, not a
        // doubling for every few levels).
        var capacity = 256
        if case .depth(let depth) = self { capacity += 48 * (depth.update.bids.count + depth.update.asks.count) }
        var out = JSONWriter(capacity: capacity)
        out.beginObject()
        switch self {
        case .status(let status):
            out.field("type", "status")
            out.field("status", status.status.rawValue)
            out.field("connector", status.connector)
            if let session = status.session { out.field("session", session) }
            if let reason = status.reason { out.field("reason", reason) }
            if let topic = status.topic { out.field("topic", topic) }
            if let attempt = status.attempt { out.field("attempt", attempt) }
            if let delay = status.retryDelayMilliseconds { out.field("retry_delay_ms", delay) }
        case .trade(let trade):
            out.field("type", "trade")
            out.field("symbol", trade.symbol)
            out.field("timestamp", trade.exchangeTime / 1_000_000)
            out.field("price", number: trade.price)
            out.field("qty", number: trade.qty)
            out.field("side", trade.aggressor.rawValue)
            out.field("is_buyer_maker", trade.isBuyerMaker)
            out.field("id", trade.tradeId)
            out.field("recv_ns", trade.receiveTime)
        case .depth(let depth):
            let update = depth.update
            out.field("type", "depth")
            out.field("symbol", update.symbol)
            out.field("timestamp", update.exchangeTime / 1_000_000)
            out.field("kind", update.kind.rawValue)
            out.key("bids")
            out.priceLevels(update.bids, asNumbers: true)
            out.key("asks")
            out.priceLevels(update.asks, asNumbers: true)
            out.field("last_update_id", update.lastUpdateId)
            if let value = depth.depth { out.field("depth", value) }
            out.field("recv_ns", update.receiveTime)
        case .order(let order):
            out.field("type", "order")
            out.field("symbol", order.symbol)
            out.field("order_id", order.orderId)
            out.field("client_id", order.clientId)
            out.field("side", order.side.rawValue)
            out.field("order_type", order.orderType.lowercased())
            out.field("time_in_force", order.timeInForce)
            out.field("price", number: order.price)
            out.field("qty", number: order.qty)
            out.field("filled_qty", number: order.filledQty)
            out.field("avg_price", number: order.averagePrice)
            out.field("status", ConnectorEvent.wireStatus(order.state))
            out.field("reduce_only", order.reduceOnly)
            out.field("reject_reason", order.rejectReason)
            out.field("cancel_type", order.cancelType)
            out.field("timestamp", order.updatedTime / 1_000_000)
        case .orderUnknown(let symbol, let clientId, let reason):
            out.field("type", "order")
            out.field("symbol", symbol)
            out.field("client_id", clientId)
            out.field("status", "unknown")
            out.field("reason", reason)
        case .fill(let fill):
            out.field("type", "fill")
            out.field("symbol", fill.symbol)
            out.field("order_id", fill.orderId)
            out.field("client_id", fill.clientId)
            out.field("exec_id", fill.executionId)
            out.field("side", fill.side.rawValue)
            out.field("price", number: fill.price)
            out.field("qty", number: fill.qty)
            out.field("fee", number: fill.fee)
            out.field("fee_rate", number: fill.feeRate)
            out.field("is_maker", fill.isMaker)
            out.field("leaves_qty", number: fill.leavesQty)
            out.field("closed_size", number: fill.closedSize)
            out.field("timestamp", fill.time / 1_000_000)
        case .position(let position):
            out.field("type", "position")
            out.field("symbol", position.symbol)
            out.field("size", number: position.size)
            out.field("entry_price", number: position.entryPrice)
            out.field("mark_price", number: position.markPrice)
            out.field("unrealised_pnl", number: position.unrealisedPnl)
            out.field("realised_pnl", number: position.realisedPnl)
            out.field("timestamp", position.updatedTime / 1_000_000)
        case .wallet(let wallet):
            out.field("type", "wallet")
            out.field("coin", wallet.coin)
            out.field("wallet_balance", number: wallet.walletBalance)
            out.field("equity", number: wallet.equity)
            out.field("available", number: wallet.availableBalance)
            out.field("unrealised_pnl", number: wallet.unrealisedPnl)
            out.field("timestamp", wallet.time / 1_000_000)
        case .pong(let id):
            out.field("type", "pong")
            out.key("id")
            if let id { out.string(id) } else { out.null() }
        case .ack(let id, let command):
            out.field("type", "ack")
            out.field("id", id)
            out.field("command", command)
        case .openOrders(let id, let symbol, let count):
            out.field("type", "open_orders")
            if let id { out.field("id", id) }
            out.field("symbol", symbol)
            out.field("count", count)
        case .instrument(let id, let instrument, let status):
            out.field("type", "instrument")
            if let id { out.field("id", id) }
            out.field("symbol", instrument.symbol)
            out.field("status", status.description)
            out.field("tick_size", number: instrument.tickSize)
            out.field("qty_step", number: instrument.qtyStep)
            out.field("min_qty", number: instrument.minQty)
            if let maxQty = instrument.maxQty { out.field("max_qty", number: maxQty) }
            if let minNotional = instrument.minNotional { out.field("min_notional", number: minNotional) }
        case .candles(let chunk):
            out.field("type", "candles")
            if let id = chunk.id { out.field("id", id) }
            out.field("symbol", chunk.symbol)
            out.field("interval", "1m")
            out.field("chunk", chunk.chunk)
            out.field("chunks", chunk.chunks)
            out.key("candles")
            out.beginArray()
            for candle in chunk.candles {
                // [t, o, h, l, c, v, turnover, buy_v, buy_turnover, n]; the last three null without a taker split.
                out.beginArray()
                out.int(candle.start / 1_000_000)
                for value in [candle.open, candle.high, candle.low, candle.close, candle.volume, candle.turnover] { out.decimalNumber(value) }
                if candle.takerSplit {
                    out.decimalNumber(candle.buyVolume)
                    out.decimalNumber(candle.buyTurnover)
                    out.int(candle.trades)
                } else {
                    out.null()
                    out.null()
                    out.null()
                }
                out.endArray()
            }
            out.endArray()
        case .backfill(let progress):
            out.field("type", "backfill")
            if let id = progress.id { out.field("id", id) }
            out.field("symbol", progress.symbol)
            out.field("state", progress.state.rawValue)
            out.field("chunk", progress.chunk)
            out.field("chunks", progress.chunks)
            out.field("candles", progress.candles)
            out.key("seconds")
            out.double((progress.seconds * 1_000).rounded() / 1_000)
            if let reason = progress.reason { out.field("reason", reason) }
        case .error(let failure):
            out.field("type", "error")
            out.field("error", failure.message)
            out.field("code", failure.code)
            if let id = failure.id { out.field("id", id) }
            if let clientId = failure.clientId { out.field("client_id", clientId) }
            if let code = failure.exchangeCode { out.field("exchange_code", code) }
        case .stats(let stats):
            out.field("type", "stats")
            out.key("topics")
            out.beginObject()
            for (name, topic) in stats.topics.sorted(by: { $0.key < $1.key }) {
                out.key(name)
                out.beginObject()
                out.field("messages", topic.messages)
                out.field("bytes", topic.bytes)
                out.field("errors", topic.errors)
                out.key("last_message_age_ms")
                if let age = topic.lastMessageAgeMilliseconds { out.int(age) } else { out.null() }
                out.endObject()
            }
            out.endObject()
            out.field("reconnects", stats.reconnects)
            out.field("resyncs", stats.resyncs)
            out.field("malformed", stats.malformed)
            out.key("ping_rtt_ms")
            if let rtt = stats.pingRTTMilliseconds { out.double((rtt * 1_000).rounded() / 1_000) } else { out.null() }
            out.key("rate_limit_remaining")
            if let remaining = stats.rateLimitRemaining { out.int(remaining) } else { out.null() }
            if let frames = stats.recordedFrames { out.field("recorded_frames", frames) }
            if let bytes = stats.recordedBytes { out.field("recorded_bytes", bytes) }
        }
        out.endObject()
        return out.bytes
    }
}
