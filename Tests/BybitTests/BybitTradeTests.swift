import Bybit
import Market
import Testing
import TestSupport

/// Order entry on Bybit's wire: requests as the trade stream and REST take them, and every answer in
/// Bybit's own examples read back.
struct BybitTradeTests {
    private func lines(_ file: String) throws -> [String] { try SharedData.lines("bybit/docs-examples/\(file).ndjson") }

    @Test func tradeStreamRequestHasBybitsShape() throws {
        let create = BybitOrderRequest.create(PlaceRequest(symbol: "ETHUSDT", side: .buy, type: .limit, qty: try FixedDecimal(parsing: "0.20"),
                                                           price: try FixedDecimal(parsing: "2800.50"), timeInForce: .postOnly,
                                                           orderLinkId: "keel-1", reduceOnly: true))
        let text = try #require(BybitEncode.tradeRequest(requestId: "r-9", create, timestamp: 1_711_001_595_207_000_000, recvWindow: 8_000))
        #expect(text == #"{"reqId":"r-9","header":{"X-BAPI-TIMESTAMP":"1711001595207","X-BAPI-RECV-WINDOW":"8000"},"op":"order.create","args":[{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"0.20","price":"2800.50","timeInForce":"PostOnly","orderLinkId":"keel-1","reduceOnly":true}]}"#)
        let request = try text.withBytes { try BybitRequest.decode($0) }
        #expect(request.op == "order.create" && request.requestId == "r-9" && request.objectArgs.count == 1)
        #expect(BybitOrderRequest.amend(symbol: "BTCUSDT", orderLinkId: "a", qty: nil, price: try FixedDecimal(parsing: "1.5")).body
                == #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"a","price":"1.5"}"#)
        #expect(BybitOrderRequest.cancel(symbol: "BTCUSDT", orderLinkId: "a").restPath == "/v5/order/cancel")
        #expect(BybitOrderRequest.cancelAll(symbol: nil).body == #"{"category":"linear","settleCoin":"USDT"}"#)
        #expect(BybitEncode.tradeRequest(requestId: "x", .cancelAll(symbol: "BTCUSDT"), timestamp: 0) == nil)   // REST only
    }

    @Test func tradeStreamAnswersFromBybitsGuide() throws {
        let answers = try lines("websocket_trade_guideline").filter { $0.contains("retCode") }
            .map { line in try line.withBytes { try BybitTradeAck.decode($0) } }
        let auth = try #require(answers.first { $0.op == "auth" })
        #expect(auth.success && auth.requestId == nil)
        let create = try #require(answers.first { $0.op == "order.create" })
        #expect(create.requestId == "test-005" && create.orderId == "a4c1718e-fe53-4659-a118-1f6ecce04ad9" && create.orderLinkId == nil)
        #expect(create.rateLimit == BybitRateLimit(limit: 10, remaining: 9, resetTime: 1_711_001_595_208_000_000))
        #expect(answers.contains { $0.op == "pong" && $0.success })
        #expect(answers.first { $0.op == "order.create-batch" }?.rateLimit?.remaining == 147)
        #expect(throws: JSONError.self) { try #"{"retCode":0}"#.withBytes { try BybitTradeAck.decode($0) } }
    }

