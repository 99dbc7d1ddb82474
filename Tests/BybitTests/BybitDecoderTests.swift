import Bybit
import Foundation
import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

private func decode(_ json: String, receiveTime: Int64 = 0) throws -> BybitPublicMessage {
    var decoder = BybitDecoder()
    return try json.withBytes { try decoder.decode($0, receiveTime: receiveTime) }
}

struct BybitDecoderTests {
    @Test func everyPublicDocsExampleParses() throws {
        let files = try SharedData.docsExamples(prefix: "websocket_public_")
        #expect(files.count == 9)
        var decoded = 0
        for file in files {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                #expect(throws: Never.self, "\(file.lastPathComponent): \(line.prefix(80))") {
                    _ = try decode(String(line))
                }
                decoded += 1
            }
        }
        #expect(decoded == 14)
    }

    @Test func orderbookDocsExampleHasExactLevels() throws {
        let line = try String(contentsOf: SharedData.url("bybit/docs-examples/websocket_public_orderbook.ndjson"), encoding: .utf8)
            .split(separator: "\n").first { $0.contains("\"topic\"") }!
        guard case .depth(let message) = try decode(String(line), receiveTime: 5) else {
            Issue.record("not a depth message")
            return
        }
        #expect(message.topic == BybitBookTopic(symbol: "BTCUSDT", depth: 50))
        #expect(message.update.kind == .delta)
        #expect(message.update.lastUpdateId == 177_400_507)
        #expect(message.update.sequence == 66_544_703_342)
        #expect(message.update.exchangeTime == 1_687_940_967_466_000_000)
        #expect(message.matchingTime == 1_687_940_967_464_000_000)
        #expect(message.update.receiveTime == 5)
        #expect(message.update.bids.first == PriceLevel(price: d("30247.20"), qty: d("30.028")))
        #expect(message.update.bids.last == PriceLevel(price: d("30240.00"), qty: d("0")))
        #expect(message.update.asks.count == 7)
    }

    @Test func tradeDocsExampleDecodesEveryField() throws {
        let line = try SharedData.lines("bybit/recorded-sample.txt")[1]
        let json = String(line.split(separator: " ", maxSplits: 1)[1])
        guard case .trades(let trades) = try decode(json, receiveTime: 1_758_841_138_293_664_629) else {
            Issue.record("not trades")
            return
        }
        #expect(trades == [TradeTick(symbol: "BTCUSDT", price: d("109378.90"), qty: d("0.020"), aggressor: .buy,
                                     tradeId: "2a74ac78-691c-5b54-9dbe-5aafe8364627",
                                     exchangeTime: 1_758_841_135_823_000_000, receiveTime: 1_758_841_138_293_664_629)])
    }

    @Test func rpiAndFullTopicsAreBooks() throws {
        for file in ["websocket_public_orderbook-rpi.ndjson", "websocket_public_full-ob.ndjson"] {
            let line = try SharedData.lines("bybit/docs-examples/\(file)").first { $0.contains("\"topic\"") }!
            guard case .depth(let message) = try decode(line) else {
                Issue.record("\(file) is not a depth message")
                continue
            }
            #expect(message.topic.depth == nil)
            if message.topic.isRPI {
                // ["121975.1","0.114259","0"] and ["121960.5","0","0.163986"]: the book holds the sum.
                #expect(message.update.bids.first?.qty == d("0.114259"))
                #expect(message.update.bids.last?.qty == d("0.163986"))
            }
        }
    }

    @Test func acksPongsAndErrorAnswersAreRecognised() throws {
        let ack = try decode(#"{"success":true,"ret_msg":"","conn_id":"c1","req_id":"1","op":"subscribe"}"#)
        #expect(ack == .response(BybitResponse(op: "subscribe", success: true, message: "", requestId: "1", connectionId: "c1", retCode: nil)))
        guard case .response(let pong) = try decode(#"{"success":true,"ret_msg":"pong","conn_id":"c1","req_id":"9","op":"ping"}"#),
              case .response(let spotPong) = try decode(#"{"req_id":"9","op":"pong","args":["1675418560633"],"conn_id":"c"}"#) else {
            Issue.record("pongs not recognised")
            return
        }
        #expect(pong.isPong && spotPong.isPong)
        guard case .response(let failure) = try decode(#"{"success":false,"ret_msg":"error:handler not found,topic:foo.BTCUSDT","conn_id":"c","req_id":"2","op":"subscribe"}"#) else {
            Issue.record("error answer not recognised")
            return
        }
        #expect(!failure.success && failure.message.contains("handler not found"))
        #expect(try decode(#"{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}"#) == .request(op: "subscribe"))
        #expect(try decode(#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT"},"ts":1}"#) == .other(topic: "tickers.BTCUSDT"))
    }

    @Test func dataBeforeTopicDecodesTheSame() throws {
        let ordered = #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.0","2"]],"a":[],"u":5,"seq":9},"cts":1}"#
        let reordered = #"{"data":{"seq":9,"u":5,"a":[],"b":[["1.0","2"]],"s":"BTCUSDT"},"cts":1,"ts":1,"type":"delta","topic":"orderbook.50.BTCUSDT"}"#
        #expect(try decode(ordered) == decode(reordered))
    }

    @Test(arguments: [
        #"{"topic":"orderbook.50.BTCUSDT","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}"#,   // no type
        #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[]}}"#, // no u
        #"{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"b":[["1"]],"a":[],"u":2}}"#,     // level without size
        #"{"topic":"orderbook.x.BTCUSDT","type":"delta","data":{"b":[],"a":[],"u":2}}"#,          // bad depth
        #"{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"S":"Up","v":"1","p":"1"}]}"#,            // bad side
        #"{"ts":1}"#, "[]", "",
    ])
    func wrongShapesAreTypedErrors(json: String) {
        #expect(throws: JSONError.self) { try decode(json) }
    }
}
