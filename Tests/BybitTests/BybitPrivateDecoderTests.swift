import Bybit
import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

struct BybitPrivateDecoderTests {
    private func decode(_ file: String) throws -> BybitPrivateMessage {
        let line = try SharedData.lines("bybit/docs-examples/\(file)").first { $0.contains("\"topic\"") }!
        return try line.withBytes { try BybitPrivateDecoder().decode($0) }
    }

    @Test func everyPrivateDocsExampleParses() throws {
        for file in try SharedData.docsExamples(prefix: "websocket_private_") {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                #expect(throws: Never.self, "\(file.lastPathComponent)") { try String(line).withBytes { try BybitPrivateDecoder().decode($0) } }
            }
        }
    }

    @Test func orderExample() throws {
        guard case .orders(let orders) = try decode("websocket_private_order.ndjson") else { Issue.record("not orders"); return }
        let order = try #require(orders.first)
        #expect(order.symbol == "ETH-30DEC22-1400-C" && order.orderId == "5cf98598-39a7-459e-97bf-76ca765ee020")
        #expect(order.side == .sell && order.orderType == "Market" && order.timeInForce == "IOC" && order.state == .filled)
        #expect(order.price == d("72.5") && order.qty == d("1") && order.filledQty == d("1") && order.averagePrice == d("75"))
        #expect(order.rejectReason == "EC_NoError" && order.cancelType == "UNKNOWN" && !order.reduceOnly)
        #expect(order.createdTime == 1_672_364_262_444_000_000 && order.updatedTime == 1_672_364_262_457_000_000)
    }

    @Test func executionExample() throws {
        guard case .fills(let fills) = try decode("websocket_private_execution.ndjson") else { Issue.record("not fills"); return }
        #expect(fills == [Fill(symbol: "BTCUSDT", orderId: "9aac161b-8ed6-450d-9cab-c5cc67c21784", clientId: "",
                               executionId: "0ab1bdf7-4219-438b-b30a-32ec863018f7", side: .sell, price: d("95900.1"), qty: d("0.5"),
                               fee: d("26.3725275"), feeRate: d("0.00055"), isMaker: false, leavesQty: d("0"), closedSize: d("0.5"),
                               time: 1_746_270_400_353_000_000)])
    }

    @Test func positionAndWalletExamples() throws {
        guard case .positions(let positions) = try decode("websocket_private_position.ndjson") else { Issue.record("not positions"); return }
        #expect(positions.first?.symbol == "BTCUSDT" && positions.first?.size == .zero && positions.first?.realisedPnl == d("-25.06579337"))
        guard case .wallets(let wallets) = try decode("websocket_private_wallet.ndjson") else { Issue.record("not wallets"); return }
        #expect(wallets.first?.coin == "BTC" && wallets.first?.walletBalance == d("0.00102964") && wallets.first?.equity == d("0.00102964"))
    }

    @Test func answersAndPongsAreResponses() throws {
        let auth = try #"{"success":true,"ret_msg":"","op":"auth","conn_id":"c"}"#.withBytes { try BybitPrivateDecoder().decode($0) }
        #expect(auth == .response(BybitResponse(op: "auth", success: true, message: "", requestId: nil, connectionId: "c", retCode: nil)))
        guard case .response(let pong) = try #"{"req_id":"7","op":"pong","args":["1675418560633"],"conn_id":"c"}"#.withBytes({ try BybitPrivateDecoder().decode($0) }) else {
            Issue.record("pong not recognised")
            return
        }
        #expect(pong.isPong && pong.requestId == "7")
        #expect(throws: JSONError.self) { try #"{"topic":"order","data":[{"symbol":"X","orderStatus":"Flying"}]}"#.withBytes { try BybitPrivateDecoder().decode($0) } }
    }
}
