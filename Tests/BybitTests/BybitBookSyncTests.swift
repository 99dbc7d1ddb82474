import Bybit
import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

/// A Bybit-format book stream written as the exchange writes it: a snapshot, then deltas.
private struct Stream {
    var depth = 50
    var symbol = "BTCUSDT"

    func message(_ type: String, u: Int64, bids: [(String, String)], asks: [(String, String)]) -> String {
        let b = bids.map { "[\"\($0.0)\",\"\($0.1)\"]" }.joined(separator: ",")
        let a = asks.map { "[\"\($0.0)\",\"\($0.1)\"]" }.joined(separator: ",")
        return #"{"topic":"orderbook.\#(depth).\#(symbol)","type":"\#(type)","ts":1687940967466,"data":{"s":"\#(symbol)","b":[\#(b)],"a":[\#(a)],"u":\#(u),"seq":\#(u * 10)},"cts":1687940967464}"#
    }

    /// Snapshot with u = 100, then deltas u = 101… that move sizes around the touch.
    func session(deltas: Int) -> [String] {
        var lines = [message("snapshot", u: 100, bids: [("100.0", "1"), ("99.9", "2"), ("99.8", "3")],
                             asks: [("100.1", "1"), ("100.2", "2"), ("100.3", "3")])]
        for i in 0..<deltas {
            let u = Int64(101 + i)
            lines.append(message("delta", u: u, bids: [("99.\(i % 10)", "\(i + 1)")], asks: [("100.\(5 + i % 5)", i % 3 == 0 ? "0" : "\(i)")]))
        }
        return lines
    }
}

private func replay(_ lines: [String]) -> BybitFeed {
    var feed = BybitFeed()
    for line in lines { line.withBytes { feed.ingest($0, receiveTime: 0) } }
    return feed
}

struct BybitBookSyncTests {
    @Test func snapshotThenContiguousDeltasStayValid() throws {
        let feed = replay(Stream().session(deltas: 30))
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(state.isValid)
        #expect(state.lastUpdateId == 130)
        #expect(feed.stats.snapshots == 1 && feed.stats.deltas == 30 && feed.stats.gaps == 0 && feed.stats.errors == 0)
    }

    @Test func gapInUpdateIdInvalidatesBookUntilNextSnapshot() throws {
        var lines = Stream().session(deltas: 30)
        lines.remove(at: 10)   // the delta with u = 110
        var feed = replay(Array(lines.prefix(20)))
        #expect(feed.stats.gaps == 1)
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
        #expect(feed.bookState(symbol: "BTCUSDT")?.lastUpdateId == 109)
        // Later deltas are not applied while invalid; a snapshot brings it back.
        for line in lines.dropFirst(20) { line.withBytes { feed.ingest($0, receiveTime: 0) } }
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
        let snapshot = Stream().message("snapshot", u: 500, bids: [("90.0", "1")], asks: [("91.0", "1")])
        snapshot.withBytes { feed.ingest($0, receiveTime: 0) }
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(state.isValid && state.lastUpdateId == 500)
        #expect(state.book.levels(.bid) == [PriceLevel(price: d("90.0"), qty: d("1"))])
    }

    @Test func restartWithUpdateIdOneOverwritesTheBook() throws {
        var lines = Stream().session(deltas: 10)
        // Bybit restarted: u == 1, sent as a snapshot or even marked delta; either overwrites.
        lines.append(Stream().message("delta", u: 1, bids: [("50.0", "5")], asks: [("51.0", "5")]))
        lines.append(Stream().message("delta", u: 2, bids: [("50.5", "1")], asks: []))
        let feed = replay(lines)
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(state.isValid && state.lastUpdateId == 2)
        #expect(state.book.levels(.bid).map(\.price) == [d("50.5"), d("50.0")])
        #expect(state.book.levels(.ask).map(\.price) == [d("51.0")])
        #expect(feed.stats.gaps == 0 && feed.stats.snapshots == 2)
    }

    @Test func depthNTopicKeepsNLevels() throws {
        var stream = Stream()
        stream.depth = 1
        let lines = [stream.message("snapshot", u: 10, bids: [("100.0", "1")], asks: [("100.1", "1")]),
                     stream.message("delta", u: 11, bids: [("100.05", "2")], asks: [("100.08", "3")])]
        let state = try #require(replay(lines).bookState(symbol: "BTCUSDT"))
        #expect(state.book.bidCount == 1 && state.book.askCount == 1)
        #expect(state.book.bestBid?.price == d("100.05") && state.book.bestAsk?.price == d("100.08"))
    }

    @Test func crossedBookIsInvalid() throws {
        let lines = Stream().session(deltas: 2) + [Stream().message("delta", u: 103, bids: [("100.2", "1")], asks: [])]
        let feed = replay(lines)
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
        #expect(feed.stats.crossed == 1)
    }