    @Test func restAnswersFromBybitsExamples() throws {
        let open = try lines("order_open-order").map { line in try line.withBytes { try BybitRestAnswer.decode($0) } }
        let order = try #require(open.first?.orders().first)
        #expect(order.symbol == "ETHUSDT" && order.clientId == "test-000005" && order.state == .new)
        let (price, qty) = (try FixedDecimal(parsing: "1600.00"), try FixedDecimal(parsing: "0.10"))
        #expect(order.price == price && order.qty == qty)

        let position = try #require(try lines("position_position").first.map { line in try line.withBytes { try BybitRestAnswer.decode($0) } }?.positions().first)
        #expect(position.size == (try FixedDecimal(parsing: "-300")))   // side Sell
        #expect(position.markPrice == (try FixedDecimal(parsing: "28224.50")))
        #expect(position.realisedPnl == (try FixedDecimal(parsing: "-0.00096902")))

        let wallet = try #require(try lines("account_wallet-balance").first.map { line in try line.withBytes { try BybitRestAnswer.decode($0) } })
        #expect(try wallet.wallets().map(\.coin) == ["BTC"])

        let cancelled = try #require(try lines("order_cancel-all").first.map { line in try line.withBytes { try BybitRestAnswer.decode($0) } })
        #expect(cancelled.list.compactMap { $0.string("orderLinkId") } == ["1616024329462743809", "1616024287544869633"])
        let created = try #require(try lines("order_create-order").first.map { line in try line.withBytes { try BybitRestAnswer.decode($0) } })
        #expect(created.success && created.result.string("orderLinkId") == "spot-test-postonly" && created.time == 1_672_211_918_471_000_000)

        let refused = try #"{"retCode":110072,"retMsg":"OrderLinkedID is duplicate","result":{},"retExtInfo":{},"time":1}"#.withBytes { try BybitRestAnswer.decode($0) }
        #expect(!refused.success && refused.retCode == 110072)
        #expect(throws: JSONError.self) { try #"{"retMsg":"no code"}"#.withBytes { try BybitRestAnswer.decode($0) } }
    }

    /// `/v5/market/instruments-info`: Bybit's own examples (an option and a spot pair: their filters have the
    /// linear shape, spot's lot step is `basePrecision`), and a linear perpetual written from the documented fields.
    @Test func instrumentsFromBybitsExamples() throws {
        let d = { (text: String) in try FixedDecimal(parsing: text) }
        let examples = try lines("market_instrument").map { line in try line.withBytes { try BybitRestAnswer.decode($0) } }
        let option = try #require(try examples.first?.instruments().first)
        #expect(option == BybitInstrument(instrument: Instrument(symbol: "BTC-27MAR26-70000-P-USDT", tickSize: try d("5"), qtyStep: try d("0.01"),
                                                                 minQty: try d("0.01"), maxQty: try d("500")), status: .trading))
        let spot = try #require(try examples.last?.instruments().first)
        #expect(spot.instrument == Instrument(symbol: "BTCUSDT", tickSize: try d("0.1"), qtyStep: try d("0.000001"), minQty: try d("0.000011"),
                                              maxQty: try d("83"), minNotional: try d("5")))

        let linear = #"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","#
            + #""priceScale":"2","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"#
            + #""priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"},"#
            + #""lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001","postOnlyMaxOrderQty":"1190.000","maxMktOrderQty":"500.000","minNotionalValue":"5"},"#
            + #""unifiedMarginTrade":true,"fundingInterval":480,"settleCoin":"USDT","preListingInfo":null}],"nextPageCursor":""},"retExtInfo":{},"time":1735809771618}"#
        let perpetual = try #require(try linear.withBytes { try BybitRestAnswer.decode($0) }.instruments().first)
        #expect(perpetual.instrument == Instrument(symbol: "BTCUSDT", tickSize: try d("0.10"), qtyStep: try d("0.001"), minQty: try d("0.001"),
                                                   maxQty: try d("1190.000"), minNotional: try d("5")))
        #expect(perpetual.instrument.tickSize.description == "0.10", "the exchange's text is kept")

        let broken = #"{"retCode":0,"retMsg":"OK","result":{"list":[{"symbol":"X","priceFilter":{"tickSize":"0.1.2"},"lotSizeFilter":{"qtyStep":"1","minOrderQty":"1"}}]},"time":1}"#
        #expect(throws: JSONError.self) { try broken.withBytes { try BybitRestAnswer.decode($0) }.instruments() }
    }

    @Test func rateLimitHeadersNeedAllThree() {
        let headers = ["x-bapi-limit": "20", "x-bapi-limit-status": "0", "x-bapi-limit-reset-timestamp": "1700000000123"]
        #expect(BybitRateLimit { headers[$0.lowercased()] } == BybitRateLimit(limit: 20, remaining: 0, resetTime: 1_700_000_000_123_000_000))
        #expect(BybitRateLimit { $0 == "X-Bapi-Limit" ? "20" : nil } == nil)
    }
}
