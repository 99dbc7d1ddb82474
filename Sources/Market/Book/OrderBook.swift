/// Why the book refused a change.
public enum BookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The price cannot be represented as integer units of the book's price grid in 64 bits.
    case priceOutOfRange(Price)
    case negativeQuantity(price: Price, qty: Quantity)
    case negativePrice(Price)

    public var description: String {
        switch self {
        case .priceOutOfRange(let price): return "price \(price) does not fit the book's integer price grid"
        case .negativeQuantity(let price, let qty): return "negative quantity \(qty) at price \(price)"
        case .negativePrice(let price): return "negative price \(price)"
        }
    }
}

/// An L2 order book: aggregated size per price level, both sides sorted, keyed by integer ticks.
///
/// A level's key is its price in units of `10^-priceScale`, where `priceScale` is the largest number
/// of decimals the exchange has written a price with (so keys are exact ticks of the finest grid the exchange uses, and
/// formatting a key back gives the exchange's own string). Each side is a `Ladder` of sorted blocks
/// whose best level comes last, so a change near the touch stays in the last block and a change deep
/// in a book of thousands of levels moves at most one block.
public struct OrderBook: Sendable {
    public private(set) var priceScale: UInt8 = 0
    @usableFromInline var bidLadder = Ladder()
    /// Asks are stored under negated keys, so both ladders ascend towards their best level.
    @usableFromInline var askLadder = Ladder()

    public init() {}

    public var bidCount: Int { bidLadder.count }
    public var askCount: Int { askLadder.count }
    public var isEmpty: Bool { bidLadder.count == 0 && askLadder.count == 0 }

    // MARK: Changes

    /// Empties both sides.
    public mutating func clear() {
        bidLadder.removeAll()
        askLadder.removeAll()
    }

    /// Applies a snapshot (replaces the book) or a delta (sets absolute sizes; zero deletes).
    public mutating func apply(_ update: DepthUpdate) throws(BookError) {
        if update.kind == .snapshot {
            try replace(bids: update.bids, asks: update.asks)
        } else {
            for level in update.bids { try set(.bid, price: level.price, qty: level.qty) }
            for level in update.asks { try set(.ask, price: level.price, qty: level.qty) }
        }
    }

    /// Replaces the whole book with these levels (zero sizes are skipped; a repeated price keeps
    /// the last size given).
    public mutating func replace(bids: [PriceLevel], asks: [PriceLevel]) throws(BookError) {
        for level in bids { try accommodate(level.price) }
        for level in asks { try accommodate(level.price) }
        try bidLadder.rebuild(from: bids, scale: priceScale, negate: false)
        try askLadder.rebuild(from: asks, scale: priceScale, negate: true)
    }

    /// Sets the absolute size at one price; a zero size deletes the level (absent is fine).
    @inlinable
    public mutating func set(_ side: BookSide, price: Price, qty: Quantity) throws(BookError) {
        if qty.mantissa < 0 { throw .negativeQuantity(price: price, qty: qty) }
        let key = try key(for: price)
        if side == .bid {
            bidLadder.set(key: key, qty: qty)
        } else {
            askLadder.set(key: -key, qty: qty)
        }
    }

    /// Keeps the best `depth` levels of each side, dropping the rest.
    public mutating func truncate(depth: Int) {
        bidLadder.keepBest(depth)
        askLadder.keepBest(depth)
    }

    /// The largest key magnitude a book holds, so two keys subtract without overflow.
    @usableFromInline static let maxKey: Int64 = 1 << 62

    @inlinable
    mutating func key(for price: Price) throws(BookError) -> Int64 {
        if price.mantissa < 0 { throw .negativePrice(price) }
        if price.scale <= priceScale, let key = price.units(atScale: priceScale), key < OrderBook.maxKey { return key }
        try accommodate(price)
        guard let key = price.units(atScale: priceScale), key < OrderBook.maxKey else { throw .priceOutOfRange(price) }
        return key
    }

    /// Widens the price grid when a price is written with more decimals than the book has seen
    /// (so `"61659.70"` keeps its two decimals when formatted back).
    @usableFromInline
    mutating func accommodate(_ price: Price) throws(BookError) {
        let needed = price.scale
        guard needed > priceScale else {
            if price.units(atScale: priceScale) == nil { throw .priceOutOfRange(price) }
            return
        }
        let factor = FixedDecimal.pow10(Int(needed - priceScale))
        guard bidLadder.canMultiplyKeys(by: factor), askLadder.canMultiplyKeys(by: factor),
              price.units(atScale: needed) != nil
        else { throw .priceOutOfRange(price) }
        bidLadder.multiplyKeys(by: factor)
        askLadder.multiplyKeys(by: factor)
        priceScale = needed
    }