    @Test func deltasBeforeTheFirstSnapshotAreNotApplied() {
        let lines = Array(Stream().session(deltas: 5).dropFirst())
        let feed = replay(lines)
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
        #expect(feed.bookState(symbol: "BTCUSDT")?.book.isEmpty == true)
    }

    @Test func eachDepthTopicKeepsItsOwnSequence() throws {
        // The recorded sample: orderbook.1 snapshot, a trade, then an orderbook.50 delta with no snapshot yet.
        let lines = try SharedData.lines("bybit/recorded-sample.txt").map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        let feed = replay(lines)
        #expect(feed.stats.gaps == 0 && feed.stats.trades == 1 && feed.stats.snapshots == 1)
        #expect(feed.sync(for: BybitBookTopic(symbol: "BTCUSDT", depth: 1))?.isValid == true)
        #expect(feed.sync(for: BybitBookTopic(symbol: "BTCUSDT", depth: 50))?.isValid == false)
        #expect(feed.bookState(symbol: "BTCUSDT")?.lastUpdateId == 14_869_255)
    }

    @Test func corruptedLinesNeverTrapAndAreCounted() {
        var rng = SeededGenerator(seed: 2024)
        let lines = Stream().session(deltas: 50) + (try! SharedData.lines("bybit/recorded-sample.txt"))
        var feed = BybitFeed()
        for _ in 0..<3_000 {
            var bytes = Array(lines.randomElement(using: &rng)!.utf8)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            default: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
            }
            bytes.withUnsafeBytes { feed.ingest(RecordedLine($0).message, receiveTime: 0) }
        }
        #expect(feed.stats.messages == 3_000)
        #expect(feed.stats.errors > 1_000)
    }
}

/// The feed's market events: what every consumer (session, replay, backtest) reads.
struct BybitFeedEventTests {
    private func events(_ lines: [String]) -> (feed: BybitFeed, events: [MarketEvent]) {
        var feed = BybitFeed()
        var events: [MarketEvent] = []
        for line in lines { line.withBytes { feed.ingest($0, receiveTime: 7) { events.append($0) } } }
        return (feed, events)
    }

    @Test func everyAppliedUpdateIsOneTrustedDepthWithTheBookAfterIt() throws {
        let (feed, events) = events(Stream().session(deltas: 5))
        #expect(events.count == 6)
        guard case .depth(let first) = events[0], case .depth(let last) = events[5] else { Issue.record("not depth: \(events)"); return }
        #expect(first.cause == .snapshot && first.depthLimit == 50 && first.update.receiveTime == 7)
        #expect(last.cause == .delta && last.update.lastUpdateId == 105)
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(last.book.levels(.bid) == state.book.levels(.bid) && last.book.levels(.ask) == state.book.levels(.ask))
        #expect(last.asSnapshot.kind == .snapshot && last.asSnapshot.bids == state.book.levels(.bid))
    }

    @Test func aGapIsOneBookInvalidAndNothingUntilTheNextSnapshot() {
        var lines = Stream().session(deltas: 10)
        lines.remove(at: 4)   // u = 104
        lines.append(Stream().message("snapshot", u: 500, bids: [("90.0", "1")], asks: [("91.0", "1")]))
        let (_, events) = events(lines)
        let kinds = events.map { event -> String in
            switch event {
            case .depth(let depth): return "\(depth.cause)"
            case .trade: return "trade"
            case .bookInvalid(let invalid): return "invalid \(invalid.fault)"
            }
        }
        #expect(kinds == ["snapshot", "delta", "delta", "delta", "invalid sequence gap: expected 104, received 105", "snapshot"])
    }

    @Test func aSecondTopicOfTheSymbolIsSyncedButDrivesNoEvents() {
        var deep = Stream()
        deep.depth = 200
        let (feed, events) = events(Stream().session(deltas: 2) + deep.session(deltas: 2))
        #expect(events.count == 3)
        #expect(feed.stats.snapshots == 2)
        #expect(feed.sync(for: BybitBookTopic(symbol: "BTCUSDT", depth: 200))?.isValid == true)
    }

    @Test func tradesOfTheSharedSampleComeOutOneByOne() throws {
        var feed = BybitFeed()
        var trades: [TradeTick] = []
        for line in try SharedData.lines("bybit/recorded-sample.txt") {
            line.withBytes { bytes in
                let recorded = RecordedLine(bytes)
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { if case .trade(let trade) = $0 { trades.append(trade) } }
            }
        }
        #expect(trades.count == feed.stats.trades && !trades.isEmpty)
        #expect(trades.first?.aggressor == .buy && trades.first?.price == d("109378.90"))
    }
}
