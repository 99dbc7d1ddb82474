import Connector
import ConnectorWire
import Market
import Supervisor
import Testing

struct EventQueueTests {
    private func depth(_ symbol: String, _ u: Int64) -> ConnectorEvent {
        .depth(.init(update: DepthUpdate(symbol: symbol, kind: .delta, lastUpdateId: u), depth: 50))
    }

    @Test func whenFullMarketDataGoesOldestFirstAndAccountEventsNever() async {
        let queue = EventQueue(capacity: 3)
        queue.push(depth("BTCUSDT", 1))
        queue.push(.ack(id: "a", command: "place"))
        queue.push(depth("ETHUSDT", 2))
        queue.push(depth("BTCUSDT", 3))                   // full: the oldest depth (u 1) makes room
        queue.push(.ack(id: "b", command: "cancel"))      // full: the next oldest depth (u 2) makes room
        queue.push(.ack(id: "c", command: "cancel"))      // full: the last depth (u 3) makes room
        queue.push(.ack(id: "d", command: "cancel"))      // full of acks: kept past the bound
        queue.push(depth("BTCUSDT", 4))                   // full of acks: the new depth itself is dropped
        #expect(queue.count == 4)
        #expect(queue.droppedCount == 4)
        #expect(queue.takeDroppedDepth() == ["BTCUSDT", "ETHUSDT"])
        #expect(queue.takeDroppedDepth().isEmpty)
        queue.finish()
        var drained: [ConnectorEvent] = []
        while let event = await queue.next() { drained.append(event) }
        #expect(drained.map { if case .ack(let id, _) = $0 { id } else { "?" } } == ["a", "b", "c", "d"])
    }

    @Test func aWaitingConsumerGetsTheNextEvent() async {
        let queue = EventQueue(capacity: 10)
        async let first = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        queue.push(.pong(id: "1"))
        #expect(await first == .pong(id: "1"))
    }
}

/// The bot's side of the wire reads back exactly what the connector writes.
struct ConnectorEventDecodeTests {
    @Test func everyEventTypeRoundTrips() throws {
        let d = { (text: String) in try FixedDecimal(parsing: text) }
        let events: [ConnectorEvent] = [
            .status(.init(status: .reconnecting, session: "public", reason: "closed (code 1001)", attempt: 2, retryDelayMilliseconds: 1_130)),
            .status(.init(status: .resynced, reason: "sequence gap", topic: "orderbook.50.BTCUSDT")),
            .trade(TradeTick(symbol: "BTCUSDT", price: try d("50000.10"), qty: try d("0.012"), aggressor: .sell, tradeId: "t-1",
                             exchangeTime: 1_717_440_000_123_000_000, receiveTime: 1_717_440_000_124_567_891)),
            .depth(.init(update: DepthUpdate(symbol: "BTCUSDT", kind: .snapshot, bids: [PriceLevel(price: try d("49999.9"), qty: try d("1.500"))],
                                             asks: [PriceLevel(price: try d("50000.1"), qty: try d("0"))], lastUpdateId: 42,
                                             exchangeTime: 1_717_440_000_000_000_000, receiveTime: 1_717_440_000_001_000_001), depth: 50)),
            .order(OrderUpdate(symbol: "BTCUSDT", orderId: "o1", clientId: "c1", side: .buy, orderType: "Limit", timeInForce: "PostOnly",
                               price: try d("50000.5"), qty: try d("0.010"), filledQty: try d("0.004"), averagePrice: try d("50000.5"),
                               state: .partiallyFilled, reduceOnly: true, rejectReason: "EC_NoError", cancelType: "UNKNOWN",
                               createdTime: 0, updatedTime: 1_717_440_000_999_000_000)),
            .orderUnknown(symbol: "BTCUSDT", clientId: "c2", reason: "no ack within 3 seconds"),
            .fill(Fill(symbol: "BTCUSDT", orderId: "o1", clientId: "c1", executionId: "e1", side: .buy, price: try d("50000.5"), qty: try d("0.004"),
                       fee: try d("0.0200002"), feeRate: try d("0.0001"), isMaker: true, leavesQty: try d("0.006"), closedSize: try d("0"),
                       time: 1_717_440_001_000_000_000)),
            .position(PositionUpdate(symbol: "BTCUSDT", size: try d("-0.004"), entryPrice: try d("50000.5"), markPrice: try d("50001"),
                                     unrealisedPnl: try d("-0.002"), realisedPnl: try d("1.5"), updatedTime: 1_717_440_002_000_000_000)),
            .wallet(WalletUpdate(coin: "USDT", walletBalance: try d("100000"), equity: try d("99999.9"), availableBalance: try d("99000.12"),
                                 unrealisedPnl: try d("-0.1"), time: 1_717_440_003_000_000_000)),
            .pong(id: "p1"), .pong(id: nil), .ack(id: "x", command: "cancel_all"),
            .openOrders(id: "open-1", symbol: "BTCUSDT", count: 3), .openOrders(id: nil, symbol: "ETHUSDT", count: 0),
            .instrument(id: "instrument-1", instrument: Instrument(symbol: "BTCUSDT", tickSize: try d("0.10"), qtyStep: try d("0.001"), minQty: try d("0.001"),
                                                                   maxQty: try d("1190.000"), minNotional: try d("5")), status: .trading),
            .instrument(id: nil, instrument: Instrument(symbol: "BIOUSDT", tickSize: try d("0.0001"), qtyStep: try d("1"), minQty: try d("1")),
                        status: .preLaunch),
            .error(.init(message: "Bybit refused place: OrderLinkedID is duplicate", code: "duplicate_client_id", id: "dup", clientId: "c1", exchangeCode: 110072)),
            .stats(.init(topics: ["orderbook.50.BTCUSDT": .init(messages: 10, bytes: 2_000, errors: 1, lastMessageAgeMilliseconds: 12),
                                  "private.order": .init(messages: 0, bytes: 0, errors: 0, lastMessageAgeMilliseconds: nil)],
                         reconnects: 1, resyncs: 2, malformed: 3, pingRTTMilliseconds: 0.512, rateLimitRemaining: 9)),
        ]
        for event in events {
            #expect(try ConnectorEvent.decode(event.line) == event, "\(String(decoding: event.line, as: UTF8.self))")
        }
        for bad in ["", "{}", #"{"type":"depth","symbol":"X"}"#, #"{"type":"teleport"}"#, #"{"type":"order","symbol":"X","order_id":"1","side":"up"}"#] {
            #expect(throws: ConnectorEvent.DecodeError.self) { try ConnectorEvent.decode(Array(bad.utf8)) }
        }
    }
}
