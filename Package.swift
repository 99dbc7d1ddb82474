// swift-tools-version: 6.2
import PackageDescription

// Module layout and dependency directions follow shared/docs/ARCHITECTURE.md:
// pure modules (Market, Bybit, Binance) do no I/O and read no clock; Storage and keel are the shell.
let package = Package(
    name: "Keel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keel", targets: ["keel"]),
        .library(name: "Market", targets: ["Market"]),
        .library(name: "Bybit", targets: ["Bybit"]),
        .library(name: "Binance", targets: ["Binance"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "ConnectorWire", targets: ["ConnectorWire"]),
        .library(name: "ExchangeSim", targets: ["ExchangeSim"]),
    ],
    // PostgreSQL storage is opt-in: postgres-nio adds about two minutes to a clean build.
    // `swift build --traits Postgres` (or `swift test --traits Postgres`) builds it in; SQLite is always there.
    traits: [
        .trait(name: "Postgres", description: "PostgreSQL storage backend through postgres-nio (storage.backend: postgres)"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "Market"),
        .target(name: "Bybit", dependencies: ["Market", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Binance", dependencies: ["Market"]),
        // The shell's shared utilities: the one wall clock, JSON logs and redaction, settings values and
        // their errors, credentials, rotating log files.
        .target(name: "Runtime", dependencies: [
            "Market", .product(name: "Logging", package: "swift-log"), .product(name: "Configuration", package: "swift-configuration"),
        ]),
        // The connector ↔ bot NDJSON events and commands, typed, and their codecs.
        .target(name: "ConnectorWire", dependencies: ["Market"]),
        .target(
            name: "Connector",
            dependencies: [
                "Market", "Bybit", "Binance", "ConnectorWire", "Runtime",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .target(
            name: "Supervisor",
            dependencies: [
                "ConnectorWire", "Runtime", "Market",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Service",
            dependencies: [
                "Supervisor", "ConnectorWire", "Runtime", "Market", "MarketContext", "Strategy", "Execution", "Storage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // The trading core, pure: market inputs from book and trades; quote model, ladder and risk;
        // order state machine, position ledger and the paper exchange.
        .target(name: "MarketContext", dependencies: ["Market"]),
        .target(name: "Strategy", dependencies: ["Market", "MarketContext"]),
        .target(name: "Execution", dependencies: ["Market"]),
        // Recordings → feed → the same Strategy → a simulated venue; pure but for Storage's reader.
        .target(name: "Backtest", dependencies: ["Market", "Bybit", "Binance", "MarketContext", "Strategy", "Execution", "Storage"]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Storage",
            dependencies: [
                "Market", "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ExchangeSim",
            dependencies: [
                "Market", "Bybit", "Binance", "Storage", "Runtime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "keel",
            dependencies: [
                "Market", "Bybit", "Binance", "Storage", "ExchangeSim", "Connector", "ConnectorWire", "Runtime", "Supervisor", "Service", "Backtest",
                "Strategy", "Execution",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Test helpers: locating ../shared/data from #filePath, a seeded generator.
        .target(
            name: "TestSupport",
            dependencies: [
                "Market", "Bybit", "ExchangeSim", "Storage",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support"
        ),
        .testTarget(name: "MarketTests", dependencies: ["Market", "TestSupport"]),
        .testTarget(name: "BybitTests", dependencies: ["Bybit", "Market", "TestSupport"]),
        .testTarget(name: "BinanceTests", dependencies: ["Binance", "Market", "Storage", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Market", "TestSupport"]),
        .testTarget(name: "ConnectorTests", dependencies: ["Connector", "ConnectorWire", "Runtime", "Market", "Bybit", "ExchangeSim", "TestSupport"]),
        .testTarget(name: "MarketContextTests", dependencies: ["MarketContext", "Market", "Binance", "Storage", "TestSupport"]),
        .testTarget(name: "StrategyTests", dependencies: ["Strategy", "MarketContext", "Market", "TestSupport"]),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "Market", "Binance", "Storage", "TestSupport"]),
        .testTarget(name: "BacktestTests", dependencies: ["Backtest", "Strategy", "Execution", "Market", "Binance", "Storage", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Market", "TestSupport"]),
        .testTarget(
            name: "ExchangeSimTests",
            dependencies: [
                "ExchangeSim", "Market", "Bybit", "Binance", "Storage", "TestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "KeelTests", dependencies: ["keel", "ExchangeSim", "Supervisor", "Service", "Connector", "ConnectorWire", "Runtime", "Market", "Storage", "TestSupport"]),
    ]
)
