/// The far part of a book side (`Ladder`'s tail) as sorted blocks of up to `blockCapacity` levels — a
/// two-level B+tree kept in flat arrays. Keys ascend so the best level is the last of the last block. A change bisects
/// the blocks' last keys, then its block, and shifts at most one block's entries, wherever in a
/// deep book it lands; a change at the touch stays in the last block.
@usableFromInline
struct SparseLadder: Sendable {
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
        return sizes[block * SparseLadder.blockCapacity + counts[block] - 1]
    }

    var worstKey: Int64? {
        guard let block = order.first else { return nil }
        return keys[block * SparseLadder.blockCapacity]
    }

    mutating func removeAll() {
        guard !order.isEmpty else { return }
        // Every block free again, the free list's storage reused (a depth-limited book empties its tail
        // after each message).
        free.removeAll(keepingCapacity: true)
        free.append(contentsOf: counts.indices)
        for index in counts.indices { counts[index] = 0 }
        order.removeAll(keepingCapacity: true)
        lastKeys.removeAll(keepingCapacity: true)
        count = 0
    }

    /// A storage block, reused or newly appended.
    @usableFromInline
    mutating func allocateBlock() -> Int {
        if let block = free.popLast() { return block }
        keys.append(contentsOf: repeatElement(0, count: SparseLadder.blockCapacity))
        sizes.append(contentsOf: repeatElement(.zero, count: SparseLadder.blockCapacity))
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
            return Swift.min(SparseLadder.lowerBound(of: key, in: lasts), n - 1)
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
            let slots = UnsafeBufferPointer(rebasing: all[(block &* SparseLadder.blockCapacity)..<(block &* SparseLadder.blockCapacity &+ counts[block])])
            let index = SparseLadder.lowerBound(of: key, in: slots)
            return (index < slots.count && slots[index] == key, index)
        }
    }

    func size(at key: Int64) -> Quantity? {
        guard !order.isEmpty else { return nil }
        let block = order[blockPosition(for: key)]
        let (found, index) = position(of: key, inBlock: block)
        return found ? sizes[block * SparseLadder.blockCapacity + index] : nil
    }

    @inlinable
    mutating func set(key: Int64, qty: Quantity) {
        if order.isEmpty {
            guard qty.mantissa != 0 else { return }
            let block = allocateBlock()
            keys[block * SparseLadder.blockCapacity] = key
            sizes[block * SparseLadder.blockCapacity] = qty
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
            sizes[block &* SparseLadder.blockCapacity &+ index] = qty
            return
        }
        if counts[block] == SparseLadder.blockCapacity {
            let upper = split(at: at)
            let half = SparseLadder.blockCapacity / 2
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
        let base = block &* SparseLadder.blockCapacity
        let n = counts[block]
        SparseLadder.openSlot(in: &keys, at: base &+ index, end: base &+ n, value: key)
        SparseLadder.openSlot(in: &sizes, at: base &+ index, end: base &+ n, value: qty)
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
        let base = block &* SparseLadder.blockCapacity
        SparseLadder.closeSlot(in: &keys, at: base &+ index, end: base &+ n)
        SparseLadder.closeSlot(in: &sizes, at: base &+ index, end: base &+ n)
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
        let half = SparseLadder.blockCapacity / 2
        let from = lower * SparseLadder.blockCapacity + half
        let to = upper * SparseLadder.blockCapacity
        for offset in 0..<half {
            keys[to + offset] = keys[from + offset]
            sizes[to + offset] = sizes[from + offset]
        }
        counts[lower] = half
        counts[upper] = half
        order.insert(upper, at: position + 1)
        lastKeys.insert(lastKeys[position], at: position + 1)
        lastKeys[position] = keys[lower * SparseLadder.blockCapacity + half - 1]
        return upper
    }

    /// A side's levels as (key, size) pairs in ascending key order: zero sizes left out, and a price
    /// given twice keeping the last size given.
    static func sortedPairs(from levels: [PriceLevel], scale: UInt8, negate: Bool) throws(BookError) -> [(key: Int64, qty: Quantity)] {
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
        guard !sorted else { return pairs }
        // Stable, so the last size given for a repeated price ends its run and wins.
        let order = pairs.indices.sorted { pairs[$0].key < pairs[$1].key || (pairs[$0].key == pairs[$1].key && $0 < $1) }
        var unique: [(key: Int64, qty: Quantity)] = []
        unique.reserveCapacity(pairs.count)
        for index in order {
            if let last = unique.last, last.key == pairs[index].key {
                unique[unique.count - 1].qty = pairs[index].qty
            } else {
                unique.append(pairs[index])
            }
        }
        return unique
    }

    /// Replaces the levels with `pairs` (ascending, unique keys).
    mutating func rebuild(sorted pairs: ArraySlice<(key: Int64, qty: Quantity)>) {
        removeAll()
        // Half-full blocks leave room to insert without splitting at once.
        let fill = SparseLadder.blockCapacity / 2
        var block = -1
        for pair in pairs {
            if block < 0 || counts[block] == fill {
                block = allocateBlock()
                order.append(block)
                lastKeys.append(pair.key)
            }
            keys[block * SparseLadder.blockCapacity + counts[block]] = pair.key
            sizes[block * SparseLadder.blockCapacity + counts[block]] = pair.qty
            counts[block] += 1
            lastKeys[lastKeys.count - 1] = pair.key
            count += 1
        }
    }

    /// Takes the best level out.
    mutating func popBest() -> (key: Int64, qty: Quantity)? {
        guard let block = order.last else { return nil }
        let slot = block * SparseLadder.blockCapacity + counts[block] - 1
        let level = (keys[slot], sizes[slot])
        remove(at: counts[block] - 1, block: block, position: order.count - 1)
        return level
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
        let base = block * SparseLadder.blockCapacity
        let remaining = counts[block] - excess
        for offset in 0..<remaining {
            keys[base + offset] = keys[base + excess + offset]
            sizes[base + offset] = sizes[base + excess + offset]
        }
        counts[block] = remaining
    }

    func canMultiplyKeys(by factor: Int64) -> Bool {
        guard let first = worstKey, let last = bestKey else { return true }
        return SparseLadder.fits(first, times: factor) && SparseLadder.fits(last, times: factor)
    }

    /// Whether `key × factor` is still a key a book holds (below `OrderBook.maxKey` in magnitude).
    static func fits(_ key: Int64, times factor: Int64) -> Bool {
        let (product, overflow) = key.multipliedReportingOverflow(by: factor)
        return !overflow && product.magnitude < OrderBook.maxKey.magnitude
    }

    mutating func multiplyKeys(by factor: Int64) {
        for (position, block) in order.enumerated() {
            let base = block * SparseLadder.blockCapacity
            for slot in base..<(base + counts[block]) { keys[slot] *= factor }
            lastKeys[position] *= factor
        }
    }

    /// Visits levels from the best outwards until `body` returns false.
    func forEachFromBest(_ body: (Int64, Quantity) -> Bool) {
        for block in order.reversed() {
            let base = block * SparseLadder.blockCapacity
            for slot in (base..<(base + counts[block])).reversed() where !body(keys[slot], sizes[slot]) {
                return
            }
        }
    }
}

extension SparseLadder {
    /// The best levels, best first, into `outKeys[from...]` and `outSizes[from...]` until they are
    /// full, each key × `sign`.
    func copyBest(sign: Int64, keys outKeys: UnsafeMutableBufferPointer<Int64>, sizes outSizes: UnsafeMutableBufferPointer<Quantity>, from start: Int) {
        var written = start
        for block in order.reversed() {
            guard written < outKeys.count else { break }
            let base = block &* SparseLadder.blockCapacity
            var slot = base &+ counts[block]
            while slot > base, written < outKeys.count {
                slot &-= 1
                outKeys[written] = sign &* keys[slot]
                outSizes[written] = sizes[slot]
                written &+= 1
            }
        }
    }
}
