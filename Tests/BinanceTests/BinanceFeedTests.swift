@testable import Binance
import Foundation
import Market
import Storage
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

/// The capture's lines, decompressed once for every test here.
private let captureLines: [String] = {
    var lines: [String] = []
    try! RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) {
        lines.append(String(decoding: $0, as: UTF8.self))
    }
    return lines
}()

private func replay(_ lines: some Sequence<String>, into feed: inout BinanceFeed) {
    for line in lines {
        line.withBytes { bytes in
            let recorded = RecordedLine(bytes)
            feed.ingest(recorded.message, receiveTime: recorded.receiveTime)
        }
    }
}

/// An independent, deliberately plain implementation of Binance's procedure with Foundation's
/// JSONSerialization and dictionaries keyed by Foundation.Decimal, to check the fast path against.
private func referenceBook(_ lines: [String]) -> (bids: [(Decimal, String)], asks: [(Decimal, String)], lastId: Int64, gaps: Int) {
    var bids: [Decimal: String] = [:]
    var asks: [Decimal: String] = [:]
    var buffered: [[String: Any]] = []
    var snapshotId: Int64?
    var lastId: Int64 = 0
    var synced = false
    var gaps = 0
    func apply(_ event: [String: Any]) {
        for (key, side) in [("b", 0), ("a", 1)] {
            for pair in event[key] as! [[String]] {
                let price = Decimal(string: pair[0])!
                let qty = pair[1]
                if Decimal(string: qty)! == 0 {
                    if side == 0 { bids[price] = nil } else { asks[price] = nil }
                } else if side == 0 { bids[price] = qty } else { asks[price] = qty }
            }
        }
        lastId = (event["u"] as! NSNumber).int64Value
    }
    func consider(_ event: [String: Any]) {
        let first = (event["U"] as! NSNumber).int64Value
        let last = (event["u"] as! NSNumber).int64Value
        let previous = (event["pu"] as! NSNumber).int64Value
        if !synced {
            guard let snapshotId, last >= snapshotId else { return }
            precondition(first <= snapshotId)
            synced = true
        } else if previous != lastId {
            gaps += 1
        }
        apply(event)
    }
    for line in lines {
        let json = line.split(separator: " ", maxSplits: 1)[1]
        let object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        if let id = object["lastUpdateId"] as? NSNumber {
            snapshotId = id.int64Value
            lastId = id.int64Value
            bids = Dictionary(uniqueKeysWithValues: (object["bids"] as! [[String]]).map { (Decimal(string: $0[0])!, $0[1]) })
            asks = Dictionary(uniqueKeysWithValues: (object["asks"] as! [[String]]).map { (Decimal(string: $0[0])!, $0[1]) })
            for event in buffered { consider(event) }
            buffered = []
            continue
        }
        let data = object["data"] as! [String: Any]
        guard data["e"] as? String == "depthUpdate" else { continue }
        if snapshotId == nil { buffered.append(data) } else { consider(data) }
    }
    return (bids.sorted { $0.key > $1.key }, asks.sorted { $0.key < $1.key }, lastId, gaps)
}

@Suite(.offThePool)
struct BinanceFeedTests {
    @Test func captureReplaysWithoutGapsIntoTheReferenceBook() throws {
        var feed = BinanceFeed()
        replay(captureLines, into: &feed)
        #expect(feed.stats.messages == 93_954)
        #expect(feed.stats.errors == 0)
        #expect(feed.stats.gaps == 0)
        #expect(feed.stats.snapshots == 1)
        #expect(feed.stats.deltas == 6_551)
        #expect(feed.stats.trades == 21_313)
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(state.isValid)
        #expect(!state.book.isCrossed)

        let reference = referenceBook(captureLines)
        #expect(reference.gaps == 0)
        #expect(state.lastUpdateId == reference.lastId)
        let bids = state.book.levels(.bid)
        let asks = state.book.levels(.ask)
        #expect(bids.count == reference.bids.count && asks.count == reference.asks.count)
        #expect(bids.map { Decimal(string: $0.price.description)! } == reference.bids.map(\.0))
        #expect(asks.map { Decimal(string: $0.price.description)! } == reference.asks.map(\.0))
        #expect(bids.map(\.qty.description) == reference.bids.map(\.1))
        #expect(asks.map(\.qty.description) == reference.asks.map(\.1))
    }