    // MARK: Reading

    @inlinable
    func price(ofKey key: Int64) -> Price { Price(mantissa: key, scale: priceScale) }

    public var bestBid: PriceLevel? {
        guard let key = bidLadder.bestKey, let size = bidLadder.bestSize else { return nil }
        return PriceLevel(price: price(ofKey: key), qty: size)
    }

    public var bestAsk: PriceLevel? {
        guard let key = askLadder.bestKey, let size = askLadder.bestSize else { return nil }
        return PriceLevel(price: price(ofKey: -key), qty: size)
    }

    /// The best `limit` levels of `side`, best first.
    public func levels(_ side: BookSide, limit: Int = .max) -> [PriceLevel] {
        let ladder = side == .bid ? bidLadder : askLadder
        let sign: Int64 = side == .bid ? 1 : -1
        let n = Swift.min(Swift.max(limit, 0), ladder.count)
        var result: [PriceLevel] = []
        result.reserveCapacity(n)
        ladder.forEachFromBest { key, size in
            guard result.count < n else { return false }
            result.append(PriceLevel(price: price(ofKey: sign * key), qty: size))
            return true
        }
        return result
    }

    /// The size resting at `price` on `side` (zero when there is no level).
    public func size(_ side: BookSide, at price: Price) -> Quantity {
        guard let key = price.units(atScale: priceScale) else { return .zero }
        let ladder = side == .bid ? bidLadder : askLadder
        return ladder.size(at: side == .bid ? key : -key) ?? .zero
    }

    /// Best bid at or above best ask: the book cannot be trusted.
    public var isCrossed: Bool {
        guard let bid = bidLadder.bestKey, let ask = askLadder.bestKey else { return false }
        return bid >= -ask
    }

    /// Best ask minus best bid.
    public var spread: Price? {
        guard let bid = bestBid, let ask = bestAsk else { return nil }
        return ask.price - bid.price
    }

    /// (best bid + best ask) / 2, exact (one more decimal than the grid when needed).
    public var mid: Price? {
        guard let bid = bidLadder.bestKey, let ask = askLadder.bestKey else { return nil }
        let sum = Int128(bid) - Int128(ask)
        if sum % 2 == 0, let mantissa = Int64(exactly: sum / 2) {
            return Price(mantissa: mantissa, scale: priceScale)
        }
        guard priceScale < FixedDecimal.maxScale, let mantissa = Int64(exactly: sum * 5) else { return nil }
        return Price(mantissa: mantissa, scale: priceScale + 1)
    }

    /// Size-weighted mid of the touch, `(bid·askQty + ask·bidQty) / (bidQty + askQty)`, rounded
    /// half-even to `extraDecimals` beyond the price grid.
    public func microprice(extraDecimals: UInt8 = 4) -> Price? {
        guard let bid = bestBid, let ask = bestAsk else { return nil }
        let totalQty = bid.qty + ask.qty
        guard !totalQty.isZero,
              let weightedBid = bid.price.multipliedReportingOverflow(by: ask.qty),
              let weightedAsk = ask.price.multipliedReportingOverflow(by: bid.qty),
              let numerator = weightedBid.addingReportingOverflow(weightedAsk)
        else { return nil }
        let scale = Swift.min(FixedDecimal.maxScale, priceScale + extraDecimals)
        return numerator.divided(by: totalQty, scale: scale, rounding: .halfEven)
    }

    /// Order-book imbalance over the best `depth` levels: (bidQty − askQty) / (bidQty + askQty),
    /// in [-1, 1]; a signal for analytics, hence `Double`.
    public func imbalance(depth: Int = 1) -> Double? {
        let bidQty = bidLadder.totalSize(best: depth)
        let askQty = askLadder.totalSize(best: depth)
        let total = bidQty + askQty
        guard !total.isZero else { return nil }
        return (bidQty - askQty).doubleValue / total.doubleValue
    }
}

