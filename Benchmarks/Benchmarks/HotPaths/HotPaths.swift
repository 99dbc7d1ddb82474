import Benchmark
import Binance
import Bybit
import ConnectorWire
import Foundation
import Market
import Storage

// Keel's hot paths, one message at a time where the state allows it, each with its allocations:
// Binance depth diff decode + apply, Bybit orderbook delta decode + apply, Binance book ticker, Binance
// trade, and the connector's NDJSON encode of a depth event. The data is the shared Binance capture
// (../shared/data beside the checkout, or KEEL_BENCH_CAPTURE); the Bybit deltas are the capture's diffs
// written in Bybit's shape (BybitEncode, as the sim does). Each benchmark iteration handles a whole stream
// (its message count is in the name): divide by it for per-message figures.

/// The capture's lines by kind, each a message as received.
struct Capture {
    var snapshot: [UInt8] = []
    /// How many diffs the file has before its snapshot.
    var snapshotPosition = 0
    var diffs: [[UInt8]] = []
    var bookTickers: [[UInt8]] = []
    var trades: [[UInt8]] = []
    /// The diffs as Binance's feed trusts them, for the Bybit stream and the encode benchmark.
    var depthUpdates: [DepthUpdate] = []

    static let shared: Capture = {
        let path = ProcessInfo.processInfo.environment["KEEL_BENCH_CAPTURE"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/binance-usdm/btcusdt_20240808.gz").path
        guard let data = try? RecordingReader.readAll(path: path) else { fatalError("no capture at \(path) (set KEEL_BENCH_CAPTURE)") }
        var capture = Capture()
        var feed = BinanceFeed()
        data.withUnsafeBytes { bytes in
            LineSplitter.forEachLineIncludingLast(in: bytes) { line in
                let recorded = RecordedLine(line)
                let message = Array(recorded.message)
                let text = String(decoding: message.prefix(80), as: UTF8.self)
                if text.contains("depthUpdate") { capture.diffs.append(message) }
                else if text.contains("bookTicker") { capture.bookTickers.append(message) }
                else if text.contains("\"trade\"") { capture.trades.append(message) }
                else if text.contains("lastUpdateId") { capture.snapshot = message; capture.snapshotPosition = capture.diffs.count }
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { event in
                    if case .depth(let depth) = event { capture.depthUpdates.append(depth.update) }
                }
            }
        }
        return capture
    }()

    /// The snapshot where the file has it: after the diffs received before it (Binance's sync buffers those).
    var depthStream: [[UInt8]] {
        var stream = diffs
        stream.insert(snapshot, at: snapshotPosition)
        return stream
    }

    /// The capture's book as Bybit `orderbook.1000` messages: its first trusted book as the snapshot, then every
    /// trusted diff as a delta with consecutive `u`.
    var bybitStream: [[UInt8]] {
        let topic = BybitBookTopic(symbol: "BTCUSDT", depth: 1_000)
        var messages: [[UInt8]] = []
        for (index, update) in depthUpdates.enumerated() {
            let kind: DepthUpdate.Kind = index == 0 ? .snapshot : .delta
            messages.append(BybitEncode.orderbook(topic: topic, kind: kind, bids: update.bids, asks: update.asks, updateId: Int64(index + 1),
                                                  sequence: Int64(index + 1), systemTime: update.exchangeTime, matchingTime: update.exchangeTime))
        }
        return messages
    }
}

func replay<Feed: MarketFeed>(_ messages: [[UInt8]], into feed: inout Feed) {
    for message in messages {
        message.withUnsafeBytes { bytes in feed.ingest(bytes, receiveTime: 0) { blackHole($0) } }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .memoryLeaked],
                                           warmupIterations: 2, maxDuration: .seconds(5), maxIterations: 200)
    let capture = Capture.shared
    let depth = capture.depthStream, bybit = capture.bybitStream, tickers = capture.bookTickers, trades = capture.trades

    /// A stream through a fresh feed per iteration (the feed's making not timed), then its counters checked.
    func stream<Feed: MarketFeed>(_ name: String, _ messages: [[UInt8]], _ make: @escaping () -> Feed,
                                  check: @escaping (FeedStats) -> Bool) {
        Benchmark("\(name) (\(messages.count) msgs)") { benchmark in
            for _ in benchmark.scaledIterations {
                var feed = make()
                benchmark.startMeasurement()
                replay(messages, into: &feed)
                benchmark.stopMeasurement()
                precondition(check(feed.stats), "\(name): \(feed.stats)")
            }
        }
    }
    stream("Binance depth diff decode + apply", depth, { BinanceFeed() }) { $0.gaps == 0 && $0.errors == 0 }
    stream("Bybit orderbook delta decode + apply", bybit, { BybitFeed() }) { $0.gaps == 0 && $0.errors == 0 && $0.deltas > 0 }
    stream("Binance book ticker", tickers, { BinanceFeed() }) { $0.errors == 0 }
    stream("Binance trade", trades, { BinanceFeed() }) { $0.errors == 0 && $0.trades > 0 }

    let prices = capture.depthUpdates.flatMap { $0.bids.map(\.price) + $0.asks.map(\.qty) }.prefix(10_000)
    Benchmark("FixedDecimal write (\(prices.count) values)") { benchmark in
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prices.count * 24)
        for _ in benchmark.scaledIterations {
            bytes.removeAll(keepingCapacity: true)
            for price in prices { price.write(to: &bytes) }
            blackHole(bytes)
        }
    }
    let events = capture.depthUpdates.dropFirst().map { ConnectorEvent.depth(.init(update: $0, depth: nil)) }
    Benchmark("NDJSON encode of a depth event (\(events.count) events)") { benchmark in
        for _ in benchmark.scaledIterations {
            for event in events { blackHole(event.line) }
        }
    }
}