    @Test func theCaptureAsMarketEventsOneSnapshotThenDeltasAndEveryTrade() throws {
        var feed = BinanceFeed()
        var snapshots = 0, deltas = 0, trades = 0, invalid = 0
        var last: TrustedDepth?
        for line in captureLines {
            line.withBytes { bytes in
                let recorded = RecordedLine(bytes)
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime) { event in
                    switch event {
                    case .depth(let depth):
                        if depth.cause == .snapshot { snapshots += 1 } else { deltas += 1 }
                        last = depth
                    case .trade: trades += 1
                    case .bookInvalid: invalid += 1
                    }
                }
            }
        }
        #expect(snapshots == 1 && invalid == 0 && trades == feed.stats.trades)
        // Diffs before the snapshot, or older than it, are not trusted depth.
        #expect(deltas > 6_000 && deltas < feed.stats.deltas)
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(last?.book.levels(.bid, limit: 50) == state.book.levels(.bid, limit: 50))
        #expect(last?.update.symbol == "BTCUSDT")
    }

    /// Where the capture's REST snapshot is (looked up once: a computed index inside a filter rescans the capture
    /// for every line).
    private static let snapshotIndex: Int = captureLines.firstIndex { $0.contains("lastUpdateId") }!
    private var snapshotIndex: Int { Self.snapshotIndex }

    @Test func removedDiffIsAGapThatInvalidatesTheBook() throws {
        var lines = captureLines
        // The 50th depth diff after the snapshot.
        let victim = lines.indices.filter { $0 > snapshotIndex && lines[$0].contains("depthUpdate") }[50]
        lines.remove(at: victim)
        var feed = BinanceFeed()
        replay(lines, into: &feed)
        #expect(feed.stats.gaps == 1)
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
    }

    @Test func newSnapshotAfterAGapResyncs() throws {
        var lines = Array(captureLines.prefix(snapshotIndex + 2_000))
        let diffs = lines.indices.filter { $0 > snapshotIndex && lines[$0].contains("depthUpdate") }
        lines.remove(at: diffs[20])
        var feed = BinanceFeed()
        replay(lines, into: &feed)
        #expect(feed.bookState(symbol: "BTCUSDT")?.isValid == false)
        // A fresh REST snapshot newer than every buffered diff: they are all dropped and the book
        // is exactly that snapshot, trusted again.
        let lastDiff = lines.last { $0.contains("depthUpdate") }!
        let snapshotId = try #require(lastDiff.firstMatch(of: /"u":(\d+)/).map { Int64($0.1)! + 1 })
        let snapshot = #"{"lastUpdateId":\#(snapshotId),"E":1,"T":1,"bids":[["61000.00","1.000"]],"asks":[["61000.10","2.000"]]}"#
        replay([snapshot], into: &feed)
        let state = try #require(feed.bookState(symbol: "BTCUSDT"))
        #expect(state.isValid && state.lastUpdateId == snapshotId)
        #expect(state.book.levels(.bid) == [PriceLevel(price: d("61000.00"), qty: d("1.000"))])
        #expect(feed.stats.snapshots == 2)
    }

    @Test func diffsOlderThanTheSnapshotAreDroppedAndTheFirstMustStraddleIt() {
        var sync = BinanceBookSync()
        func diff(_ first: Int64, _ last: Int64, _ previous: Int64) -> DepthUpdate {
            DepthUpdate(symbol: "BTCUSDT", kind: .delta, bids: [PriceLevel(price: d("1.0"), qty: d("\(last)"))],
                        firstUpdateId: first, lastUpdateId: last, previousUpdateId: previous)
        }
        #expect(sync.apply(diff(90, 95, 89)) == .buffered)
        #expect(sync.apply(diff(96, 104, 95)) == .buffered)
        let snapshot = DepthUpdate(symbol: "", kind: .snapshot, asks: [PriceLevel(price: d("2.0"), qty: d("1"))],
                                   firstUpdateId: 100, lastUpdateId: 100)
        #expect(sync.applySnapshot(snapshot).replayed == [.dropped, .applied])
        #expect(sync.apply(diff(105, 110, 104)) == .applied)
        #expect(sync.lastUpdateId == 110 && sync.isValid)
        #expect(sync.apply(diff(115, 120, 112)) == .invalidated(.gap(expected: 110, received: 112)))
        #expect(!sync.isValid)
        // A snapshot whose first following diff does not straddle it is a gap too.
        var fresh = BinanceBookSync()
        _ = fresh.applySnapshot(snapshot)
        #expect(fresh.apply(diff(101, 105, 100)) == .invalidated(.gap(expected: 100, received: 101)))
    }

    /// A snapshot no newer than a synced book (a recording's extra one) is ignored; a newer one resets it.
    @Test func aSnapshotBehindTheSyncedBookIsIgnored() {
        func diff(_ first: Int64, _ last: Int64, _ previous: Int64) -> DepthUpdate {
            DepthUpdate(symbol: "BTCUSDT", kind: .delta, bids: [PriceLevel(price: d("1.0"), qty: d("\(last)"))],
                        firstUpdateId: first, lastUpdateId: last, previousUpdateId: previous)
        }
        func snapshot(_ id: Int64) -> DepthUpdate {
            DepthUpdate(symbol: "", kind: .snapshot, asks: [PriceLevel(price: d("2.0"), qty: d("\(id)"))], firstUpdateId: id, lastUpdateId: id)
        }
        var sync = BinanceBookSync()
        _ = sync.applySnapshot(snapshot(100))
        #expect(sync.apply(diff(95, 105, 94)) == .applied)
        #expect(sync.apply(diff(106, 110, 105)) == .applied)
        #expect(sync.applySnapshot(snapshot(108)).outcome == .dropped)
        #expect(sync.apply(diff(111, 115, 110)) == .applied)
        #expect(sync.book.levels(.bid).first?.qty == d("115") && sync.book.levels(.ask).first?.qty == d("100"))
        #expect(sync.applySnapshot(snapshot(120)).outcome == .applied)
        #expect(sync.book.levels(.ask).first?.qty == d("120") && sync.book.levels(.bid).isEmpty)
    }

    @Test func decoderReadsWrappedAndRawEvents() throws {
        var decoder = BinanceDecoder()
        let raw = #"{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}"#
        let wrapped = #"{"stream":"btcusdt@trade","data":\#(raw)}"#
        let a = try raw.withBytes { try decoder.decode($0, receiveTime: 7) }
        let b = try wrapped.withBytes { try decoder.decode($0, receiveTime: 7) }
        #expect(a == b)
        #expect(a == .trade(TradeTick(symbol: "BTCUSDT", price: d("61800.30"), qty: d("0.006"), aggressor: .buy,
                                      tradeId: "5266583935", exchangeTime: 1_723_161_256_322_000_000, receiveTime: 7)))
        let ticker = #"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#
        guard case .bookTicker(let top) = try ticker.withBytes({ try decoder.decode($0, receiveTime: 0) }) else {
            Issue.record("bookTicker not decoded")
            return
        }
        #expect(top.bid == PriceLevel(price: d("61800.20"), qty: d("2.507")))
        #expect(top.ask == PriceLevel(price: d("61800.30"), qty: d("2.510")))
        let insurance = #"{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","X":"INSURANCE_FUND","m":true}"#
        guard case .offBookTrade(_, let kind) = try insurance.withBytes({ try decoder.decode($0, receiveTime: 0) }) else {
            Issue.record("off-book trade not told apart")
            return
        }
        #expect(kind == "INSURANCE_FUND")
        #expect(try #"{"result":null,"id":1}"#.withBytes { try decoder.decode($0, receiveTime: 0) } == .response(id: 1))
        #expect(try #"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1"}"#.withBytes { try decoder.decode($0, receiveTime: 0) } == .other(event: "markPriceUpdate"))
        #expect(throws: JSONError.self) { try #"{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}"#.withBytes { try decoder.decode($0, receiveTime: 0) } }
    }

    @Test func randomMutationsOfRealLinesNeverTrap() {
        var rng = SeededGenerator(seed: 99)
        var feed = BinanceFeed()
        let sample = Array(captureLines.prefix(3_000))
        for _ in 0..<4_000 {
            var bytes = Array(sample.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 2: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
                default: bytes.insert(Array(#"{}[]",:0-."#.utf8).randomElement(using: &rng)!, at: Int.random(in: 0..<bytes.count, using: &rng))
                }
            }
            bytes.withUnsafeBytes { buffer in
                let recorded = RecordedLine(buffer)
                feed.ingest(recorded.message, receiveTime: recorded.receiveTime)
            }
        }
        #expect(feed.stats.messages == 4_000)
        #expect(feed.stats.errors > 1_000)
    }
}