extension OrderBook: Equatable {
    /// Same levels on both sides, whatever price grid each book reached them on.
    public static func == (lhs: OrderBook, rhs: OrderBook) -> Bool {
        if lhs.priceScale == rhs.priceScale { return lhs.bidLadder == rhs.bidLadder && lhs.askLadder == rhs.askLadder }
        return lhs.levels(.bid) == rhs.levels(.bid) && lhs.levels(.ask) == rhs.levels(.ask)
    }
}

/// One side of the book as sorted blocks of up to `blockCapacity` levels — a two-level B+tree kept
/// in flat arrays. Keys ascend so the best level is the last of the last block. A change bisects
/// the blocks' last keys, then its block, and shifts at most one block's entries, wherever in a
/// deep book it lands; a change at the touch stays in the last block.
@usableFromInline
struct Ladder: Sendable {
    @usableFromInline static let blockCapacity = 64

    /// Storage: block `s` holds its levels in slots `s*capacity ..< s*capacity + counts[s]`.
    @usableFromInline var keys: [Int64] = []
    @usableFromInline var sizes: [Quantity] = []
    @usableFromInline var counts: [Int] = []
    /// Blocks in ascending key order (storage ids), and the last key of each.
    @usableFromInline var order: [Int] = []
    @usableFromInline var lastKeys: [Int64] = []
    /// Storage blocks not in use.
    @usableFromInline var free: [Int] = []
    @usableFromInline var count = 0
    /// The block position the last change landed in: a message's levels come sorted and close together, so the
    /// next one is usually in the same block, checked against its neighbours' last keys before any bisection.
    @usableFromInline var finger = 0

    @usableFromInline init() {}

    var bestKey: Int64? { lastKeys.last }

    var bestSize: Quantity? {
        guard let block = order.last else { return nil }
        return sizes[block * Ladder.blockCapacity + counts[block] - 1]
    }

    var worstKey: Int64? {
        guard let block = order.first else { return nil }
        return keys[block * Ladder.blockCapacity]
    }

    mutating func removeAll() {
        free = Array(counts.indices)
        for index in counts.indices { counts[index] = 0 }
        order.removeAll(keepingCapacity: true)
        lastKeys.removeAll(keepingCapacity: true)
        count = 0
    }

    /// A storage block, reused or newly appended.
    @usableFromInline
    mutating func allocateBlock() -> Int {
        if let block = free.popLast() { return block }
        keys.append(contentsOf: repeatElement(0, count: Ladder.blockCapacity))
        sizes.append(contentsOf: repeatElement(.zero, count: Ladder.blockCapacity))
        counts.append(0)
        return counts.count - 1
    }

    /// The position (in `order`) of the block that holds `key` or would receive it: the first whose
    /// last key is ≥ `key`, or the last block when `key` is above them all. Checks the touch first.
    @inlinable
    func blockPosition(for key: Int64) -> Int {
        lastKeys.withUnsafeBufferPointer { lasts in
            let n = lasts.count
            if n <= 1 || lasts[n - 2] < key { return n - 1 }
            return Swift.min(Ladder.lowerBound(of: key, in: lasts), n - 1)
        }
    }

    /// `blockPosition(for:)`, answered from the last change's block when `key` belongs there.
    @inlinable
    mutating func fingerPosition(for key: Int64) -> Int {
        let at = finger
        let fits = lastKeys.withUnsafeBufferPointer { lasts in
            at < lasts.count && (lasts[at] >= key || at == lasts.count - 1) && (at == 0 || lasts[at &- 1] < key)
        }
        if fits { return at }
        finger = blockPosition(for: key)
        return finger
    }

    /// The first index whose key is ≥ `key` (or `keys.count`), without data-dependent branches:
    /// book updates land at unpredictable depths, and mispredicted bisection steps dominate.
    @inlinable @inline(__always)
    static func lowerBound(of key: Int64, in keys: UnsafeBufferPointer<Int64>) -> Int {
        // Keys stay below 2^62 in magnitude (`OrderBook.maxKey`), so `a &- b` cannot overflow and its
        // sign bit is `a < b`: a mask the compiler cannot turn back into a branch.
        var n = keys.count
        guard n > 0 else { return 0 }
        var base = 0
        while n > 1 {
            let half = n >> 1
            base &+= half & Int(truncatingIfNeeded: (keys[base &+ half &- 1] &- key) >> 63)
            n &-= half
        }
        return base &- Int(truncatingIfNeeded: (keys[base] &- key) >> 63)
    }

