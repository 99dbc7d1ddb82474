import Market

extension ConnectorEvent {
    /// Why a line is not an event.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads one stdout line of the connector back into the event it wrote: the bot's side of the
    /// wire. `decode(event.line) == event` for every event the connector writes (times in whole
    /// milliseconds, as the exchange gives them).
    public static func decode(_ line: [UInt8]) throws(DecodeError) -> ConnectorEvent {
        let result: Result<ConnectorEvent, DecodeError> = line.withUnsafeBytes { buffer in
            do throws(DecodeError) { return .success(try decode(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> ConnectorEvent {
        var fields: [String: String] = [:]
        var bids: [PriceLevel] = []
        var asks: [PriceLevel] = []
        var topics: [String: Stats.Topic] = [:]
        var candles: [Candle] = []
        var scanner = JSONScanner(bytes)
        do throws(JSONError) {
            var object = try scanner.beginObject()
            while let key = try scanner.nextKey(in: &object) {
                let name = key.string
                switch try scanner.peekKind() {
                case .string: fields[name] = try scanner.readString().string
                case .number: fields[name] = String(decoding: try scanner.readNumberText(), as: UTF8.self)
                case .bool: fields[name] = try scanner.readBool() ? "true" : "false"
                case .null: _ = try scanner.readNullIfPresent()
                case .array where name == "bids": bids = try scanner.readPriceLevels()
                case .array where name == "asks": asks = try scanner.readPriceLevels()
                case .object where name == "topics": topics = try readTopics(&scanner)
                case .array where name == "candles": candles = try readCandles(&scanner)
                case .array, .object: try scanner.skipValue()
                }
            }
            try scanner.finish()
        } catch {
            throw DecodeError(message: "not a JSON event object: \(error)")
        }
        let reader = FieldReader(fields: fields)
        let type = try reader.text("type")
        switch type {
        case "status":
            let text = try reader.text("status")
            guard let kind = StatusKind(rawValue: text) else { throw DecodeError(message: "unknown status \(text)") }
            return .status(Status(status: kind, connector: fields["connector"] ?? "bybit", session: fields["session"],
                                  reason: fields["reason"], topic: fields["topic"], attempt: fields["attempt"].flatMap { Int($0) },
                                  retryDelayMilliseconds: fields["retry_delay_ms"].flatMap { Int64($0) }))
        case "trade":
            return .trade(TradeTick(symbol: try reader.text("symbol"), price: try reader.decimal("price"), qty: try reader.decimal("qty"),
                                    aggressor: try reader.side("side"), tradeId: fields["id"] ?? "",
                                    exchangeTime: try reader.milliseconds("timestamp"), receiveTime: try reader.integer("recv_ns")))
        case "depth":
            guard let kind = DepthUpdate.Kind(rawValue: try reader.text("kind")) else { throw DecodeError(message: "depth kind must be snapshot or delta") }
            let update = DepthUpdate(symbol: try reader.text("symbol"), kind: kind, bids: bids, asks: asks,
                                     lastUpdateId: try reader.integer("last_update_id"), exchangeTime: try reader.milliseconds("timestamp"),
                                     receiveTime: try reader.integer("recv_ns"))
            return .depth(Depth(update: update, depth: fields["depth"].flatMap { Int($0) }))
        case "order":
            if fields["status"] == "unknown" {
                return .orderUnknown(symbol: try reader.text("symbol"), clientId: try reader.text("client_id"), reason: fields["reason"] ?? "")
            }
            let typeText = try reader.text("order_type")
            return .order(OrderUpdate(
                symbol: try reader.text("symbol"), orderId: try reader.text("order_id"), clientId: fields["client_id"] ?? "",
                side: try reader.side("side"), orderType: typeText.prefix(1).uppercased() + typeText.dropFirst(),
                timeInForce: fields["time_in_force"] ?? "", price: try reader.decimal("price"), qty: try reader.decimal("qty"),
                filledQty: try reader.decimal("filled_qty"), averagePrice: try reader.optionalDecimal("avg_price"),
                state: try reader.state("status"), reduceOnly: fields["reduce_only"] == "true", rejectReason: fields["reject_reason"] ?? "",
                cancelType: fields["cancel_type"] ?? "", createdTime: 0, updatedTime: try reader.milliseconds("timestamp")))
        case "fill":
            return .fill(Fill(symbol: try reader.text("symbol"), orderId: try reader.text("order_id"), clientId: fields["client_id"] ?? "",
                              executionId: try reader.text("exec_id"), side: try reader.side("side"), price: try reader.decimal("price"),
                              qty: try reader.decimal("qty"), fee: try reader.decimal("fee"), feeRate: try reader.decimal("fee_rate"),
                              isMaker: fields["is_maker"] == "true", leavesQty: try reader.decimal("leaves_qty"),
                              closedSize: try reader.decimal("closed_size"), time: try reader.milliseconds("timestamp")))
        case "position":
            return .position(PositionUpdate(symbol: try reader.text("symbol"), size: try reader.decimal("size"), entryPrice: try reader.decimal("entry_price"),
                                            markPrice: try reader.decimal("mark_price"), unrealisedPnl: try reader.decimal("unrealised_pnl"),
                                            realisedPnl: try reader.decimal("realised_pnl"), updatedTime: try reader.milliseconds("timestamp")))
        case "wallet":
            return .wallet(WalletUpdate(coin: try reader.text("coin"), walletBalance: try reader.decimal("wallet_balance"), equity: try reader.decimal("equity"),
                                        availableBalance: try reader.decimal("available"), unrealisedPnl: try reader.decimal("unrealised_pnl"),
                                        time: try reader.milliseconds("timestamp")))
        case "pong":
            return .pong(id: fields["id"])
        case "ack":
            return .ack(id: try reader.text("id"), command: try reader.text("command"))
        case "open_orders":
            return .openOrders(id: fields["id"], symbol: try reader.text("symbol"), count: Int(try reader.integer("count")))
        case "instrument":
            return .instrument(id: fields["id"], instrument: Instrument(
                symbol: try reader.text("symbol"), tickSize: try reader.decimal("tick_size"), qtyStep: try reader.decimal("qty_step"),
                minQty: try reader.decimal("min_qty"), maxQty: try reader.optionalDecimal("max_qty"),
                minNotional: try reader.optionalDecimal("min_notional")), status: InstrumentStatus(fields["status"] ?? ""))
        case "candles":
            return .candles(CandleChunk(id: fields["id"], symbol: try reader.text("symbol"), chunk: Int(try reader.integer("chunk")),
                                        chunks: Int(try reader.integer("chunks")), candles: candles))
        case "backfill":
            let text = try reader.text("state")
            guard let state = BackfillProgress.State(rawValue: text) else { throw DecodeError(message: "unknown backfill state \(text)") }
            return .backfill(BackfillProgress(id: fields["id"], symbol: try reader.text("symbol"), state: state, chunk: Int(try reader.integer("chunk")),
                                              chunks: Int(try reader.integer("chunks")), candles: Int(try reader.integer("candles")),
                                              seconds: fields["seconds"].flatMap { Double($0) } ?? 0, reason: fields["reason"]))
        case "error":
            return .error(Failure(message: fields["error"] ?? "", code: try reader.text("code"), id: fields["id"], clientId: fields["client_id"],
                                  exchangeCode: fields["exchange_code"].flatMap { Int($0) }))
        case "stats":
            var stats = Stats(topics: topics, reconnects: try reader.integer("reconnects").int, resyncs: try reader.integer("resyncs").int,
                              malformed: try reader.integer("malformed").int, pingRTTMilliseconds: fields["ping_rtt_ms"].flatMap { Double($0) },
                              rateLimitRemaining: fields["rate_limit_remaining"].flatMap { Int($0) })
            stats.recordedFrames = fields["recorded_frames"].flatMap { Int($0) }
            stats.recordedBytes = fields["recorded_bytes"].flatMap { Int64($0) }
            return .stats(stats)
        default:
            throw DecodeError(message: "unknown event type \(type)")
        }
    }

    private static func readTopics(_ scanner: inout JSONScanner) throws(JSONError) -> [String: Stats.Topic] {
        var topics: [String: Stats.Topic] = [:]
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            let entry = try scanner.readFlatObject()
            topics[key.string] = Stats.Topic(messages: Int(entry["messages"] ?? "") ?? 0, bytes: Int(entry["bytes"] ?? "") ?? 0,
                                             errors: Int(entry["errors"] ?? "") ?? 0,
                                             lastMessageAgeMilliseconds: entry["last_message_age_ms"].flatMap { Int64($0) })
        }
        return topics
    }

    /// `[[t, o, h, l, c, v, turnover, buy_v, buy_turnover, n], …]`, the last three null without a taker split.
    private static func readCandles(_ scanner: inout JSONScanner) throws(JSONError) -> [Candle] {
        var candles: [Candle] = []
        var list = try scanner.beginArray()
        while try scanner.nextElement(in: &list) {
            var row = try scanner.beginArray()
            var start: Int64 = 0
            var values: [FixedDecimal] = []
            var split: (buy: FixedDecimal, turnover: FixedDecimal, trades: Int64)? = (.zero, .zero, 0)
            var index = 0
            while try scanner.nextElement(in: &row) {
                switch index {
                case 0: start = try scanner.readInt64()
                case 1...6: values.append(try scanner.readDecimal())
                case 7...9:
                    if try scanner.readNullIfPresent() { split = nil } else if index == 9 { split?.trades = try scanner.readInt64() } else if index == 7 {
                        split?.buy = try scanner.readDecimal()
                    } else {
                        split?.turnover = try scanner.readDecimal()
                    }
                default: try scanner.skipValue()
                }
                index += 1
            }
            guard values.count == 6 else { throw JSONError(.invalidNumber, at: scanner.offset) }
            var candle = Candle(start: start * 1_000_000, end: start * 1_000_000 + 60_000_000_000, open: values[0],
                                high: values[1], low: values[2], close: values[3], volume: values[4], turnover: values[5])
            if let split {
                candle.buyVolume = split.buy
                candle.buyTurnover = split.turnover
                candle.trades = Int(split.trades)
            } else {
                candle.takerSplit = false
            }
            candles.append(candle)
        }
        return candles
    }

    /// Typed reads of an event's fields, each failure naming the field.
    private struct FieldReader {
        let fields: [String: String]

        func text(_ name: String) throws(DecodeError) -> String {
            guard let value = fields[name] else { throw DecodeError(message: "\(name) is missing") }
            return value
        }

        func decimal(_ name: String) throws(DecodeError) -> FixedDecimal {
            let value = try text(name)
            guard let decimal = try? FixedDecimal(parsing: value) else { throw DecodeError(message: "\(name) \(value) is not a decimal") }
            return decimal
        }

        /// Nil when absent; an error naming the field when present and not a decimal.
        func optionalDecimal(_ name: String) throws(DecodeError) -> FixedDecimal? {
            fields[name] == nil ? nil : try decimal(name)
        }

        func integer(_ name: String) throws(DecodeError) -> Int64 {
            let value = try text(name)
            guard let number = Int64(value) else { throw DecodeError(message: "\(name) \(value) is not an integer") }
            return number
        }

        func milliseconds(_ name: String) throws(DecodeError) -> Int64 { try integer(name) * 1_000_000 }

        func side(_ name: String) throws(DecodeError) -> Side {
            guard let side = Side(rawValue: try text(name)) else { throw DecodeError(message: "\(name) must be buy or sell") }
            return side
        }

        func state(_ name: String) throws(DecodeError) -> OrderState {
            switch try text(name) {
            case "new": return .new
            case "partially_filled": return .partiallyFilled
            case "filled": return .filled
            case "cancelled": return .cancelled
            case "partially_filled_cancelled": return .partiallyFilledCanceled
            case "rejected": return .rejected
            case let other: throw DecodeError(message: "\(name) \(other) is not an order status")
            }
        }
    }
}

private extension Int64 {
    var int: Int { Int(self) }
}
