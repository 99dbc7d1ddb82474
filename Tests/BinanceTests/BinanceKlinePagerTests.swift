import Binance
import Market
import Testing

@Suite("Binance kline pager")
struct BinanceKlinePagerTests {
    static let minute = KlineWindow.minute
    static let t0: Int64 = 1_700_000_040_000 * 1_000_000 - (1_700_000_040_000 * 1_000_000) % minute

    static func page(_ starts: [Int64]) -> [UInt8] {
        let rows = starts.map { start in
            let ms = start / 1_000_000
            return #"[\#(ms),"100.5","101","100","100.5","2.5",\#(ms + 59_999),"251.25",7,"1.5","150.75","0"]"#
        }
        return Array("[\(rows.joined(separator: ","))]".utf8)
    }

    @Test("pages forwards from startTime, with the taker-buy volume and trade count, weight by limit")
    func pagesForwards() throws {
        let from = Self.t0
        let to = from + 12 * Self.minute
        var pager = BinanceKlinePager(symbol: "BTCUSDT", from: from, to: to, limit: 5)
        #expect(pager.chunks == 3)
        let request = try #require(pager.next())
        #expect(request.query == "symbol=BTCUSDT&interval=1m&startTime=\(from / 1_000_000)&endTime=\(to / 1_000_000 - 1)&limit=5")
        #expect(request.weight == 1)
        var got = try pager.take(Self.page((0..<5).map { from + Int64($0) * Self.minute }))
        #expect(got.count == 5 && got[0].buyVolume == FixedDecimal(mantissa: 15, scale: 1) && got[0].trades == 7 && got[0].takerSplit)
        #expect(try #require(pager.next()).query.contains("startTime=\((from + 5 * Self.minute) / 1_000_000)"))
        got = try pager.take(Self.page((5..<10).map { from + Int64($0) * Self.minute }))
        // The last page holds the open minute (start == to): skipped, and the window is done.
        got = try pager.take(Self.page((10...12).map { from + Int64($0) * Self.minute }))
        #expect(got.map(\.start) == [from + 10 * Self.minute, from + 11 * Self.minute])
        #expect(pager.next() == nil)
        #expect(BinanceKlinePager.weight(limit: 1_500) == 10 && BinanceKlinePager.weight(limit: 499) == 2 && BinanceKlinePager.weight(limit: 1_000) == 5)
    }

    @Test("Binance's error object is a typed error naming its code")
    func errorObject() {
        var pager = BinanceKlinePager(symbol: "BTCUSDT", from: Self.t0, to: Self.t0 + 5 * Self.minute)
        #expect {
            try pager.take(Array(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8))
        } throws: { error in
            (error as? KlineError)?.message.contains("-1121") == true
        }
    }
}
