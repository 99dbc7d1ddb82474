import Bybit
import Market
import Testing

@Suite("Bybit kline pager")
struct BybitKlinePagerTests {
    static let minute = KlineWindow.minute
    static let t0: Int64 = 1_700_000_040_000 * 1_000_000 - (1_700_000_040_000 * 1_000_000) % minute

    /// Bybit's answer: newest first, one row per minute start given.
    static func page(_ starts: [Int64]) -> [UInt8] {
        let rows = starts.sorted(by: >).map { start in
            #"["\#(start / 1_000_000)","100.5","101","100","100.5","2.5","251.25"]"#
        }
        return Array(#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","symbol":"BTCUSDT","list":[\#(rows.joined(separator: ","))]},"retExtInfo":{},"time":1}"#.utf8)
    }

    @Test("pages backwards with end = earliest start − 1, keeps each minute once, never the open one")
    func pagesBackwards() throws {
        let from = Self.t0
        let to = from + 25 * Self.minute
        var pager = BybitKlinePager(symbol: "BTCUSDT", from: from, to: to, limit: 10)
        #expect(pager.chunks == 3)
        var first = try #require(pager.next())
        #expect(first.path == "/v5/market/kline")
        #expect(first.query == "category=linear&symbol=BTCUSDT&interval=1&start=\(from / 1_000_000)&end=\(to / 1_000_000 - 1)&limit=10")
        // The exchange also returns the minute still open (start == to): skipped.
        var got = try pager.take(Self.page((15...25).map { from + Int64($0) * Self.minute }.suffix(10)))
        #expect(got.map(\.start) == (16...24).map { from + Int64($0) * Self.minute })
        first = try #require(pager.next())
        #expect(first.query.contains("end=\((from + 16 * Self.minute) / 1_000_000 - 1)"))
        // An overlapping page (a minute already taken) counts it once.
        got = try pager.take(Self.page((7...16).map { from + Int64($0) * Self.minute }))
        #expect(got.map(\.start) == (7...15).map { from + Int64($0) * Self.minute })
        got = try pager.take(Self.page((0...6).map { from + Int64($0) * Self.minute }))
        #expect(got.count == 7)
        #expect(pager.next() == nil)
        #expect(got.allSatisfy { !$0.takerSplit })
        #expect(got[0].turnover == FixedDecimal(mantissa: 25125, scale: 2))
    }

    @Test("an error answer and a malformed answer are typed errors")
    func errors() {
        var pager = BybitKlinePager(symbol: "BTCUSDT", from: Self.t0, to: Self.t0 + 5 * Self.minute)
        #expect(throws: KlineError.self) { try pager.take(Array(#"{"retCode":10001,"retMsg":"params error","result":{},"time":1}"#.utf8)) }
        #expect(throws: KlineError.self) { try pager.take(Array("<html>".utf8)) }
        #expect(pager.next() != nil)
    }
}
