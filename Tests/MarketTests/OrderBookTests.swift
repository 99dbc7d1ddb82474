import Market
import Testing
import TestSupport

private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
private func level(_ price: String, _ qty: String) -> PriceLevel { PriceLevel(price: d(price), qty: d(qty)) }

struct OrderBookTests {
    private func sampleBook() throws -> OrderBook {
        var book = OrderBook()
        try book.apply(DepthUpdate(symbol: "BTCUSDT", kind: .snapshot,
                                   bids: [level("100.0", "1"), level("99.5", "2"), level("99.0", "3")],
                                   asks: [level("100.5", "1.5"), level("101.0", "2"), level("102.0", "4")]))
        return book
    }

    @Test func snapshotReplacesTheWholeBook() throws {
        var book = try sampleBook()
        try book.apply(DepthUpdate(symbol: "BTCUSDT", kind: .snapshot, bids: [level("90.0", "1")], asks: [level("91.0", "1")]))
        #expect(book.bidCount == 1 && book.askCount == 1)
        #expect(book.bestBid == level("90.0", "1"))
    }

    @Test func deltaSetsAbsoluteSizesAndZeroDeletes() throws {
        var book = try sampleBook()
        try book.apply(DepthUpdate(symbol: "BTCUSDT", kind: .delta,
                                   bids: [level("100.0", "0"), level("99.5", "7"), level("99.7", "1")],
                                   asks: [level("100.5", "0.000"), level("100.8", "2.5"), level("150.0", "0")]))
        #expect(book.levels(.bid) == [level("99.7", "1"), level("99.5", "7"), level("99.0", "3")])
        #expect(book.levels(.ask) == [level("100.8", "2.5"), level("101.0", "2"), level("102.0", "4")])
        #expect(book.size(.bid, at: d("99.5")) == d("7"))
        #expect(book.size(.ask, at: d("100.5")) == .zero)
    }

    @Test func topOfBookFigures() throws {
        let book = try sampleBook()
        #expect(book.bestBid == level("100.0", "1"))
        #expect(book.bestAsk == level("100.5", "1.5"))
        #expect(book.spread == d("0.5"))
        #expect(book.mid == d("100.25"))
        // (100.0·1.5 + 100.5·1) / 2.5 = 100.2
        #expect(book.microprice() == d("100.2"))
        // (1 − 1.5) / 2.5 = −0.2 at the touch; (6 − 7.5) / 13.5 over three levels.
        #expect(abs(book.imbalance(depth: 1)! - -0.2) < 1e-12)
        #expect(abs(book.imbalance(depth: 3)! - (-1.5 / 13.5)) < 1e-12)
        #expect(book.levels(.bid, limit: 2) == [level("100.0", "1"), level("99.5", "2")])
    }

    @Test func detectsACrossedBook() throws {
        var book = try sampleBook()
        #expect(!book.isCrossed)
        try book.set(.bid, price: d("100.5"), qty: d("1"))
        #expect(book.isCrossed)
    }

    @Test func keepsTheExchangeDecimalsWhenFormattingBack() throws {
        var book = OrderBook()
        try book.set(.bid, price: d("61659.70"), qty: d("1.486"))
        try book.set(.bid, price: d("61659.00"), qty: d("0.002"))
        try book.set(.ask, price: d("61659.815"), qty: d("1"))   // a finer price widens the grid
        #expect(book.levels(.bid).map(\.price.description) == ["61659.700", "61659.000"])
        #expect(book.bestBid?.price == d("61659.7"))
        #expect(book.bestAsk?.price.description == "61659.815")
    }

    @Test func truncatesToDepthKeepingTheBest() throws {
        var book = OrderBook()
        for tick in 0..<300 {
            try book.set(.bid, price: FixedDecimal(mantissa: Int64(10_000 - tick), scale: 1), qty: d("1"))
            try book.set(.ask, price: FixedDecimal(mantissa: Int64(10_001 + tick), scale: 1), qty: d("1"))
        }
        book.truncate(depth: 50)
        #expect(book.bidCount == 50 && book.askCount == 50)
        #expect(book.bestBid?.price == d("1000.0"))
        #expect(book.levels(.bid).last?.price == d("995.1"))
        #expect(book.levels(.ask).last?.price == d("1005.0"))
    }

    @Test func rejectsNegativeSizesAndPrices() throws {
        var book = OrderBook()
        #expect(throws: BookError.self) { try book.set(.bid, price: d("1"), qty: d("-1")) }
        #expect(throws: BookError.self) { try book.set(.bid, price: d("-1"), qty: d("1")) }
    }