    /// Where `key` is in storage block `block`: whether present, and its index or insertion index.
    @inlinable
    func position(of key: Int64, inBlock block: Int) -> (found: Bool, index: Int) {
        keys.withUnsafeBufferPointer { all in
            let slots = UnsafeBufferPointer(rebasing: all[(block &* Ladder.blockCapacity)..<(block &* Ladder.blockCapacity &+ counts[block])])
            let index = Ladder.lowerBound(of: key, in: slots)
            return (index < slots.count && slots[index] == key, index)
        }
    }

    func size(at key: Int64) -> Quantity? {
        guard !order.isEmpty else { return nil }
        let block = order[blockPosition(for: key)]
        let (found, index) = position(of: key, inBlock: block)
        return found ? sizes[block * Ladder.blockCapacity + index] : nil
    }

    @inlinable
    mutating func set(key: Int64, qty: Quantity) {
        if order.isEmpty {
            guard qty.mantissa != 0 else { return }
            let block = allocateBlock()
            keys[block * Ladder.blockCapacity] = key
            sizes[block * Ladder.blockCapacity] = qty
            counts[block] = 1
            order.append(block)
            lastKeys.append(key)
            count = 1
            return
        }
        var at = fingerPosition(for: key)
        var block = order[at]
        var (found, index) = position(of: key, inBlock: block)
        if qty.mantissa == 0 {
            guard found else { return }
            remove(at: index, block: block, position: at)
            return
        }
        if found {
            sizes[block &* Ladder.blockCapacity &+ index] = qty
            return
        }
        if counts[block] == Ladder.blockCapacity {
            let upper = split(at: at)
            let half = Ladder.blockCapacity / 2
            if index > half {
                block = upper
                index -= half
                at += 1
            }
        }
        insert(key, qty, at: index, block: block, position: at)
    }

    @usableFromInline
    mutating func insert(_ key: Int64, _ qty: Quantity, at index: Int, block: Int, position: Int) {
        let base = block &* Ladder.blockCapacity
        let n = counts[block]
        Ladder.openSlot(in: &keys, at: base &+ index, end: base &+ n, value: key)
        Ladder.openSlot(in: &sizes, at: base &+ index, end: base &+ n, value: qty)
        counts[block] = n &+ 1
        if index == n { lastKeys[position] = key }
        count &+= 1
    }

    @usableFromInline
    mutating func remove(at index: Int, block: Int, position: Int) {
        let n = counts[block]
        count &-= 1
        if n == 1 {
            counts[block] = 0
            free.append(block)
            order.remove(at: position)
            lastKeys.remove(at: position)
            return
        }
        let base = block &* Ladder.blockCapacity
        Ladder.closeSlot(in: &keys, at: base &+ index, end: base &+ n)
        Ladder.closeSlot(in: &sizes, at: base &+ index, end: base &+ n)
        counts[block] = n &- 1
        if index == n &- 1 { lastKeys[position] = keys[base &+ n &- 2] }
    }

    /// Shifts `slot ..< end` up by one and writes `value` at `slot` (the block has room at `end`).
    @inlinable @inline(__always)
    static func openSlot<T>(in storage: inout [T], at slot: Int, end: Int, value: T) {
        storage.withUnsafeMutableBufferPointer { storage in
            var index = end
            while index > slot {
                storage[index] = storage[index &- 1]
                index &-= 1
            }
            storage[slot] = value
        }
    }

    /// Shifts `slot + 1 ..< end` down by one, overwriting `slot`.
    @inlinable @inline(__always)
    static func closeSlot<T>(in storage: inout [T], at slot: Int, end: Int) {
        storage.withUnsafeMutableBufferPointer { storage in
            for index in slot..<(end &- 1) { storage[index] = storage[index &+ 1] }
        }
    }

    /// Moves the upper half of the full block at `position` into a new block right after it.
    @usableFromInline
    mutating func split(at position: Int) -> Int {
        let upper = allocateBlock()
        let lower = order[position]
        let half = Ladder.blockCapacity / 2
        let from = lower * Ladder.blockCapacity + half
        let to = upper * Ladder.blockCapacity
        for offset in 0..<half {
            keys[to + offset] = keys[from + offset]
            sizes[to + offset] = sizes[from + offset]
        }
        counts[lower] = half
        counts[upper] = half
        order.insert(upper, at: position + 1)
        lastKeys.insert(lastKeys[position], at: position + 1)
        lastKeys[position] = keys[lower * Ladder.blockCapacity + half - 1]
        return upper
    }

