import Connector
import Foundation
import Runtime
import TestSupport
import Testing

/// `keel connector bybit --config FILE`: the YAML file, flags over it, and errors naming the key.
struct SettingsTests {
    @Test func yamlSectionsAreReadAndFlagsWin() async throws {
        let path = try temporaryFile("""
        exchange:
          symbols: [BTCUSDT, ethusdt]
          depth: 200
          testnet: true
          rest_url: http://127.0.0.1:9100/
        monitoring:
          ping_interval: 15
          book_stale_after: 2.5
          reconnect_base_ms: 250
        connection_pool:
          limit_per_host: 12
          keepalive_timeout: 20
        limits:
          order_rate_limit: 20
          submit_timeout: 1.5
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try await ConnectorSettings.load(file: path, flags: [("exchange.depth", "1000"), ("limits.submit_timeout", "0.5")])
        #expect(settings.symbols == ["BTCUSDT", "ETHUSDT"])
        #expect(settings.depth == 1_000)
        #expect(settings.testnet)
        #expect(settings.restURL == "http://127.0.0.1:9100")
        #expect(settings.pingInterval == 15 && settings.bookStaleAfter == 2.5 && settings.reconnectBaseMilliseconds == 250)
        #expect(settings.connectionsPerHost == 12 && settings.keepAlive == 20)
        #expect(settings.orderRateLimit == 20 && settings.submitTimeout == 0.5)
        let options = settings.options(credentials: nil)
        #expect(options.publicSession.socket.url == "wss://stream-testnet.bybit.com/v5/public/linear")
        #expect(options.tradeSocket.url == "wss://stream-testnet.bybit.com/v5/trade")
        #expect(options.rest.baseURL == "http://127.0.0.1:9100")
        #expect(options.orderEntry.submitTimeout == .milliseconds(500))
        #expect(options.publicSession.bookStaleAfter == .milliseconds(2_500))
    }

    /// A section per exchange: `exchange.bybit.*` (Bybit's keys, also accepted at `exchange.*`) and `exchange.binance.*`.
    @Test func eachExchangeHasASection() async throws {
        let path = try temporaryFile("""
        exchange:
          symbols: [BTCUSDT]
          public_url: ws://127.0.0.1:1/v5/public/linear
          bybit:
            public_url: ws://127.0.0.1:9100/v5/public/linear
            depth: 200
          binance:
            public_url: ws://127.0.0.1:9200
            depth_speed: 250ms
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try await ConnectorSettings.load(file: path, flags: [])
        #expect(settings.publicURL == "ws://127.0.0.1:9100/v5/public/linear" && settings.depth == 200)
        #expect(settings.binanceOptions().session.depthStream == "@depth" && settings.binanceOptions().session.socket.url == "ws://127.0.0.1:9200")
        let bad = try temporaryFile("exchange:\n  symbols: [BTCUSDT]\n  bybit:\n    depth: 7\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        do {
            _ = try await ConnectorSettings.load(file: bad, flags: [])
            Issue.record("depth 7 accepted")
        } catch {
            #expect(error.key == "exchange.bybit.depth")
        }
    }

    @Test func aBadValueNamesItsKeyAndTheFix() async throws {
        let path = try temporaryFile("exchange:\n  symbols: BTCUSDT\nmonitoring:\n  pong_timeout: soon\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect(throws: ConnectorSettings.Invalid.self) { try await ConnectorSettings.load(file: path, flags: []) }
        do {
            _ = try await ConnectorSettings.load(file: path, flags: [])
        } catch {
            #expect(error.key == "monitoring.pong_timeout")
            #expect(error.description == "monitoring.pong_timeout: soon is not a positive number of seconds; write e.g. 10")
        }
        var settings = ConnectorSettings()
        #expect(throws: ConnectorSettings.Invalid.self) { try settings.set("exchange.depth", "7") }
        #expect(throws: ConnectorSettings.Invalid.self) { try settings.set("exchange.trade_url", "http://x") }
        #expect(throws: ConnectorSettings.Invalid.self) { try settings.set("exchange.symbol", "BTCUSDT") }
        #expect(throws: ConnectorSettings.Invalid.self) { try ConnectorSettings().validate() }   // no symbols
    }
}