/// Book tickers on the combined stream are known by their stream name and not parsed (the exact book comes
/// from the diffs); anything else named otherwise is decoded as before.
struct BinanceBookTickerSkipTests {
    private func feed(_ lines: [String]) -> (BinanceFeed, [MarketEvent]) {
        var feed = BinanceFeed()
        var events: [MarketEvent] = []
        for line in lines { line.withBytes { feed.ingest($0, receiveTime: 1) { events.append($0) } } }
        return (feed, events)
    }

    @Test func aCombinedBookTickerIsCountedAndNotParsedAndOtherStreamsAreDecoded() {
        let ticker = #"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":1,"E":1}}"#
        // Not parsed: even a damaged body is not an error, since nothing reads it.
        let damaged = #"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","b":"#
        let (skipped, none) = feed([ticker, damaged])
        #expect(none.isEmpty && skipped.stats.messages == 2 && skipped.stats.errors == 0)
        // A stream whose name only contains the word, a name without its closing quote, a bare ticker: decoded as before.
        let trade = #"{"stream":"btcusdt@bookTickerish@trade","data":{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":9,"p":"1.5","q":"0.1","X":"MARKET","m":false}}"#
        let (decoded, events) = feed([trade, #"{"stream":"btcusdt@bookTicker"#, #"{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"x"}"#])
        #expect(events.count == 1, "\(events)")
        #expect(decoded.stats.trades == 1 && decoded.stats.errors == 2)
    }
}


/// Diffs and trades laid out as Binance writes them are read with their keys matched as literals; any other
/// layout, and any error, goes to the general reader — and both read a message the same.
struct BinanceAsWrittenTests {
    @Test func everyDiffAndTradeOfTheCaptureIsReadAsWrittenAndAsTheGeneralReaderReadsIt() {
        var decoder = BinanceDecoder()
        var general = BinanceDecoder()
        var asWritten = 0
        var diffsAndTrades = 0
        for line in captureLines {
            line.withBytes { bytes in
                let message = RecordedLine(bytes).message
                // A space after the opening brace: the same JSON, not laid out as Binance writes it.
                var spaced = Array(message)
                spaced.insert(UInt8(ascii: " "), at: 1)
                let read = try? decoder.decode(message, receiveTime: 5)
                #expect(read == spaced.withUnsafeBytes { try? general.decode($0, receiveTime: 5) })
                switch read {
                case .depth?, .trade?, .offBookTrade?: diffsAndTrades += 1
                default: break
                }
                if decoder.readAsWritten(message, receiveTime: 5) != nil { asWritten += 1 }
                #expect(spaced.withUnsafeBytes { general.readAsWritten($0, receiveTime: 5) } == nil)
            }
        }
        #expect(diffsAndTrades > 20_000 && asWritten == diffsAndTrades)
    }

    @Test func anotherLayoutOrAnErrorIsLeftToTheGeneralReader() throws {
        var decoder = BinanceDecoder()
        func asWritten(_ text: String) -> BinanceMessage? { text.withBytes { decoder.readAsWritten($0, receiveTime: 7) } }
        func decoded(_ text: String) throws -> BinanceMessage { try text.withBytes { try decoder.decode($0, receiveTime: 7) } }

        let trade = #"{"e":"trade","E":1723161256322,"T":1723161256321,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}"#
        let expected = BinanceMessage.trade(TradeTick(
            symbol: "BTCUSDT", price: d("61800.30"), qty: d("0.006"), aggressor: .buy,
            tradeId: "5266583935", exchangeTime: 1_723_161_256_321_000_000, receiveTime: 7))
        #expect(asWritten(trade) == expected)
        #expect(asWritten(#"{"stream":"btcusdt@trade","data":\#(trade)}"#) == expected)
        let adl = trade.replacingOccurrences(of: "MARKET", with: "ADL")
        guard case .offBookTrade(_, let kind)? = asWritten(adl) else {
            Issue.record("an off-book trade as written")
            return
        }
        #expect(kind == "ADL")

        // Read by the general reader alone, to the same message.
        for other in [
            trade.replacingOccurrences(of: #""E":1723161256322,"T":1723161256321"#, with: #""T":1723161256321,"E":1723161256322"#),
            trade.replacingOccurrences(of: #","X":"MARKET""#, with: ""),
            trade.replacingOccurrences(of: "MARKET", with: #"MARK\u0045T"#),
            trade.replacingOccurrences(of: #""m":false}"#, with: #""m":false,"M":true}"#),
            trade + " ",
            #"{"stream":"btcusdt@trade","data":\#(trade) }"#,
        ] {
            #expect(asWritten(other) == nil, "\(other)")
            #expect(try decoded(other) == expected, "\(other)")
        }

        // Errors: not read as written, and the general reader names them as before.
        for damaged in [
            trade.replacingOccurrences(of: "61800.30", with: "6180x.30"),
            trade.replacingOccurrences(of: #""m":false"#, with: #""m":fals"#),
            String(trade.dropLast()),
            #"{"stream":"btcusdt@trade","data":\#(trade)"#,
        ] {
            #expect(asWritten(damaged) == nil, "\(damaged)")
            #expect(throws: JSONError.self, "\(damaged)") { try decoded(damaged) }
        }

        let diff = #"{"e":"depthUpdate","E":2,"T":1,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[["61800.20","0.5"],["61800.10","0"]],"a":[]}"#
        let expectedDiff = BinanceMessage.depth(DepthUpdate(
            symbol: "BTCUSDT", kind: .delta,
            bids: [PriceLevel(price: d("61800.20"), qty: d("0.5")), PriceLevel(price: d("61800.10"), qty: d("0"))], asks: [],
            firstUpdateId: 10, lastUpdateId: 12, previousUpdateId: 9, exchangeTime: 1_000_000, receiveTime: 7))
        #expect(asWritten(diff) == expectedDiff)
        #expect(asWritten(#"{"stream":"btcusdt@depth@0ms","data":\#(diff)}"#) == expectedDiff)
        let spacedLevel = diff.replacingOccurrences(of: #"["61800.20","0.5"]"#, with: #"["61800.20", "0.5"]"#)
        #expect(asWritten(spacedLevel) == expectedDiff, "levels are read by the general level reader either way")
        let reordered = diff.replacingOccurrences(of: #""U":10,"u":12"#, with: #""u":12,"U":10"#)
        #expect(asWritten(reordered) == nil)
        #expect(try decoded(reordered) == expectedDiff)
        #expect(asWritten(#"{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":1,"E":1}"#) == nil)
    }
}
