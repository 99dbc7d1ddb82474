import Bybit
import Logging
import Market
import Runtime

/// The running simulated exchange: the matching engine and market flow, the book publishers, every
/// connected WebSocket, fault state and statistics — one actor, so every change is ordered.
/// The server's network handlers call in; the step task calls `step(now:)`.
public actor SimExchange {
    public enum ConnectionKind: String, Sendable {
        case `public`, `private`, trade
        /// A Binance USD-M market-data connection (`/ws/…` or `/stream?streams=…`).
        case binance
    }

    struct Connection {
        var kind: ConnectionKind
        var connectionId: String
        var continuation: AsyncStream<SimOutgoing>.Continuation
        var topics: Set<String> = []
        var argsLength = 0
        var apiKey: String?
        /// Binance: frames wrapped as `{"stream","data"}` (`/stream?streams=…`).
        var combined = false
        var openedAt: Int64 = 0
    }

    public let configuration: SimConfiguration
    let logger: Logger
    var engine: MatchingEngine
    var flows: [String: FlowGenerator] = [:]
    var publishers: [BybitBookTopic: BookTopicPublisher] = [:]
    var pendingTrades: [String: [BybitTradePrint]] = [:]
    var recentTrades: [String: [BybitTradePrint]] = [:]
    var lastTradePrice: [String: Price] = [:]
    var lastTickDirection: [String: String] = [:]
    var candles: [String: [Candle]] = [:]
    var connections: [Int: Connection] = [:]
    var nextConnection = 0
    var secrets: [String: String] = [:]
    public internal(set) var stats = SimStats()
    public private(set) var flowPaused = false
    var stallUntil: Int64 = 0
    var rejectUntil: Int64 = 0
    var restErrorUntil: Int64 = 0
    var rateLimitUntil: Int64 = 0
    var latencyUntil: Int64 = 0
    var latencyMilliseconds = 0
    var sequence: Int64 = 0
    var stepCount = 0
    var orderStamps: [String: [Int64]] = [:]
    var ipStamps: [Int64] = []
    var dcpWindows: [String: Int64] = [:]
    var dcpLostAt: [String: Int64] = [:]
    var dcpArmed: Set<String> = []
    var privateMessageCounter = 0
    var tickers: [String: TickerPublisher] = [:]
    var replayMarket: ReplayMarket?
    var klineStarts: [String: Int64] = [:]
    /// Each account's executions, newest last (`/v5/execution/list`, `/v5/position/closed-pnl`).
    var executionLog: [String: [SimExecution]] = [:]
    /// Binance USD-M publishing (`configuration.venue == .binanceUSDM`).
    var binanceBooks: [String: BinanceDepthPublisher] = [:]
    var binanceTradeIds: [String: Int64] = [:]
    var binanceTouch: [String: [PriceLevel]] = [:]

    /// Orderbook depths served on the linear public stream, with their publishing period in steps
    /// (Bybit: 1 → 10 ms, 50 → 20 ms, 200 → 100 ms, 1000 → 200 ms; one step is 20 ms by default).
    static let bookDepths: [(depth: Int, period: Int)] = [(1, 1), (50, 1), (200, 5), (1_000, 10)]
    static let recentTradeLimit = 1_000

    public init(configuration: SimConfiguration, logger: Logger = Logger(label: "keel.sim")) {
        self.configuration = configuration
        self.logger = logger
        engine = MatchingEngine(instruments: configuration.instruments, seed: configuration.seed)
        let historyStart = KlineWindow.minuteStart(WallClock.nanoseconds())
        for (index, instrument) in configuration.instruments.enumerated() {
            let parameters = configuration.flow[instrument.symbol] ?? FlowParameters(startPrice: 100)
            let seed = configuration.seed &+ UInt64(index) &* 1_000_003
            flows[instrument.symbol] = FlowGenerator(instrument: instrument, parameters: parameters, seed: seed)
            // The seeded past ends where this flow's live market starts.
            if configuration.historyMinutes > 0 && configuration.replay == nil {
                candles[instrument.symbol] = SimHistory.candles(instrument: instrument, parameters: parameters, stepMilliseconds: configuration.stepMilliseconds,
                                                                start: historyStart, minutes: configuration.historyMinutes, seed: seed)
            }
            for (depth, _) in SimExchange.bookDepths {
                let topic = BybitBookTopic(symbol: instrument.symbol, depth: depth)
                publishers[topic] = BookTopicPublisher(topic: topic)
            }
            if configuration.venue == .binanceUSDM { binanceBooks[instrument.symbol] = BinanceDepthPublisher(symbol: instrument.symbol) }
        }
        if let replay = configuration.replay {
            replayMarket = ReplayMarket(source: replay.source)
            flowPaused = true   // the recording is the market
        }
        for account in configuration.accounts {
            secrets[account.apiKey] = account.secret
            engine.addAccount(SimAccount(apiKey: account.apiKey, walletBalance: account.balance,
                                         makerFeeRate: account.makerFeeRate, takerFeeRate: account.takerFeeRate))
        }
    }

    func instrument(_ symbol: String) -> Instrument? { engine.instruments[symbol] }

    // MARK: Connections

    /// Accepts a new WebSocket connection, or `nil` while the `reject` fault is on or at the cap.
    public func connect(_ kind: ConnectionKind, now: Int64) -> (id: Int, connectionId: String, outgoing: AsyncStream<SimOutgoing>)? {
        guard now >= rejectUntil, connections.count < configuration.maxConnections else {
            stats.connectionsRejected += 1
            return nil
        }
        let (stream, continuation) = AsyncStream.makeStream(of: SimOutgoing.self,
                                                            bufferingPolicy: .bufferingOldest(configuration.sendBufferLimit))
        nextConnection += 1
        let connectionId = "sim-\(kind.rawValue)-\(nextConnection)"
        connections[nextConnection] = Connection(kind: kind, connectionId: connectionId, continuation: continuation, openedAt: now)
        stats.connectionsOpened += 1
        stats.connectionsOpen = connections.count
        return (nextConnection, connectionId, stream)
    }

    public func disconnect(_ id: Int) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.continuation.finish()
        stats.connectionsOpen = connections.count
        if let apiKey = connection.apiKey { updateDisconnectCancel(apiKey: apiKey, now: WallClock.nanoseconds()) }
    }

    /// Queues a frame; a connection whose queue is full is a slow consumer and is closed.
    func send(_ text: String, to id: Int) {
        guard let connection = connections[id] else { return }
        switch connection.continuation.yield(.text(text)) {
        case .enqueued:
            stats.messagesSent += 1
            stats.bytesSent += text.utf8.count
        case .dropped, .terminated:
            connections[id] = nil
            connection.continuation.finish()
            stats.slowConsumersDisconnected += 1
            logger.warning("sim_slow_consumer_disconnected", metadata: [
                "connection": "\(connection.connectionId)",
                "reason": "send queue full (\(configuration.sendBufferLimit) frames): the client reads slower than the market publishes",
            ])
            stats.connectionsOpen = connections.count
            if let apiKey = connection.apiKey { updateDisconnectCancel(apiKey: apiKey, now: WallClock.nanoseconds()) }
        @unknown default:
            break
        }
    }

    func send(_ bytes: [UInt8], to id: Int) {
        send(String(decoding: bytes, as: UTF8.self), to: id)
    }

    /// Sends market data on `topic` to its subscribers (nothing while the `stall` fault is on).
    func publish(_ bytes: [UInt8], topic: String, now: Int64) {
        guard now >= stallUntil else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        for (id, connection) in connections where connection.topics.contains(topic) { send(text, to: id) }
    }

    // MARK: Requests on the public stream

    /// Handles one request from a public connection: ping, subscribe, unsubscribe.
    func receivePublic(_ id: Int, request: BybitRequest, now: Int64) {
        guard let connection = connections[id] else { return }
        switch request.op {
        case "ping":
            send(BybitEncode.pong(connectionId: connection.connectionId, requestId: request.requestId), to: id)
        case "subscribe":
            subscribe(id, request: request, now: now)
        case "unsubscribe":
            var unknown: [String] = []
            for topic in request.args {
                if connections[id]?.topics.remove(topic) != nil {
                    connections[id]?.argsLength -= topic.utf8.count
                } else {
                    unknown.append(topic)
                }
            }
            send(BybitEncode.response(op: "unsubscribe", success: unknown.isEmpty,
                                      message: unknown.isEmpty ? "" : "error:not subscribed,topic:\(unknown.joined(separator: ","))",
                                      connectionId: connection.connectionId, requestId: request.requestId), to: id)
        default:
            send(BybitEncode.response(op: request.op, success: false, message: "error:unknown op \(request.op)",
                                      connectionId: connection.connectionId, requestId: request.requestId), to: id)
        }
    }

    private func subscribe(_ id: Int, request: BybitRequest, now: Int64) {
        guard var connection = connections[id] else { return }
        var failures: [String] = []
        var added: [String] = []
        for topic in request.args {
            if connection.topics.contains(topic) {
                failures.append("error:already subscribed,topic:\(topic)")
            } else if !isPublicTopic(topic) {
                failures.append("error:handler not found,topic:\(topic)")
            } else if connection.argsLength + topic.utf8.count > configuration.maxArgsLength {
                failures.append("error:args length exceeds \(configuration.maxArgsLength),topic:\(topic)")
            } else {
                connection.topics.insert(topic)
                connection.argsLength += topic.utf8.count
                added.append(topic)
            }
        }
        connections[id] = connection
        send(BybitEncode.response(op: "subscribe", success: failures.isEmpty, message: failures.joined(separator: ";"),
                                  connectionId: connection.connectionId, requestId: request.requestId), to: id)
        // A new subscriber starts from the topic's current state.
        for topic in added {
            let parts = topic.split(separator: ".").map(String.init)
            if parts[0] == "tickers" { send(tickerSnapshot(parts[1], now: now), to: id) }
            if parts[0] == "kline", let candle = currentCandle(parts[2], interval: parts[1], now: now) {
                send(BybitEncode.kline(interval: parts[1], symbol: parts[2], candle: candle, confirmed: false, systemTime: now), to: id)
            }
            guard let bookTopic = publishers.keys.first(where: { $0.description == topic }), let publisher = publishers[bookTopic] else { continue }
            let snapshot = publisher.snapshot()
            send(BybitEncode.orderbook(topic: bookTopic, kind: .snapshot, bids: snapshot.bids, asks: snapshot.asks,
                                       updateId: snapshot.updateId, sequence: sequence, systemTime: now, matchingTime: now), to: id)
        }
    }

    func isPublicTopic(_ topic: String) -> Bool {
        if publishers.keys.contains(where: { $0.description == topic }) { return true }
        let parts = topic.split(separator: ".").map(String.init)
        if parts.count == 2, parts[0] == "publicTrade" || parts[0] == "tickers" { return instrument(parts[1]) != nil }
        if parts.count == 3, parts[0] == "kline" { return SimExchange.intervalMinutes(parts[1]) != nil && instrument(parts[2]) != nil }
        return false
    }

    // MARK: The market

    /// One step: the flow moves each market, trades and books are published.
    public func step(now: Int64) {
        stepCount += 1
        stats.steps += 1
        if !flowPaused {
            for symbol in flows.keys.sorted() {
                let events = flows[symbol]!.step(&engine, now: now)
                record(events, now: now)
                if !events.touchedAccounts.isEmpty { publishPrivate(events, now: now) }
            }
        }
        enforceDisconnectCancel(now: now)
        guard configuration.venue == .bybit else {
            publishBinanceMarket(now: now)
            return
        }
        publishTrades(now: now)
        for (depth, period) in SimExchange.bookDepths where stepCount % period == 0 {
            for instrument in configuration.instruments { publishBook(BybitBookTopic(symbol: instrument.symbol, depth: depth), now: now) }
        }
        if stepCount % SimExchange.tickerPeriodSteps == 0 { publishTickers(now: now) }
        if stepCount % SimExchange.klinePeriodSteps == 0 { publishKlines(now: now) }
    }

    func publishBook(_ topic: BybitBookTopic, now: Int64) {
        guard var publisher = publishers[topic] else { return }
        let depth = publisher.depth
        let message = publisher.publish(bids: engine.depth(topic.symbol, side: .buy, limit: depth),
                                        asks: engine.depth(topic.symbol, side: .sell, limit: depth), now: now)
        publishers[topic] = publisher
        guard let message, message.deliver else { return }
        sequence += 1
        publish(BybitEncode.orderbook(topic: topic, kind: message.kind, bids: message.bids, asks: message.asks,
                                      updateId: message.updateId, sequence: sequence, systemTime: now, matchingTime: now),
                topic: topic.description, now: now)
    }

    /// Books trades from an engine call into the tape, candles and the pending publicTrade batch.
    func record(_ events: EngineEvents, now: Int64) {
        for trade in events.trades {
            sequence += 1
            stats.trades += 1
            let previous = lastTradePrice[trade.symbol]
            let direction: String
            if let previous, trade.price > previous {
                direction = "PlusTick"
            } else if let previous, trade.price < previous {
                direction = "MinusTick"
            } else {
                direction = (lastTickDirection[trade.symbol] ?? "ZeroPlusTick").hasPrefix("Minus") || lastTickDirection[trade.symbol] == "ZeroMinusTick"
                    ? "ZeroMinusTick" : "ZeroPlusTick"
            }
            lastTickDirection[trade.symbol] = direction
            lastTradePrice[trade.symbol] = trade.price
            let print = BybitTradePrint(time: trade.time, symbol: trade.symbol, side: trade.side, qty: trade.qty,
                                        price: trade.price, tickDirection: direction, tradeId: trade.tradeId, sequence: sequence)
            pendingTrades[trade.symbol, default: []].append(print)
            recentTrades[trade.symbol, default: []].append(print)
            if recentTrades[trade.symbol]!.count > SimExchange.recentTradeLimit * 2 {
                recentTrades[trade.symbol]!.removeFirst(SimExchange.recentTradeLimit)
            }
            addToCandle(trade, now: now)
        }
    }

    private func addToCandle(_ trade: SimTrade, now: Int64) {
        let minute: Int64 = 60_000_000_000
        let start = trade.time - ((trade.time % minute) + minute) % minute
        // In place: a copy of the list (days of minutes, with a past) on every trade would cost more than the trade.
        if candles[trade.symbol]?.last?.start != start {
            candles[trade.symbol, default: []].append(Candle(start: start, end: start + minute, open: trade.price))
            let kept = max(configuration.klineHistoryMinutes, configuration.historyMinutes + 1_440)
            let count = candles[trade.symbol]!.count
            // Trimmed an hour at a time, not one minute on every new minute.
            if count > kept + 60 { candles[trade.symbol]!.removeFirst(count - kept) }
        }
        candles[trade.symbol]![candles[trade.symbol]!.count - 1].add(price: trade.price, qty: trade.qty, aggressor: trade.side)
    }

    private func publishTrades(now: Int64) {
        for (symbol, trades) in pendingTrades where !trades.isEmpty {
            // Bybit sends at most 1024 trades a message.
            var start = 0
            while start < trades.count {
                let batch = Array(trades[start..<min(start + 1_024, trades.count)])
                publish(BybitEncode.publicTrades(symbol: symbol, trades: batch, systemTime: now), topic: "publicTrade.\(symbol)", now: now)
                start += 1_024
            }
        }
        pendingTrades.removeAll(keepingCapacity: true)
    }

    public func setFlowPaused(_ paused: Bool) {
        // A replayed market has no synthetic flow to resume.
        flowPaused = paused || replayMarket != nil
    }

    /// Applies recorded messages (the replay service's batch) to the market.
    public func replay(_ messages: [[UInt8]], now: Int64) {
        guard var market = replayMarket else { return }
        for message in messages {
            let events = message.withUnsafeBytes { market.apply($0, engine: &engine, now: now) }
            record(events, now: now)
            if !events.touchedAccounts.isEmpty { publishPrivate(events, now: now) }
        }
        replayMarket = market
        stats.replayMessages = market.stats.messages
        stats.replayErrors = market.stats.errors
    }

    public func replayStats() -> FeedStats { replayMarket?.stats ?? FeedStats() }

    // MARK: Faults

    public func apply(_ fault: SimFault, now: Int64) throws(SimError) {
        let seconds = Int64((fault.seconds ?? 0) * 1_000_000_000)
        if let symbol = fault.symbol, instrument(symbol) == nil { throw .parameter("unknown symbol \(symbol)") }
        switch fault.kind {
        case .drop:
            closeAll(code: 1001, reason: "sim fault: drop")
        case .closeCode:
            let code = fault.code ?? 1011
            guard (1000...4999).contains(code) else { throw .parameter("close code must be 1000–4999") }
            closeAll(code: UInt16(code), reason: "sim fault: close_code")
        case .stall:
            guard seconds > 0 else { throw .parameter("stall needs seconds > 0") }
            stallUntil = now + seconds
        case .reject:
            guard seconds > 0 else { throw .parameter("reject needs seconds > 0") }
            rejectUntil = now + seconds
        case .restError:
            guard seconds > 0 else { throw .parameter("rest_error needs seconds > 0") }
            restErrorUntil = now + seconds
        case .rateLimit:
            guard seconds > 0 else { throw .parameter("rate_limit needs seconds > 0") }
            rateLimitUntil = now + seconds
        case .latency:
            guard seconds > 0, let ms = fault.ms, ms >= 0 else { throw .parameter("latency needs seconds > 0 and ms >= 0") }
            latencyUntil = now + seconds
            latencyMilliseconds = ms
        case .gap, .puBreak:
            for symbol in binanceBooks.keys where fault.symbol == nil || symbol == fault.symbol { binanceBooks[symbol]!.breakNext() }
            for topic in publishers.keys where fault.symbol == nil || topic.symbol == fault.symbol {
                publishers[topic]!.skipNextDelta()
            }
        case .restart:
            guard configuration.venue == .bybit else { throw .parameter("restart is Bybit's u == 1; on binance-usdm use pu_break") }
            for topic in publishers.keys.sorted(by: { $0.description < $1.description }) where fault.symbol == nil || topic.symbol == fault.symbol {
                let message = publishers[topic]!.restart(now: now)
                sequence += 1
                publish(BybitEncode.orderbook(topic: topic, kind: .snapshot, bids: message.bids, asks: message.asks,
                                              updateId: message.updateId, sequence: sequence, systemTime: now, matchingTime: now),
                        topic: topic.description, now: now)
            }
        case .malformed:
            let broken = #"{"topic":"orderbook.50.\#(fault.symbol ?? "BTCUSDT")","type":"delta","data":{"s":"#
            let binance = #"{"stream":"\#((fault.symbol ?? "BTCUSDT").lowercased())@depth","data":{"e":"depthUpdate","s":"#
            for (id, connection) in connections where connection.kind == .public || connection.kind == .binance {
                send(connection.kind == .binance ? binance : broken, to: id)
            }
        case .expire:
            for (id, connection) in connections where connection.kind == .binance { close(id, code: 1001, reason: "connection lifetime reached") }
        }
        stats.faultsApplied[fault.kind.rawValue, default: 0] += 1
        logger.info("sim_fault_applied", metadata: ["kind": "\(fault.kind.rawValue)", "seconds": "\(fault.seconds ?? 0)", "symbol": "\(fault.symbol ?? "all")"])
    }

    func closeAll(code: UInt16, reason: String) {
        let accounts = Set(connections.values.compactMap(\.apiKey))
        for id in connections.keys { close(id, code: code, reason: reason) }
        for apiKey in accounts { updateDisconnectCancel(apiKey: apiKey, now: WallClock.nanoseconds()) }
    }

    /// Closes one connection with `code` (the exchange's side of a close).
    func close(_ id: Int, code: UInt16, reason: String) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        connection.continuation.yield(.close(code: code, reason: reason))
        connection.continuation.finish()
        stats.connectionsOpen = connections.count
    }

    /// The extra delay REST answers and trade acks get now (the `latency` fault).
    public func currentLatency(now: Int64) -> Int { now < latencyUntil ? latencyMilliseconds : 0 }
    public func restErrorActive(now: Int64) -> Bool { now < restErrorUntil }
    public func rateLimitActive(now: Int64) -> Bool { now < rateLimitUntil }

    // MARK: Truth

    /// The sim's true book of `symbol`, with the last `u` published on each orderbook topic.
    public func truthBook(symbol: String, depth: Int, now: Int64) -> [UInt8]? {
        guard instrument(symbol) != nil else { return nil }
        var out = JSONWriter(capacity: 256 + depth * 64)
        out.beginObject()
        out.field("symbol", symbol)
        out.key("bids")
        out.priceLevels(engine.depth(symbol, side: .buy, limit: depth))
        out.key("asks")
        out.priceLevels(engine.depth(symbol, side: .sell, limit: depth))
        out.key("topics")
        out.beginObject()
        for (topic, publisher) in publishers.sorted(by: { $0.key.description < $1.key.description }) where topic.symbol == symbol {
            out.field(topic.description, publisher.updateId)
        }
        out.endObject()
        if let publisher = binanceBooks[symbol] { out.field("update_id", publisher.updateId) }
        out.field("flow_paused", flowPaused)
        out.field("time", now / 1_000_000)
        out.endObject()
        return out.bytes
    }

    public func truthStats() -> SimStats { stats }

    func countRestRequest() { stats.restRequests += 1 }
}

extension SimExchange {
    /// Routes one received text frame by the connection's stream.
    public func receive(_ id: Int, kind: ConnectionKind, text: String, now: Int64) {
        guard let connection = connections[id] else { return }
        guard kind != .binance else {
            receiveBinance(id, text: text)
            return
        }
        var copy = text
        let request: BybitRequest
        do {
            request = try copy.withUTF8 { try BybitRequest.decode(UnsafeRawBufferPointer($0)) }
        } catch {
            send(BybitEncode.response(op: "", success: false, message: "error:invalid request: \(error)",
                                      connectionId: connection.connectionId, requestId: nil), to: id)
            return
        }
        switch kind {
        case .public: receivePublic(id, request: request, now: now)
        case .private: receivePrivate(id, request: request, now: now)
        case .trade: receiveTrade(id, request: request, now: now)
        case .binance: break
        }
    }
}