    /// Thousands of levels, random changes anywhere in the book, against a plain dictionary.
    @Test func matchesAReferenceOnThousandsOfRandomChanges() throws {
        var rng = SeededGenerator(seed: 42)
        var book = OrderBook()
        var reference: [BookSide: [Int64: Int64]] = [.bid: [:], .ask: [:]]
        for step in 0..<60_000 {
            let side: BookSide = Bool.random(using: &rng) ? .bid : .ask
            // Mostly near the touch, sometimes deep: bids below 50_000 ticks, asks above.
            let distance = step % 5 == 0 ? Int64.random(in: 0..<8_000, using: &rng) : Int64.random(in: 0..<40, using: &rng)
            let tick = side == .bid ? 50_000 - 1 - distance : 50_000 + distance
            let qty = Int64.random(in: 0...3, using: &rng) == 0 ? 0 : Int64.random(in: 1...1_000, using: &rng)
            try book.set(side, price: FixedDecimal(mantissa: tick, scale: 1), qty: FixedDecimal(mantissa: qty, scale: 3))
            reference[side]![tick] = qty == 0 ? nil : qty
        }
        for side in BookSide.allCases {
            let expected = reference[side]!.sorted { side == .bid ? $0.key > $1.key : $0.key < $1.key }
                .map { PriceLevel(price: FixedDecimal(mantissa: $0.key, scale: 1), qty: FixedDecimal(mantissa: $0.value, scale: 3)) }
            #expect(book.levels(side) == expected)
            #expect(expected.count > 1_000)
        }
    }
}

struct OrderBookEqualityTests {
    @Test func booksWithTheSameLevelsAreEqualWhateverTheirGrid() throws {
        var coarse = OrderBook()
        var fine = OrderBook()
        try coarse.set(.bid, price: FixedDecimal(parsing: "100.5"), qty: FixedDecimal(parsing: "1"))
        try fine.set(.bid, price: FixedDecimal(parsing: "100.500"), qty: FixedDecimal(parsing: "1.0"))
        #expect(coarse == fine)
        try fine.set(.ask, price: FixedDecimal(parsing: "101"), qty: FixedDecimal(parsing: "1"))
        #expect(coarse != fine)
    }
}

/// A book keeps its sides in one shared box: a copy is still a value, whatever changes the original or the copy.
struct OrderBookCopyTests {
    private static func levels(_ book: OrderBook) -> [[PriceLevel]] { [book.levels(.bid), book.levels(.ask)] }

    @Test func aCopyKeepsItsLevelsThroughEveryKindOfChangeToTheOther() throws {
        var original = OrderBook()
        try original.apply(DepthUpdate(symbol: "BTCUSDT", kind: .snapshot,
                                       bids: [level("100.0", "1"), level("99.5", "2")], asks: [level("100.5", "1.5"), level("101.0", "2")]))
        let changes: [(String, (inout OrderBook) throws -> Void)] = [
            ("set", { try $0.set(.bid, price: d("99.8"), qty: d("4")) }),
            ("delete", { try $0.set(.ask, price: d("100.5"), qty: .zero) }),
            ("a finer grid", { try $0.set(.bid, price: d("99.75"), qty: d("1")) }),
            ("far below the window", { try $0.set(.bid, price: d("1.0"), qty: d("1")) }),
            ("truncate", { $0.truncate(depth: 1) }),
            ("delta", { try $0.apply(DepthUpdate(symbol: "BTCUSDT", kind: .delta, bids: [level("100.1", "3")], asks: [level("100.2", "1")])) }),
            ("snapshot", { try $0.apply(DepthUpdate(symbol: "BTCUSDT", kind: .snapshot, bids: [level("90.0", "1")], asks: [level("91.0", "1")])) }),
            ("clear", { $0.clear() }),
        ]
        for (name, change) in changes {
            // The original changed, the copy kept; then the copy changed, the original kept.
            let copy = original
            let before = Self.levels(copy)
            var changed = original
            try change(&changed)
            #expect(Self.levels(copy) == before && Self.levels(original) == before, "\(name)")
            var other = copy
            try change(&other)
            #expect(Self.levels(other) == Self.levels(changed) && Self.levels(original) == before, "\(name)")
            #expect(copy.priceScale == original.priceScale, "\(name)")
            original = changed
        }
        #expect(original.isEmpty)
    }
}

