import Market
import Strategy
import Testing
import TestSupport

/// Markouts on scripted fills and mid paths, by hand.
struct MarkoutsTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
    private let second: Int64 = 1_000_000_000

    /// A buy at 100 with the mid at 100.1 after 1 s is +10 bp; a sell at 100 then is −10 bp. At 5 s the mid is
    /// 99.8: the buy −20, the sell +20. At 30 s, 100.05: +5 / −5. Averages per side, overall and over the last fills.
    @Test func signedGoodForUsPerHorizonAndSide() {
        var markouts = Markouts(recent: 2)
        markouts.fill(id: "b", side: .buy, price: d("100"), time: 0)
        markouts.fill(id: "s", side: .sell, price: d("100"), time: 0)
        #expect(markouts.mid(d("100.2"), time: second / 2).isEmpty)
        let one = markouts.mid(d("100.1"), time: second)
        #expect(one.count == 2)
        #expect(abs(one.first { $0.id == "b" }!.bps - 10) < 1e-9 && abs(one.first { $0.id == "s" }!.bps + 10) < 1e-9)
        markouts.mid(d("99.8"), time: 5 * second)
        markouts.mid(d("100.05"), time: 30 * second)
        #expect(markouts.waiting == 0)
        let start = markouts.sinceStart
        #expect(abs(start[1].buy! + 20) < 1e-9 && abs(start[1].sell! - 20) < 1e-9 && abs(start[1].all!) < 1e-9 && start[1].count == 2)
        #expect(abs(start[2].buy! - 5) < 1e-9)
        // Two more buys, each +10 at 1 s: over the last two buys the 1 s figure is +10, since start (10+10+10)/3.
        markouts.fill(id: "b2", side: .buy, price: d("100"), time: 40 * second)
        markouts.fill(id: "b3", side: .buy, price: d("100"), time: 40 * second)
        markouts.mid(d("100.1"), time: 41 * second)
        #expect(abs(markouts.lastFills[0].buy! - 10) < 1e-9 && markouts.lastFills[0].count == 3)
        #expect(abs(markouts.sinceStart[0].buy! - 10) < 1e-9 && markouts.sinceStart[0].count == 4)
    }

    /// A fill whose horizons pass a broken book: no mid while it is broken, so each horizon takes the first
    /// trusted mid after it — here the reset's snapshot at 6 s, for the 1 s and 5 s horizons alike.
    @Test func aHorizonPassingABookResetTakesTheFirstTrustedMidAfterIt() {
        var policy = MarketMakingStrategy.Policy()
        policy.quoteInterval = 0
        let instrument = Instrument(symbol: "X", tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"))
        var mm = MarketMakingStrategy(symbol: "X", instrument: instrument, policy: policy, clientIdPrefix: "m-")
        func book(_ bid: String, _ ask: String, at time: Int64) -> MarketEvent { ScriptedBook.depth("X", bid: bid, ask: ask, time: time) }
        mm.onMarket(book("99.9", "100.1", at: 0), time: 0)
        mm.onFill(id: "f1", side: .sell, price: d("100.1"), time: 0)
        mm.onMarket(.bookInvalid(BookInvalid(symbol: "X", fault: .crossed, exchangeTime: second / 2, receiveTime: second / 2)), time: second / 2)
        #expect(mm.takeResolvedMarkouts().isEmpty)
        // The reset: a snapshot at 6 s, mid 99.9 — the sell at 100.1 made (100.1 − 99.9) / 100.1 = +19.98 bp.
        mm.onMarket(book("99.8", "100.0", at: 6 * second), time: 6 * second)
        let resolved = mm.takeResolvedMarkouts()
        #expect(resolved.map(\.horizon) == [second, 5 * second])
        #expect(resolved.allSatisfy { abs($0.bps - 0.2 / 100.1 * 10_000) < 1e-9 })
        mm.onMarket(book("100.0", "100.2", at: 30 * second), time: 30 * second)
        #expect(mm.takeResolvedMarkouts().map(\.horizon) == [30 * second])
        #expect(mm.markouts.waiting == 0)
    }

    /// Thousands of fills, some of them reported late (older than fills already waiting), against a reference that
    /// checks every fill at every mid: the same averages and the same markouts, each horizon resolved exactly once.
    @Test func manyFillsSomeLateResolveAsAReferenceThatChecksEveryFillAtEveryMid() {
        var markouts = Markouts(recent: 20)
        var random = SeededRandom(seed: 11)
        struct Fill { var id: String; var buy: Bool; var price: Double; var time: Int64; var next = 0 }
        var reference: [Fill] = []
        var expected: [String: [Double]] = [:]
        var got: [String: [Double]] = [:]
        var time: Int64 = 0
        for step in 0..<6_000 {
            time += Int64(random.next() % 200) * 1_000_000
            if random.next() % 3 == 0 {
                // Now and then a fill reported late: up to 0.3 s older than the last one.
                let late = step % 10 == 0 ? Int64(random.next() % 300) * 1_000_000 : 0
                let fillTime = max(0, time - late)
                let price = 100 + Double(random.next() % 100) / 10
                let id = "f\(step)"
                let buy = random.next() % 2 == 0
                markouts.fill(id: id, side: buy ? .buy : .sell, price: FixedDecimal(mantissa: Int64((price * 10).rounded()), scale: 1), time: fillTime)
                reference.append(Fill(id: id, buy: buy, price: price, time: fillTime))
            }
            let mid = 100 + Double(random.next() % 1_000) / 100
            for resolved in markouts.mid(FixedDecimal(mantissa: Int64((mid * 100).rounded()), scale: 2), time: time) {
                got[resolved.id, default: []].append(resolved.bps)
            }
            for index in reference.indices {
                while reference[index].next < Markouts.horizons.count, time >= reference[index].time + Markouts.horizons[reference[index].next] {
                    let fill = reference[index]
                    expected[fill.id, default: []].append((fill.buy ? 1.0 : -1.0) * (mid - fill.price) / fill.price * 10_000)
                    reference[index].next += 1
                }
            }
        }
        #expect(got.count > 1_000)
        #expect(got.keys.sorted() == expected.keys.sorted())
        let mismatched = got.filter { id, values in
            guard let other = expected[id], other.count == values.count else { return true }
            return zip(values, other).contains { abs($0 - $1) > 1e-9 }
        }
        #expect(mismatched.isEmpty, "\(mismatched.prefix(3))")
        #expect(markouts.waiting == reference.filter { $0.next < Markouts.horizons.count }.count)
    }
}

