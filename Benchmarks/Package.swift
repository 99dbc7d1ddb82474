// swift-tools-version: 6.2
import PackageDescription

// Keel's per-message benchmarks: ordo-one/benchmark with its malloc interposer, so every figure comes with
// the allocations it made. `cd Benchmarks && swift package benchmark` (a release build of Keel's modules).
let package = Package(
    name: "KeelBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Keel", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Market", package: "Keel"),
                .product(name: "Bybit", package: "Keel"),
                .product(name: "Binance", package: "Keel"),
                .product(name: "Storage", package: "Keel"),
                .product(name: "ConnectorWire", package: "Keel"),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
