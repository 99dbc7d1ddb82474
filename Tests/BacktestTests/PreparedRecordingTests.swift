import Backtest
import Bybit
import Execution
import Foundation
import Market
import Storage
import Strategy
import Testing
import TestSupport

/// The prepared form of a recording (`keel backtest --cache`): the same events, the same books and the
/// same backtest as the raw file; refused when it is stale, cut short or made from other recordings.
@Suite(.offThePool)
struct PreparedRecordingTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-prepared-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func options() -> Backtester.Options {
        touchQuoterOptions()
    }

    /// Everything a run writes, as text.
    private final class Outputs {
        var lines: [String] = []
        func take(_ output: Backtester.Output) {
            switch output {
            case .equity(let point): lines.append("equity \(point.csv)")
            case .fill(let fill, let mid): lines.append("fill \(fill.time) \(fill.clientId) \(fill.side) \(fill.price) \(fill.qty) \(fill.fee) \(mid.map { "\($0)" } ?? "-")")
            case .intent(let intent, let time): lines.append("intent \(time) \(intent)")
            }
        }
    }

    @Test func theCaptureReplayedFromItsPreparedFormTradesExactlyAsFromTheRawFile() throws {
        let capture = SharedData.path("binance-usdm/btcusdt_20240808.gz")
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let identity = try PreparedRecording.identity(files: [capture], kind: "binance-usdm *")
        let path = PreparedRecording.path(directory: folder, identity: identity)
        #expect(try PreparedRecordingReader.replay(path: path, identity: identity) { _, _ in } == .unusable(reason: "none yet"))

        // The raw run writes the prepared form as it goes.
        let raw = Outputs()
        var first = Backtester(options: options(), output: raw.take)
        let writer = try PreparedRecordingWriter(path: path, identity: identity)
        var lines = 0
        try RecordingReader.forEachLine(path: capture) { line in
            guard lines < 40_000 else { return }
            lines += 1
            first.ingest(line: line) { writer.append($0, stamp: $1) }
        }
        try writer.finish()
        first.finish()

        let replayed = Outputs()
        var second = Backtester(options: options(), output: replayed.take)
        let outcome = try PreparedRecordingReader.replay(path: path, identity: identity) { second.ingest(event: $0, stamp: $1) }
        second.finish()
        guard case .replayed(let events) = outcome else { Issue.record("not replayed: \(outcome)"); return }
        #expect(events > 5_000)
        #expect(first.summary.json(seconds: 0) == second.summary.json(seconds: 0))
        #expect(first.summary.fills > 0 && raw.lines.count > 100)
        #expect(raw.lines == replayed.lines)
    }

    @Test func everyBookOfTheFeedIsRebuiltExactlyIncludingADepthLimitedStream() throws {
        // Bybit orderbook.50: deltas that add levels past the depth (cut off by the sync rules), delete
        // levels, and a restart (`u == 1`) in the middle; trades between.
        var feed = BybitFeed()
        var fed: [(MarketEvent, Int64)] = []
        var random = SeededRandom(seed: 7)
        func level(_ price: Int, _ qty: Int) -> String { "[\"\(price / 10).\(price % 10)\",\"\(qty / 1000).\(String(format: "%03d", qty % 1000))\"]" }
        func send(_ json: String, at stamp: Int64) {
            let line = "\(stamp) \(json)"
            Array(line.utf8).withUnsafeBytes { bytes in
                let recorded = RecordedLine(bytes)
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { fed.append(($0, recorded.receiveTime)) }
            }
        }
        var update = 100
        func snapshot(at stamp: Int64, restart: Bool) {
            let bids = (0..<50).map { level(600_000 - $0, 1_000 + $0) }.joined(separator: ",")
            let asks = (1...50).map { level(600_000 + $0, 2_000 + $0) }.joined(separator: ",")
            update = restart ? 1 : 100
            send("{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"ts\":\(stamp / 1_000_000),\"data\":{\"s\":\"BTCUSDT\",\"b\":[\(bids)],\"a\":[\(asks)],\"u\":\(update),\"seq\":\(update)},\"cts\":\(stamp / 1_000_000)}", at: stamp)
        }
        var stamp: Int64 = 1_700_000_000_000_000_000
        snapshot(at: stamp, restart: false)
        for step in 0..<600 {
            stamp += 10_000_000
            if step == 300 { snapshot(at: stamp, restart: true); continue }
            let bids = (0..<Int(random.next() % 6)).map { _ in level(600_000 - Int(random.next() % 80), Int(random.next() % 3) * 500) }
            let asks = (0..<Int(random.next() % 6)).map { _ in level(600_001 + Int(random.next() % 80), Int(random.next() % 3) * 500) }
            update += 1
            send("{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"ts\":\(stamp / 1_000_000),\"data\":{\"s\":\"BTCUSDT\",\"b\":[\(bids.joined(separator: ","))],\"a\":[\(asks.joined(separator: ","))],\"u\":\(update),\"seq\":\(update)},\"cts\":\(stamp / 1_000_000)}", at: stamp)
            if step % 7 == 0 {
                send("{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":\(stamp / 1_000_000),\"data\":[{\"T\":\(stamp / 1_000_000),\"s\":\"BTCUSDT\",\"S\":\"Sell\",\"v\":\"0.020\",\"p\":\"60000.0\",\"L\":\"ZeroMinusTick\",\"i\":\"t-\(step)\",\"BT\":false}]}", at: stamp)
            }
        }
        #expect(fed.count > 600)
        #expect(fed.contains { if case .depth(let depth) = $0.0 { depth.cause == .restart } else { false } })

        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/bybit.keelprep"
        let writer = try PreparedRecordingWriter(path: path, identity: "test")
        for (event, stamp) in fed { writer.append(event, stamp: stamp) }
        try writer.finish()

        var index = 0
        var mismatches: [String] = []
        let outcome = try PreparedRecordingReader.replay(path: path, identity: "test") { event, stamp in
            defer { index += 1 }
            guard index < fed.count else { mismatches.append("an extra event"); return }
            let (original, originalStamp) = fed[index]
            guard stamp == originalStamp, event.symbol == original.symbol else { mismatches.append("\(index): stamp or symbol"); return }
            switch (event, original) {
            case (.depth(let replayed), .depth(let depth)):
                if replayed.book != depth.book || replayed.update != depth.update || replayed.cause != depth.cause
                    || replayed.depthLimit != depth.depthLimit {
                    mismatches.append("\(index): depth")
                }
            case (.trade(let replayed), .trade(let trade)):
                if replayed != trade { mismatches.append("\(index): trade") }
            case (.bookInvalid(let replayed), .bookInvalid(let invalid)):
                if replayed != invalid { mismatches.append("\(index): invalid") }
            default:
                mismatches.append("\(index): kind")
            }
        }
        #expect(outcome == .replayed(events: UInt64(fed.count)))
        #expect(index == fed.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func aStaleCutOrForeignFileIsNotReplayedAndACorruptOneIsAnError() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let recording = folder + "/BTCUSDT_20240808.txt"
        try Data("1 {}\n".utf8).write(to: URL(fileURLWithPath: recording))
        let identity = try PreparedRecording.identity(files: [recording], kind: "bybit *")
        let path = PreparedRecording.path(directory: folder, identity: identity)
        let trade = MarketEvent.trade(TradeTick(symbol: "BTCUSDT", price: d("60000.5"), qty: d("0.010"), aggressor: .buy, tradeId: "t1",
                                                exchangeTime: 5, receiveTime: 6))
        let writer = try PreparedRecordingWriter(path: path, identity: identity)
        for _ in 0..<3 { writer.append(trade, stamp: 6) }
        try writer.finish()
        var seen = 0
        #expect(try PreparedRecordingReader.replay(path: path, identity: identity) { _, _ in seen += 1 } == .replayed(events: 3))
        #expect(seen == 3)

        // The recording grows (a recorder still writing it): another identity, another file.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: recording))
        handle.seekToEndOfFile()
        handle.write(Data("2 {}\n".utf8))
        try handle.close()
        let grown = try PreparedRecording.identity(files: [recording], kind: "bybit *")
        #expect(grown != identity)
        #expect(PreparedRecording.path(directory: folder, identity: grown) != path)
        #expect(try PreparedRecordingReader.replay(path: path, identity: grown) { _, _ in seen += 1 } == .unusable(reason: "made from other recordings"))
        #expect(try PreparedRecording.identity(files: [recording], kind: "binance-usdm *") != grown)

        // Cut short (a run killed while writing renames nothing, but a copy can be cut): not replayed.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes.dropLast(5)).write(to: URL(fileURLWithPath: path))
        #expect(try PreparedRecordingReader.replay(path: path, identity: identity) { _, _ in seen += 1 } == .unusable(reason: "cut short"))
        #expect(seen == 3)

        // A record inside damaged (a symbol index past the table): a typed error naming the file.
        let header = 16 + identity.utf8.count
        bytes[header + 12 + 4 + 1] = 0xFF  // the first trade record's symbol index (after the 12-byte symbol record)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: RecordingError.self) { try PreparedRecordingReader.replay(path: path, identity: identity) { _, _ in } }
    }
}
