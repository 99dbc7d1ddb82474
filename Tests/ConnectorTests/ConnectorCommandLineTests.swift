import Connector
import ConnectorWire
import Market
import Testing

/// What the bot writes to the connector's stdin reads back as the same command.
struct ConnectorCommandLineTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    @Test func everyCommandRoundTrips() throws {
        let commands: [ConnectorCommand] = [
            .subscribe(channel: .depth, symbol: "BTCUSDT", id: "s1"),
            .unsubscribe(channel: .trades, symbol: "ETHUSDT", id: nil),
            .place(id: "k1-1", order: PlaceRequest(symbol: "BTCUSDT", side: .buy, type: .limit, qty: d("0.001"), price: d("50000.10"),
                                                   timeInForce: .postOnly, orderLinkId: "k1-1")),
            .place(id: nil, order: PlaceRequest(symbol: "BTCUSDT", side: .sell, type: .market, qty: d("0.010"), timeInForce: .ioc,
                                                orderLinkId: "m_2", reduceOnly: true)),
            .amend(id: "k1-1", symbol: "BTCUSDT", clientId: "k1-1", qty: nil, price: d("50000.2")),
            .amend(id: nil, symbol: "BTCUSDT", clientId: "k1-1", qty: d("0.002"), price: nil),
            .cancel(id: "k1-1", symbol: "BTCUSDT", clientId: "k1-1"),
            .cancelAll(id: "all-1", symbol: "BTCUSDT"),
            .cancelAll(id: nil, symbol: nil),
            .openOrders(id: "open-1", symbol: "BTCUSDT"),
            .instrument(id: "instrument-1", symbol: "ETHUSDT"),
            .ping(id: "p"),
            .shutdown(id: nil),
        ]
        for command in commands {
            let line = command.line
            #expect(!line.contains("\n"))
            #expect(try ConnectorCommand.decode(Array(line.utf8)) == command, "\(line)")
        }
        // Prices and sizes go out exactly as given.
        #expect(commands[2].line.contains(#""price":50000.10"#) && commands[2].line.contains(#""qty":0.001"#))
    }
}
