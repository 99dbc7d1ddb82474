import Bybit
import ExchangeSim
import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
private let btc = Instrument(symbol: "BTCUSDT", tickSize: d("0.10"), qtyStep: d("0.001"), minQty: d("0.001"))

@Suite(.offThePool)
struct BookTopicPublisherTests {
    /// Publishes a simulated market through the publisher, applies what it sends with the client's
    /// own Bybit book sync, and compares with the engine's truth after every step.
    @Test(arguments: [1, 50, 200])
    func clientBookFollowsTheTruthWithContiguousUpdateIds(depth: Int) throws {
        var engine = MatchingEngine(instruments: [btc], seed: 4)
        var flow = FlowGenerator(instrument: btc, parameters: FlowParameters(startPrice: 60_000), seed: 4)
        var publisher = BookTopicPublisher(topic: BybitBookTopic(symbol: "BTCUSDT", depth: depth))
        var client = BybitBookSync(depth: depth)
        var decoder = BybitDecoder()
        var lastId: Int64 = BookTopicPublisher.firstUpdateId - 1
        var deltas = 0
        for step in 0..<1_500 {
            let now = Int64(step) * 20_000_000
            _ = flow.step(&engine, now: now)
            var messages: [BookTopicPublisher.Message] = []
            if step == 10 { messages.append(publisher.snapshot()) }
            if let message = publisher.publish(bids: engine.depth("BTCUSDT", side: .buy, limit: depth),
                                               asks: engine.depth("BTCUSDT", side: .sell, limit: depth), now: now), step >= 10 {
                messages.append(message)
            }
            for message in messages {
                let bytes = BybitEncode.orderbook(topic: publisher.topic, kind: message.kind, bids: message.bids, asks: message.asks,
                                                  updateId: message.updateId, sequence: Int64(step), systemTime: now, matchingTime: now)
                guard case .depth(let decoded) = try bytes.withUnsafeBytes({ try decoder.decode($0, receiveTime: now) }) else {
                    Issue.record("not a depth message")
                    return
                }
                if message.kind == .delta {
                    #expect(message.updateId == lastId + 1)
                    deltas += 1
                }
                lastId = message.updateId
                let outcome = client.apply(decoded.update)
                #expect(outcome == .deltaApplied || outcome == .snapshotApplied)
            }
            if step >= 10 {
                #expect(client.book.levels(.bid) == engine.depth("BTCUSDT", side: .buy, limit: depth))
                #expect(client.book.levels(.ask) == engine.depth("BTCUSDT", side: .sell, limit: depth))
                #expect(client.book.bidCount <= depth && client.book.askCount <= depth)
            }
        }
        #expect(client.isValid)
        if depth > 1 { #expect(deltas > 1_000) }
    }

    @Test func gapAndRestartFaultsReachTheClientAsBybitWouldSendThem() {
        var publisher = BookTopicPublisher(topic: BybitBookTopic(symbol: "BTCUSDT", depth: 50))
        let bid = [PriceLevel(price: d("100.0"), qty: d("1"))]
        _ = publisher.publish(bids: bid, asks: [], now: 0)
        publisher.skipNextDelta()
        let first = BookTopicPublisher.firstUpdateId
        let skipped = publisher.publish(bids: [PriceLevel(price: d("100.0"), qty: d("2"))], asks: [], now: 1)
        #expect(skipped?.deliver == false && skipped?.updateId == first + 1)
        let next = publisher.publish(bids: [PriceLevel(price: d("100.0"), qty: d("3"))], asks: [], now: 2)
        #expect(next?.deliver == true && next?.updateId == first + 2)
        let restart = publisher.restart(now: 3)
        #expect(restart.kind == .snapshot && restart.updateId == 1 && restart.bids == [PriceLevel(price: d("100.0"), qty: d("3"))])
        #expect(publisher.publish(bids: bid, asks: [], now: 4)?.updateId == 2)
    }

    @Test func depthOneResendsItsSnapshotEveryThreeSeconds() {
        var publisher = BookTopicPublisher(topic: BybitBookTopic(symbol: "BTCUSDT", depth: 1))
        let bid = [PriceLevel(price: d("100.0"), qty: d("1"))]
        #expect(publisher.publish(bids: bid, asks: [], now: 0)?.updateId == BookTopicPublisher.firstUpdateId)
        #expect(publisher.publish(bids: bid, asks: [], now: 2_000_000_000) == nil)
        let resent = publisher.publish(bids: bid, asks: [], now: 3_000_000_000)
        #expect(resent?.kind == .snapshot && resent?.updateId == BookTopicPublisher.firstUpdateId)
    }
}
