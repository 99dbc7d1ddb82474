import Connector
import Foundation
import Market
import Service
import Testing
import TestSupport

/// The bot's YAML: lists read as lists, strategy and risk keys, errors that name the key.
struct BotSettingsTests {
    @Test func yamlListsAndTradingKeysAreRead() async throws {
        let path = try temporaryFile("""
        exchange:
          symbols: [BTCUSDT, ETHUSDT]
        monitoring:
          enable_prometheus: false
          metrics_port: 9464
        strategy:
          paper_trading: false
          level_sizes: [0.001, 0.0025]
          fill_a: auto
          gamma: 0.3
        risk:
          max_notional: none
          max_position: 0.02
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try await BotSettings.load(file: path, environment: [:])
        #expect(settings.connector.symbols == ["BTCUSDT", "ETHUSDT"])
        let sizes = [try FixedDecimal(parsing: "0.001"), try FixedDecimal(parsing: "0.0025")]
        #expect(settings.trading.levelSizes == sizes)
        #expect(!settings.trading.paperTrading && settings.trading.model.a == nil && settings.trading.model.gamma == 0.3)
        let maxPosition = try FixedDecimal(parsing: "0.02")
        #expect(settings.trading.risk.maxNotional == nil && settings.trading.risk.maxPosition == maxPosition)
        #expect(!settings.enablePrometheus && settings.metricsPort == 9464)
        // The environment wins: CONNECTOR_PAPER_TRADING.
        let paper = try await BotSettings.load(file: path, environment: ["CONNECTOR_PAPER_TRADING": "true"])
        #expect(paper.trading.paperTrading)
    }

    @Test func badTradingValuesNameTheirKey() async throws {
        for (yaml, message) in [
            ("strategy:\n  model: avellaneda\n", "strategy.model: avellaneda is not a quote model; use glft or fixed"),
            ("strategy:\n  level_sizes: [0.001, -1]\n", "strategy.level_sizes: -1 is not a positive decimal"),
            ("strategy:\n  paper_trading: maybe\n", "strategy.paper_trading: maybe is not a boolean; write true or false"),
            ("risk:\n  max_position: lots\n", "risk.max_position: lots is not a positive decimal"),
            ("limits:\n  max_active_per_side: 0\n", "limits.max_active_per_side: 0 is not a whole number in 1...100"),
        ] {
            let path = try temporaryFile("exchange:\n  symbols: [BTCUSDT]\n" + yaml)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try await BotSettings.load(file: path, environment: [:])
                Issue.record("accepted \(yaml)")
            } catch {
                #expect(error.description.hasPrefix(message), "\(error.description)")
            }
        }
    }
}
