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
            ("strategy:\n  model: avellaneda\n", "strategy.model: avellaneda is not a quote model; use glft, fixed or touch"),
            ("strategy:\n  level_sizes: [0.001, -1]\n", "strategy.level_sizes: -1 is not a positive decimal"),
            ("strategy:\n  paper_trading: maybe\n", "strategy.paper_trading: maybe is not a boolean; write true or false"),
            ("risk:\n  max_position: lots\n", "risk.max_position: lots is not a positive decimal"),
            ("limits:\n  max_active_per_side: 0\n", "limits.max_active_per_side: 0 is not a whole number in 1...100"),
            ("  fallback: [binance_ws, kafka]\n", "exchange.fallback: kafka is not a data source"),
            ("  fallback: [bybit_connector]\n", "exchange.fallback: lists the primary source bybit_connector"),
            ("  binance:\n    depth_speed: 1s\n", "exchange.binance.depth_speed: 1s is not a Binance diff depth speed"),
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

    @Test func aFixedSpreadInsideItsFeesIsRefusedWithTheKeyAndTheFix() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-fees-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("exchange:\n  symbols: [BTCUSDT]\nstrategy:\n  model: fixed\n  fixed_spread_bps: 4\n  maker_fee: 0.0002\n".utf8).write(to: file)
        do {
            _ = try await BotSettings.load(file: file.path, environment: [:])
            Issue.record("a fixed 4 bp spread with 2 bp fees a side and 1 bp edge was accepted")
        } catch {
            #expect(error.key == "strategy.fixed_spread_bps")
            #expect(error.description.contains("5.0") && error.description.contains("strategy.min_edge_bps"), "\(error)")
        }
        // Paid for: accepted; and the defaults (GLFT under its fee floor) load.
        try Data("exchange:\n  symbols: [BTCUSDT]\nstrategy:\n  model: fixed\n  fixed_spread_bps: 6\n  taker_fee: 0.0005\n  min_edge_bps: 1\n".utf8).write(to: file)
        let settings = try await BotSettings.load(file: file.path, environment: [:])
        #expect(settings.trading.paper.takerFeeRate == FixedDecimal(mantissa: 5, scale: 4))
        #expect(settings.trading.policy(staleAfterSeconds: 60).model.makerFee == 0.0002)
        try Data("exchange:\n  symbols: [BTCUSDT]\n".utf8).write(to: file)
        _ = try await BotSettings.load(file: file.path, environment: [:])
    }

    @Test func fallbackAndBinanceKeys() async throws {
        let path = try temporaryFile("""
        exchange:
          symbols: [BTCUSDT]
          data_source: bybit_connector
          fallback: [binance_ws, stub]
          fallback_after: 12
          binance:
            public_url: ws://127.0.0.1:9300/
            rest_url: http://127.0.0.1:9300
            depth_speed: 0ms
            rotate_after: 3600
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try await BotSettings.load(file: path, environment: [:])
        #expect(settings.fallback == [.binanceWS, .stub] && settings.fallbackAfter == 12)
        #expect(settings.connector.binancePublicURL == "ws://127.0.0.1:9300" && settings.connector.binanceDepthSpeed == "0ms")
        #expect(settings.connectorArguments(for: .binanceWS).prefix(2) == ["connector", "binance-usdm"])
        #expect(settings.connectorArguments(for: .binanceWS).contains("ws://127.0.0.1:9300"))
        #expect(settings.connectorArguments().prefix(2) == ["connector", "bybit"])
        let options = settings.connector.binanceOptions()
        #expect(options.session.depthStream == "@depth@0ms" && options.session.rotateAfter == .seconds(3_600))
    }

    @Test func storageKeysAndTheSecretPostgresURL() async throws {
        let path = try temporaryFile("""
        exchange:
          symbols: [BTCUSDT]
        storage:
          backend: postgres
          queue_size: 5000
          batch_size: 100
          snapshot_interval: 2.5
          client_id_block: 50
        """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let password = "pw-\(UUID().uuidString.prefix(8))"
        let secretFile = try temporaryFile("postgres://keel:\(password)@127.0.0.1:5432/keel\n", suffix: ".secret")
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let settings = try await BotSettings.load(file: path, environment: ["STORAGE_POSTGRES_URL_FILE": secretFile])
        #expect(settings.storage.backend == .postgres)
        #expect(settings.storage.postgresURL == "postgres://keel:\(password)@127.0.0.1:5432/keel")
        #expect(settings.storage.queueSize == 5000 && settings.storage.batchSize == 100 && settings.storage.clientIdBlock == 50)
        #expect(settings.storage.snapshotInterval == 2.5)
        let report = settings.report(credentials: nil)
        #expect(report.contains("storage.postgres_url: <redacted>"))
        // Grouped by section: each section's keys together, blocks apart.
        let blocks = report.components(separatedBy: "\n\n")
        let sections = blocks.map { $0.prefix { $0 != "." } }
        #expect(Set(sections).count == sections.count, "a section in two blocks: \(sections)")
        for block in blocks {
            let names = Set(block.split(separator: "\n").map { $0.prefix { $0 != "." } })
            #expect(names.count == 1, "\(block)")
        }
        #expect(!report.contains(password))
        // STORAGE_BACKEND wins over the file.
        let sqlite = try await BotSettings.load(file: path, environment: ["STORAGE_BACKEND": "sqlite"])
        #expect(sqlite.storage.backend == .sqlite && sqlite.storage.path == "data/keel.sqlite")

        for (yaml, message) in [
            ("storage:\n  backend: mysql\n", "storage.backend: mysql is not a storage backend; use sqlite, postgres"),
            ("storage:\n  postgres_url: mysql://u:\(password)@h/db\n", "storage.postgres_url: not a postgres:// URL (value not shown"),
            ("storage:\n  queue_size: 5\n", "storage.queue_size: 5 is not a whole number in 100...10000000"),
        ] {
            let bad = try temporaryFile("exchange:\n  symbols: [BTCUSDT]\n" + yaml)
            defer { try? FileManager.default.removeItem(atPath: bad) }
            do {
                _ = try await BotSettings.load(file: bad, environment: [:])
                Issue.record("accepted \(yaml)")
            } catch {
                #expect(error.description.hasPrefix(message), "\(error.description)")
                #expect(!error.description.contains(password))
            }
        }
    }
}