struct BookTopsTests {
    /// `changes` random sets and deletes, a tick apart, within `within` ticks of each side of 5000.0.
    private func scatter(_ changes: Int, within: Int64, on book: inout OrderBook, _ rng: inout SeededGenerator) throws {
        for _ in 0..<changes {
            let side: BookSide = Bool.random(using: &rng) ? .bid : .ask
            let distance = Int64.random(in: 0..<within, using: &rng)
            let tick = side == .bid ? 50_000 - 1 - distance : 50_000 + distance
            let qty = Int64.random(in: 0...2, using: &rng) == 0 ? 0 : Int64.random(in: 1...1_000, using: &rng)
            try book.set(side, price: FixedDecimal(mantissa: tick, scale: 1), qty: FixedDecimal(mantissa: qty, scale: 3))
        }
    }

    /// The kept tops are the book's best levels, refilled in place as the book changes, and answer the
    /// size at a price as the book does within them.
    @Test func copiedTopsAreTheBooksBestLevelsAndItsSizes() throws {
        var rng = SeededGenerator(seed: 7)
        var book = OrderBook()
        var tops = BookTops()
        for round in 0..<40 {
            try scatter(500, within: 600, on: &book, &rng)
            let limit = round % 4 == 0 ? 3 : 256
            book.copyTops(limit: limit, into: &tops)
            #expect(tops.bestBid == book.bestBid?.price && tops.bestAsk == book.bestAsk?.price)
            for side in BookSide.allCases {
                let best = book.levels(side, limit: limit)
                #expect(tops.levels(side) == best)
                for level in best { #expect(tops.size(side, at: level.price) == level.qty) }
                // Off the grid, past the kept levels, or an empty price: zero.
                #expect(tops.size(side, at: FixedDecimal(mantissa: 500_005, scale: 2)) == .zero)
                if let deepest = best.last, book.levels(side).count > best.count {
                    let beyond = book.levels(side)[best.count]
                    #expect(tops.size(side, at: beyond.price) == .zero, "\(deepest) then \(beyond)")
                }
            }
        }
        book.clear()
        book.copyTops(limit: 256, into: &tops)
        #expect(tops.bestBid == nil && tops.count(.ask) == 0)
    }

    /// Copied only as deep as a price asked for, each side holds every level at that price or better (the
    /// best at least, at most the limit), answers the sizes the whole copy answers wherever it `covers`,
    /// and covers exactly the prices no deeper than its last level when levels were left behind it.
    @Test func topsCopiedToAPriceAnswerAsTheWholeCopyWhereTheyCover() throws {
        var rng = SeededGenerator(seed: 11)
        var book = OrderBook()
        var whole = BookTops(), partial = BookTops()
        for round in 0..<40 {
            try scatter(300, within: 400, on: &book, &rng)
            let limit = round % 5 == 0 ? 4 : 256
            book.copyTops(limit: limit, into: &whole)
            // A bid reach somewhere in the book (or above it), the asks the best only, then the other way round.
            let reach = FixedDecimal(mantissa: 50_000 - Int64.random(in: -3..<420, using: &rng), scale: 1)
            for (bids, asks) in [(reach, nil), (nil, FixedDecimal(mantissa: 2 * 50_000 - 1 - reach.mantissa, scale: 1))] as [(Price?, Price?)] {
                book.copyTops(limit: limit, bidsThrough: bids, asksThrough: asks, into: &partial)
                #expect(partial.bestBid == book.bestBid?.price && partial.bestAsk == book.bestAsk?.price)
                for side in BookSide.allCases {
                    let asked = side == .bid ? bids : asks
                    let all = book.levels(side, limit: limit)
                    let expected = asked.map { price in
                        Array(all.prefix { side == .bid ? $0.price >= price : $0.price <= price })
                    } ?? Array(all.prefix(1))
                    let kept = expected.isEmpty ? Array(all.prefix(1)) : expected
                    #expect(partial.levels(side) == kept)
                    let leftBehind = kept.count < all.count
                    for tick in 49_570..<50_430 {
                        let price = FixedDecimal(mantissa: Int64(tick), scale: 1)
                        let covered = !leftBehind || kept.last.map { side == .bid ? price >= $0.price : price <= $0.price } ?? false
                        #expect(partial.covers(side, price) == covered, "\(side) \(price)")
                        if covered { #expect(partial.size(side, at: price) == whole.size(side, at: price)) }
                    }
                }
            }
        }
    }
}

/// The side's dense window near the touch and sparse tail, against a plain dictionary: a touch that
/// trends up and down for thousands of ticks (the window moving both ways), prices off the learnt grid
/// (the window laid again on a finer one), more decimals (every key rescaled), truncation and snapshots.
struct BookWindowTests {
    private struct Reference {
        var sides: [BookSide: [Int64: Int64]] = [.bid: [:], .ask: [:]]
        var scale: UInt8 = 1

        func levels(_ side: BookSide) -> [PriceLevel] {
            sides[side]!.sorted { side == .bid ? $0.key > $1.key : $0.key < $1.key }
                .map { PriceLevel(price: FixedDecimal(mantissa: $0.key, scale: scale), qty: FixedDecimal(mantissa: $0.value, scale: 3)) }
        }
    }

    private func check(_ book: OrderBook, _ reference: Reference, _ context: String) {
        for side in BookSide.allCases {
            let expected = reference.levels(side)
            #expect(book.levels(side) == expected, "\(side) \(context)")
            #expect(book.levels(side, limit: 7) == Array(expected.prefix(7)), "\(side) \(context)")
            #expect((side == .bid ? book.bidCount : book.askCount) == expected.count)
            for level in expected.prefix(40) { #expect(book.size(side, at: level.price) == level.qty) }
        }
        #expect(book.bestBid == reference.levels(.bid).first && book.bestAsk == reference.levels(.ask).first)
    }

    @Test func windowAndTailMatchAReferenceThroughMovesRegridsRescalesAndTruncation() throws {
        var rng = SeededGenerator(seed: 11)
        var book = OrderBook()
        var reference = Reference()
        // Prices on a grid of 10 units (the ladder learns it), then of 5 (off the learnt one: laid again),
        // then × 10 for a finer scale (every key rescaled), then on 30 of those (laid again on their gcd).
        var grid: Int64 = 10
        var mid: Int64 = 500_000
        for step in 0..<120_000 {
            // The touch wanders: long runs up and down, far past the window's span.
            let phase = (step / 15_000) % 4
            if step % 3 == 0 { mid += (phase == 0 || phase == 3 ? 1 : -1) * Int64.random(in: 0...2, using: &rng) * grid }
            if step == 40_000 {
                grid = 5
                mid += 5
            }
            if step == 60_000 {
                reference.scale = 2
                reference.sides = reference.sides.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.key * 10, $0.value) }) }
                mid *= 10
                grid = 50
            }
            if step == 75_000 {
                grid = 30
                mid += 30
            }
            let side: BookSide = Bool.random(using: &rng) ? .bid : .ask
            let near = step % 7 != 0
            let distance = (near ? Int64.random(in: 0..<30, using: &rng) : Int64.random(in: 0..<20_000, using: &rng)) * grid
            let key = side == .bid ? mid - grid - distance : mid + distance
            // Deletions mostly at the touch, so the best keeps falling back into the window (and out of it).
            let delete = Int64.random(in: 0...3, using: &rng) == 0
            let target = delete && !reference.sides[side]!.isEmpty && step % 2 == 0
                ? (side == .bid ? reference.sides[side]!.keys.max()! : reference.sides[side]!.keys.min()!) : key
            let qty = delete ? 0 : Int64.random(in: 1...1_000, using: &rng)
            // A price crossing the other side is fine for a book: the reference keeps both.
            try book.set(side, price: FixedDecimal(mantissa: target, scale: reference.scale), qty: FixedDecimal(mantissa: qty, scale: 3))
            reference.sides[side]![target] = qty == 0 ? nil : qty
            if step % 9_973 == 0 {
                let depth = Int.random(in: 0...300, using: &rng)
                book.truncate(depth: depth)
                for side in BookSide.allCases {
                    let kept = Set(reference.levels(side).prefix(depth).map { $0.price.units(atScale: reference.scale)! })
                    reference.sides[side] = reference.sides[side]!.filter { kept.contains($0.key) }
                }
            }
            if step % 5_011 == 0 { check(book, reference, "step \(step)") }
            if step == 90_000 {
                // A snapshot replaces everything, on a grid of its own.
                let bids = (0..<800).map { PriceLevel(price: FixedDecimal(mantissa: mid - 30 - Int64($0) * 20, scale: 2), qty: FixedDecimal(mantissa: 5, scale: 3)) }
                let asks = (0..<800).map { PriceLevel(price: FixedDecimal(mantissa: mid + 30 + Int64($0) * 20, scale: 2), qty: FixedDecimal(mantissa: 7, scale: 3)) }
                try book.apply(DepthUpdate(symbol: "X", kind: .snapshot, bids: bids, asks: asks))
                reference.sides[.bid] = Dictionary(uniqueKeysWithValues: bids.map { ($0.price.mantissa, Int64(5)) })
                reference.sides[.ask] = Dictionary(uniqueKeysWithValues: asks.map { ($0.price.mantissa, Int64(7)) })
                check(book, reference, "snapshot")
            }
        }
        check(book, reference, "end")
        #expect(book.bidCount > 50 && book.askCount > 50)
    }
}