    mutating func rebuild(from levels: [PriceLevel], scale: UInt8, negate: Bool) throws(BookError) {
        removeAll()
        var pairs: [(key: Int64, qty: Quantity)] = []
        pairs.reserveCapacity(levels.count)
        for level in levels where !level.qty.isZero {
            if level.qty.mantissa < 0 { throw .negativeQuantity(price: level.price, qty: level.qty) }
            guard let key = level.price.units(atScale: scale), key < OrderBook.maxKey else {
                throw .priceOutOfRange(level.price)
            }
            pairs.append((negate ? -key : key, level.qty))
        }
        var sorted = true
        for index in pairs.indices.dropFirst() where pairs[index - 1].key >= pairs[index].key {
            sorted = false
            break
        }
        if !sorted {
            // Stable, so the last size given for a repeated price ends its run and wins below.
            let order = pairs.indices.sorted { pairs[$0].key < pairs[$1].key || (pairs[$0].key == pairs[$1].key && $0 < $1) }
            pairs = order.map { pairs[$0] }
        }
        // Half-full blocks leave room to insert without splitting at once.
        let fill = Ladder.blockCapacity / 2
        var block = -1
        for pair in pairs {
            if block >= 0, keys[block * Ladder.blockCapacity + counts[block] - 1] == pair.key {
                sizes[block * Ladder.blockCapacity + counts[block] - 1] = pair.qty
                continue
            }
            if block < 0 || counts[block] == fill {
                block = allocateBlock()
                order.append(block)
                lastKeys.append(pair.key)
            }
            keys[block * Ladder.blockCapacity + counts[block]] = pair.key
            sizes[block * Ladder.blockCapacity + counts[block]] = pair.qty
            counts[block] += 1
            lastKeys[lastKeys.count - 1] = pair.key
            count += 1
        }
    }

    mutating func keepBest(_ depth: Int) {
        var excess = count - Swift.max(depth, 0)
        guard excess > 0 else { return }
        count -= excess
        while let block = order.first, counts[block] <= excess {
            excess -= counts[block]
            counts[block] = 0
            free.append(block)
            order.removeFirst()
            lastKeys.removeFirst()
        }
        guard excess > 0, let block = order.first else { return }
        let base = block * Ladder.blockCapacity
        let remaining = counts[block] - excess
        for offset in 0..<remaining {
            keys[base + offset] = keys[base + excess + offset]
            sizes[base + offset] = sizes[base + excess + offset]
        }
        counts[block] = remaining
    }

    func canMultiplyKeys(by factor: Int64) -> Bool {
        guard let first = worstKey, let last = bestKey else { return true }
        for key in [first, last] {
            let (product, overflow) = key.multipliedReportingOverflow(by: factor)
            if overflow || product.magnitude >= OrderBook.maxKey.magnitude { return false }
        }
        return true
    }

    mutating func multiplyKeys(by factor: Int64) {
        for (position, block) in order.enumerated() {
            let base = block * Ladder.blockCapacity
            for slot in base..<(base + counts[block]) { keys[slot] *= factor }
            lastKeys[position] *= factor
        }
    }

    /// Visits levels from the best outwards until `body` returns false.
    func forEachFromBest(_ body: (Int64, Quantity) -> Bool) {
        for block in order.reversed() {
            let base = block * Ladder.blockCapacity
            for slot in (base..<(base + counts[block])).reversed() where !body(keys[slot], sizes[slot]) {
                return
            }
        }
    }

    func totalSize(best depth: Int) -> Quantity {
        var total = Quantity.zero
        var taken = 0
        forEachFromBest { _, size in
            guard taken < depth else { return false }
            total += size
            taken += 1
            return true
        }
        return total
    }
}

extension Ladder: Equatable {
    /// Same levels in the same order, however they are laid out in blocks.
    @usableFromInline
    static func == (lhs: Ladder, rhs: Ladder) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var left: [(Int64, Quantity)] = []
        var right: [(Int64, Quantity)] = []
        lhs.forEachFromBest { left.append(($0, $1)); return true }
        rhs.forEachFromBest { right.append(($0, $1)); return true }
        return left.elementsEqual(right) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
